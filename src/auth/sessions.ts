import type { Context } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import type { AppEnv } from "../app-env";
import { newId, randomToken, sha256Hex } from "../lib/crypto";
import { hmacHex, hmacMatches } from "../lib/encryption";
import type { Portal, PortalPolicy } from "../portal/policy";
import type { PortalState } from "../portal/portal-do";
import { portalPolicy, portalState } from "../portal/context";
import { ALL_PERMISSIONS, type Permission } from "../access/permissions";
import type { Auth } from "../access/auth";
import type { SessionStage, SignInMethod, UserProfile } from "./user-do";
import { retryOnceIfTransient } from "../lib/failures";

import { userStub } from "./user-object";
import { type OwedAudit, storeOwedAudits } from "./owed-audits";
import { withEndedCount } from "./user-do/owed-audits";

// The portal objects are reached only through src/portal; tests use this same stub.
export { portalStub } from "../portal/state-cache";

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
 * A token is `<user id>.<160 random bits>.<MAC>`: the id routes to the user's Durable Object, the
 * secret proves the session, and the MAC (HMAC_KEY over the two) proves we issued it. SECURITY.md
 * 44: a token is checked for shape and MAC before any object is addressed, so a forged cookie
 * (naming a made-up id, or an admin's) reaches no object at all.
 */
async function parseToken(env: Env, token: string | undefined): Promise<{ userId: string; tokenHash: string } | null> {
  const match = token && /^(((?:agt|cnt)_[a-z2-7]{16})\.[a-z2-7]{32})\.([0-9a-f]{8}\.[0-9a-f]{64})$/.exec(token);
  if (!match || !(await hmacMatches(env, tokenMessage(match[1]!), match[3]!))) return null;
  return { userId: match[2]!, tokenHash: await sha256Hex(token!) };
}

const tokenMessage = (idAndSecret: string) => `edgedesk session\n${idAndSecret}`;

async function newToken(env: Env, userId: string): Promise<string> {
  const idAndSecret = `${userId}.${randomToken()}`;
  return `${idAndSecret}.${await hmacHex(env, tokenMessage(idAndSecret))}`;
}

function permissionsOf(user: UserProfile, state: PortalState): Permission[] {
  if (user.kind !== "agent" || !user.roleId) return [];
  return state.rolePermissions[user.roleId] ?? [];
}

/**
 * The session of this request's portal cookie, or null. Costs one Durable Object call (the
 * user's) and no D1 query: the portal's state (policy generation, timeouts, role permissions)
 * comes from the isolate's cache, read from the portal's object at most every 5 seconds (issue
 * 20). A failing call throws, so the request fails closed rather than passing as signed in.
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
  const { ip, userAgent } = requestDetails(c);
  const session = { ...rest, generation: policy.generation, now: c.var.clock.now(), ip, userAgent };
  const { id, token } = await mintSession(c.env, userId, session, audits);
  await storeOwedAudits(c.env, userId, audits);
  setSessionCookie(c, portal, token, policy.session.absoluteLifetimeMs);
  return id;
}

/** A new session in the user's object; only its token's hash is stored. */
export async function mintSession(
  env: Env,
  userId: string,
  session: {
    stage: SessionStage;
    method: SignInMethod;
    generation: number;
    now: number;
    ip: string;
    userAgent: string;
    passwordOnly?: boolean;
  },
  audits: readonly OwedAudit[] = [],
): Promise<{ id: string; token: string }> {
  const token = await newToken(env, userId);
  const id = newId("ses");
  await userStub(env, userId).createSession({ id, tokenHash: await sha256Hex(token), ...session }, audits);
  return { id, token };
}

/**
 * Give the current session a new token (ASVS 7.2.4: after MFA, re-authentication or a password
 * change); the old token stops working in the same write.
 */
export async function rotateSession(
  c: Context<AppEnv>,
  auth: Pick<Auth, "portal" | "user" | "tokenHash" | "policy">,
  next: { stage: SessionStage; reauthenticated: boolean; proved?: boolean },
  audits: readonly OwedAudit[] = [],
): Promise<string | null> {
  const token = await newToken(c.env, auth.user.id);
  const id = newId("ses");
  const rotated = await userStub(c.env, auth.user.id).rotateSession(
    auth.tokenHash,
    { id, tokenHash: await sha256Hex(token), now: c.var.clock.now(), ...next },
    audits,
  );
  if (!rotated) return null;
  await storeOwedAudits(c.env, auth.user.id, audits);
  setSessionCookie(c, auth.portal, token, auth.policy.session.absoluteLifetimeMs);
  return id;
}

/** Sign out: end this request's session of the portal and clear its cookie. */
export async function endCurrentSession(c: Context<AppEnv>, portal: Portal, audits: readonly OwedAudit[] = []): Promise<void> {
  const parsed = await parseToken(c.env, getCookie(c, COOKIE_NAMES[portal], "host"));
  if (parsed && (await userStub(c.env, parsed.userId).revokeSessionByToken(parsed.tokenHash, audits)))
    await storeOwedAudits(c.env, parsed.userId, audits);
  clearSessionCookie(c, portal);
}

/**
 * End every session of one user (disabling, password change, MFA reset), or all but one. `audits`
 * are recorded with the change, with the number that ended.
 */
export async function endAllSessionsOfUser(
  env: Env,
  userId: string,
  exceptSessionId?: string,
  audits: readonly OwedAudit[] = [],
): Promise<number> {
  const ended = await userStub(env, userId).revokeAllSessions(exceptSessionId, audits);
  await storeOwedAudits(env, userId, withEndedCount(audits, ended));
  return ended;
}

export function isAdministrator(permissions: readonly Permission[]): boolean {
  return ALL_PERMISSIONS.every((p) => permissions.includes(p));
}
