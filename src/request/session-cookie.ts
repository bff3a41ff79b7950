// A session as the request carries it: its cookie (set, read, rotated, cleared) and where the
// request comes from. The session itself (its token, its record in the person's object) is
// src/auth/sessions.ts's, in plain values.
import type { Context } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import type { Auth } from "../access/auth";
import type { AppEnv } from "../app-env";
import type { OwedAudit } from "../auth/owed-audits";
import { endSessionOfToken, mintSession, parseToken, permissionsOf, rotateSessionToken } from "../auth/sessions";
import type { SessionStage, SignInMethod } from "../auth/user-do";
import { userStub } from "../auth/user-object";
import { storeOwedAudits } from "../auth/owed-audits";
import { retryOnceIfTransient } from "../lib/failures";
import { endAllSessionsOfUser } from "../auth/sessions";
import { sendAfterResponse } from "./mail";
import type { Portal, PortalPolicy } from "../portal/policy";
import { portalPolicy, portalState } from "./portal";

// SECURITY.md 14: `__Host-` (Secure, Path=/, no Domain), HttpOnly, SameSite=Lax; one cookie per portal.
const COOKIE_NAMES: Record<Portal, string> = { agent: "edgedesk_agent", support: "edgedesk_support" };

export function sessionCookieName(portal: Portal): string {
  return `__Host-${COOKIE_NAMES[portal]}`;
}

function setSessionCookie(c: Context<AppEnv>, portal: Portal, token: string, maxAgeMs: number) {
  setCookie(c, COOKIE_NAMES[portal], token, {
    prefix: "host",
    httpOnly: true,
    sameSite: "Lax",
    maxAge: Math.floor(maxAgeMs / 1000),
  });
}

export function clearSessionCookie(c: Context<AppEnv>, portal: Portal) {
  deleteCookie(c, COOKIE_NAMES[portal], { prefix: "host", secure: true, path: "/" });
}

/**
 * The session of this request's portal cookie, or null. Costs one Durable Object call (the
 * user's) and no D1 query: the portal's state (policy generation, timeouts, role permissions)
 * comes from the isolate's cache, read from the portal's object at most every 5 seconds
 * (docs/SCALING.md). A failing call throws, so the request fails closed rather than passing as signed in.
 */
export async function readSession(c: Context<AppEnv>, portal: Portal): Promise<Auth | null> {
  const parsed = await parseToken(c.env, getCookie(c, COOKIE_NAMES[portal], "host"));
  if (!parsed) return null;
  const { tokenHash } = parsed;
  const state = await portalState(c, portal);
  // A lookup (its only write is the session's last-seen time): asked again once if the object
  // answers that it was overloaded or dropped the call.
  const check = { tokenHash, generation: state.policy.generation, policy: state.policy.session, now: c.var.clock.now() };
  const validate = async () => userStub(c.env, parsed.userId).validateSession(parsed.userId, check);
  const result = await retryOnceIfTransient(validate);
  if (result && "ended" in result) {
    c.set("sessionEnded", result.ended);
    return null;
  }
  if (!result || result.profile.kind !== (portal === "agent" ? "agent" : "contact")) return null;
  return {
    portal,
    user: result.profile,
    session: result.session,
    tokenHash,
    permissions: permissionsOf(result.profile, state),
    policy: state.policy,
  };
}

/** Where a request comes from, as sessions and remembered devices record it. */
export function requestDetails(c: Context<AppEnv>) {
  // Cloudflare sets both headers on every request it forwards (SECURITY.md 41); `cf.country` where the runtime has it.
  const cf = c.req.raw.cf as { country?: unknown } | undefined;
  const country = typeof cf?.country === "string" ? cf.country : c.req.header("CF-IPCountry");
  return {
    ip: c.req.header("CF-Connecting-IP") ?? "unknown",
    userAgent: (c.req.header("User-Agent") ?? "").slice(0, 512),
    country: country && /^[A-Z0-9]{2}$/.test(country) ? country : null,
  };
}

/** Start a session for a user who has just proven who they are, and set its cookie. */
export async function startSession(
  c: Context<AppEnv>,
  portal: Portal,
  userId: string,
  options: {
    stage: SessionStage;
    method: SignInMethod;
    policy?: PortalPolicy;
    passwordOnly?: boolean;
    /** Recorded by the person's object with the new session (src/auth/owed-audits.ts), stored before the cookie is set. */
    audits?: readonly OwedAudit[];
  },
): Promise<string> {
  // A generation read a moment ago is safe to reuse: if it moved on since, this session simply
  // fails its first request, which is what "end every session now" asks.
  const { policy = await portalPolicy(c, portal), audits = [], ...rest } = options;
  const { ip, userAgent, country } = requestDetails(c);
  const session = { ...rest, generation: policy.generation, now: c.var.clock.now(), ip, userAgent, country };
  const { id, token } = await mintSession(c.env, userId, session, audits);
  await storeOwedAudits(c.env, userId, audits);
  setSessionCookie(c, portal, token, policy.session.absoluteLifetimeMs);
  return id;
}

/**
 * Give the current session a new token (ASVS 7.2.4: after MFA, re-authentication or a password
 * change), and its cookie; the old token stops working in the same write.
 */
export async function rotateSession(
  c: Context<AppEnv>,
  auth: Pick<Auth, "portal" | "user" | "tokenHash" | "policy">,
  next: { stage: SessionStage; reauthenticated: boolean; proved?: boolean },
  audits: readonly OwedAudit[] = [],
): Promise<string | null> {
  const rotated = await rotateSessionToken(c.env, auth.user.id, auth.tokenHash, { ...next, now: c.var.clock.now() }, audits);
  if (!rotated) return null;
  setSessionCookie(c, auth.portal, rotated.token, auth.policy.session.absoluteLifetimeMs);
  return rotated.id;
}

/** Sign out: end this request's session of the portal and clear its cookie. */
export async function endCurrentSession(c: Context<AppEnv>, portal: Portal, audits: readonly OwedAudit[] = []): Promise<void> {
  await endSessionOfToken(c.env, getCookie(c, COOKIE_NAMES[portal], "host"), audits);
  clearSessionCookie(c, portal);
}

/** After any password change: a new token for this session (SECURITY.md 13), every other session ended (16). */
export async function finishPasswordChange(c: Context<AppEnv>, auth: Auth, proved: boolean, mailIds: string[]): Promise<void> {
  const sessionId = await rotateSession(c, auth, { stage: "full", reauthenticated: true, proved });
  await endAllSessionsOfUser(c.env, auth.user.id, sessionId ?? undefined);
  await sendAfterResponse(c, mailIds);
}
