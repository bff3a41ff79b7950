import { DAY, HOUR, MINUTE } from "../lib/clock";

export type Portal = "agent" | "support";
export type UserKind = "agent" | "contact";

export const PORTALS: readonly Portal[] = ["agent", "support"];

export function kindOfPortal(portal: Portal): UserKind {
  return portal === "agent" ? "agent" : "contact";
}

export function portalOfKind(kind: UserKind): Portal {
  return kind === "agent" ? "agent" : "support";
}

export function portalLabel(portal: Portal): string {
  return portal === "agent" ? "Agent portal" : "Support portal";
}

/** How sessions of one portal expire. Later issues make these admin settings. */
export interface SessionPolicy {
  idleTimeoutMs: number;
  absoluteLifetimeMs: number;
}

/** Which second factors email+password sign-ins of a portal need (never asked after SSO). */
export interface MfaPolicy {
  authenticatorApp: boolean;
  emailOtp: boolean;
  /** The label authenticator apps show, e.g. "RTX Solutions – Agent App". */
  issuerName: string;
  /** Days people without the app may skip setting it up once it is required (0 to 30). */
  graceDays: number;
  /** Until when (ms since epoch) they may skip; null without a grace period. Set when applied. */
  graceUntil: number | null;
  /** "Don't ask again on this device" for this many days; 0 turns it off (1 to 90). */
  rememberDays: number;
  /** Passkeys (WebAuthn) as a second factor, for people who register one. */
  passkeys: boolean;
  /**
   * A passkey alone signs in (discoverable, user verification required), counting as
   * both factors. Only with `passkeys` on, and never where the portal signs in with SSO only.
   */
  passwordlessPasskeys: boolean;
}

/** A person without the app may still skip setting it up. */
export function inGracePeriod(mfa: MfaPolicy, now: number): boolean {
  return mfa.authenticatorApp && mfa.graceUntil !== null && now < mfa.graceUntil;
}

export function mfaRequired(mfa: MfaPolicy): boolean {
  return mfa.authenticatorApp || mfa.emailOtp;
}

/** How people may sign in to a portal: email and password, Microsoft Entra SSO, or both. */
export type AccessMode = "password" | "sso" | "both";
export const ACCESS_MODES: readonly AccessMode[] = ["both", "sso", "password"];

export function allowsPassword(mode: AccessMode): boolean {
  return mode !== "sso";
}

export function allowsSso(mode: AccessMode): boolean {
  return mode !== "password";
}

/** The reference product's wording, which differs between the portals. */
export function accessModeLabel(portal: Portal, mode: AccessMode): string {
  if (portal === "agent")
    return { password: "Email and password", sso: "Microsoft Entra SSO", both: "Email and password, and Microsoft Entra SSO" }[mode];
  return { password: "Email and password only", sso: "Microsoft Entra SSO only", both: "Both Microsoft 365 and email login" }[mode];
}

/** Password rules of a portal. Defaults follow NIST SP 800-63B; the rest are opt-in. */
export interface PasswordPolicy {
  minLength: number;
  requireUppercase: boolean;
  requireLowercase: boolean;
  requireDigit: boolean;
  requireSymbol: boolean;
  /** Days until a password must be changed; 0 = never. */
  expiryDays: number;
  /** How many previous passwords cannot be used again; 0 = no history. */
  reuseCount: number;
}

export const PASSWORD_POLICY_LIMITS = {
  minLength: { min: 8, max: 128 },
  expiryDays: { min: 0, max: 3650 },
  reuseCount: { min: 0, max: 24 },
} as const;

/** A portal's authentication policy, held by its PortalDurableObject. */
export interface PortalPolicy {
  /**
   * Bumped by "end every session of this portal now": a session created under an older
   * generation fails its next request. One number, so the check is O(1) per request.
   */
  generation: number;
  session: SessionPolicy;
  mfa: MfaPolicy;
  access: AccessMode;
  password: PasswordPolicy;
}

export const DEFAULT_SESSION_POLICY: SessionPolicy = {
  idleTimeoutMs: 8 * HOUR,
  absoluteLifetimeMs: 7 * DAY,
};

export const SESSION_POLICY_LIMITS = {
  idleTimeoutMs: { min: 15 * MINUTE, max: 30 * DAY },
  absoluteLifetimeMs: { min: 15 * MINUTE, max: 90 * DAY },
} as const;

export function defaultPortalPolicy(): PortalPolicy {
  return {
    generation: 1,
    session: { ...DEFAULT_SESSION_POLICY },
    mfa: {
      authenticatorApp: false,
      emailOtp: false,
      issuerName: "EdgeDesk",
      graceDays: 0,
      graceUntil: null,
      rememberDays: 0,
      passkeys: false,
      passwordlessPasskeys: false,
    },
    access: "password",
    password: {
      minLength: 8,
      requireUppercase: false,
      requireLowercase: false,
      requireDigit: false,
      requireSymbol: false,
      expiryDays: 0,
      reuseCount: 0,
    },
  };
}

/** Fill what an older stored policy lacks with today's defaults, so new settings need no data migration. */
export function withPolicyDefaults(stored: Partial<PortalPolicy> | undefined): PortalPolicy {
  const defaults = defaultPortalPolicy();
  return {
    ...defaults,
    ...stored,
    session: { ...defaults.session, ...stored?.session },
    mfa: { ...defaults.mfa, ...stored?.mfa },
    password: { ...defaults.password, ...stored?.password },
  };
}
