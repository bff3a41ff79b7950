import { newId, randomToken, sha256Hex } from "../lib/crypto";
import { hmacHex, hmacMatches } from "../lib/encryption";
import type { PortalState } from "../portal/portal-do";
import { ALL_PERMISSIONS, type Permission } from "../access/permissions";
import type { SessionStage, SignInMethod, UserProfile } from "./user-do";

import { userStub } from "./user-object";
import { type OwedAudit, storeOwedAudits } from "./owed-audits";
import { withEndedCount } from "./user-do/owed-audits";

// The portal objects are reached only through src/portal; tests use this same stub.
export { portalStub } from "../portal/state-cache";

/**
 * A token is `<user id>.<160 random bits>.<MAC>`: the id routes to the user's Durable Object, the
 * secret proves the session, and the MAC (HMAC_KEY over the two) proves we issued it. SECURITY.md
 * 44: a token is checked for shape and MAC before any object is addressed, so a forged cookie
 * (naming a made-up id, or an admin's) reaches no object at all.
 */
export async function parseToken(env: Env, token: string | undefined): Promise<{ userId: string; tokenHash: string } | null> {
  const match = token && /^(((?:agt|cnt)_[a-z2-7]{16})\.[a-z2-7]{32})\.([0-9a-f]{8}\.[0-9a-f]{64})$/.exec(token);
  if (!match || !(await hmacMatches(env, tokenMessage(match[1]!), match[3]!))) return null;
  return { userId: match[2]!, tokenHash: await sha256Hex(token!) };
}

const tokenMessage = (idAndSecret: string) => `edgedesk session\n${idAndSecret}`;

async function newToken(env: Env, userId: string): Promise<string> {
  const idAndSecret = `${userId}.${randomToken()}`;
  return `${idAndSecret}.${await hmacHex(env, tokenMessage(idAndSecret))}`;
}

export function permissionsOf(user: UserProfile, state: PortalState): Permission[] {
  if (user.kind !== "agent" || !user.roleId) return [];
  return state.rolePermissions[user.roleId] ?? [];
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
    country?: string | null;
  },
  audits: readonly OwedAudit[] = [],
): Promise<{ id: string; token: string }> {
  const token = await newToken(env, userId);
  const id = newId("ses");
  await userStub(env, userId).createSession({ id, tokenHash: await sha256Hex(token), ...session }, audits);
  return { id, token };
}

/**
 * Give a session a new token (ASVS 7.2.4: after MFA, re-authentication or a password change); the
 * old token stops working in the same write. The new token, or null when the session had ended.
 */
export async function rotateSessionToken(
  env: Env,
  userId: string,
  tokenHash: string,
  next: { stage: SessionStage; reauthenticated: boolean; proved?: boolean; now: number },
  audits: readonly OwedAudit[] = [],
): Promise<{ id: string; token: string } | null> {
  const token = await newToken(env, userId);
  const id = newId("ses");
  const rotated = await userStub(env, userId).rotateSession(tokenHash, { id, tokenHash: await sha256Hex(token), ...next }, audits);
  if (!rotated) return null;
  await storeOwedAudits(env, userId, audits);
  return { id, token };
}

/** End the session a token names (signing out), when it is one of ours and still live. */
export async function endSessionOfToken(env: Env, token: string | undefined, audits: readonly OwedAudit[] = []): Promise<void> {
  const parsed = await parseToken(env, token);
  if (parsed && (await userStub(env, parsed.userId).revokeSessionByToken(parsed.tokenHash, audits)))
    await storeOwedAudits(env, parsed.userId, audits);
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
