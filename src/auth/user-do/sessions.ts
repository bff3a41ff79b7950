import type { SessionPolicy } from "../../portal/policy";

/**
 * "full": signed in. The others are part-way through signing in and reach only the pages that
 * finish it: "second_factor" (password done, code needed), "enroll" (must set up the
 * authenticator app), "recovery_codes" (enrolled, saving the recovery codes until Finish),
 * "change_password" (signed in with a password that has expired under the portal's policy).
 */
export type SessionStage = "full" | "second_factor" | "enroll" | "recovery_codes" | "change_password";

// Part-way sign-ins do not linger: 15 minutes to finish, then start again.
export const PENDING_SESSION_LIFETIME_MS = 15 * 60_000;
export type SignInMethod = "password" | "sso" | "passkey" | "pass";

export interface SessionInfo {
  id: string;
  stage: SessionStage;
  method: SignInMethod;
  createdAt: number;
  lastSeenAt: number;
  reauthenticatedAt: number;
  /** Signed in with nothing but a password, from a browser new to the account, and nothing more proved since. */
  passwordOnly: boolean;
  ip: string;
  userAgent: string;
  /** Where the session started, as Cloudflare read its address (two letters); null when it could not, or before it was kept. */
  country: string | null;
}

export interface NewSession {
  id: string;
  tokenHash: string;
  generation: number;
  stage: SessionStage;
  method: SignInMethod;
  now: number;
  passwordOnly?: boolean;
  ip: string;
  userAgent: string;
  country?: string | null;
}

export interface SessionCheck {
  tokenHash: string;
  generation: number;
  policy: SessionPolicy;
  now: number;
}

export interface SessionRotation {
  id: string;
  tokenHash: string;
  stage: SessionStage;
  now: number;
  reauthenticated: boolean;
  /** A second factor (or a mailed code) was proved: the session is no longer password-only. */
  proved?: boolean;
}

interface SessionRow extends Record<string, SqlStorageValue> {
  id: string;
  token_hash: string;
  generation: number;
  stage: SessionStage;
  method: SignInMethod;
  created_at: number;
  last_seen_at: number;
  reauthenticated_at: number;
  password_only: number;
  ip: string;
  user_agent: string;
  country: string | null;
}

/** What finding a session by its token says: live, ended by an immediate policy change, or gone. */
type SessionLookup = { live: SessionInfo } | { ended: "policy" } | null;

// Writing last-seen on every request would cost a write per page; a minute is precise enough
// for inactivity timeouts of 15 minutes and more.
const LAST_SEEN_PRECISION_MS = 60_000;

function toInfo(row: SessionRow): SessionInfo {
  return {
    id: row.id,
    stage: row.stage,
    method: row.method,
    createdAt: row.created_at,
    lastSeenAt: row.last_seen_at,
    reauthenticatedAt: row.reauthenticated_at,
    passwordOnly: row.password_only === 1,
    ip: row.ip,
    userAgent: row.user_agent,
    country: row.country,
  };
}

// Generations only move on. A row newer than the check was made after a change this isolate's
// copy of the portal state has not seen yet (it is at most 5 s old): it is current.
function isExpired(row: SessionRow, check: Omit<SessionCheck, "tokenHash">): boolean {
  return (
    row.generation < check.generation ||
    check.now - row.last_seen_at >= check.policy.idleTimeoutMs ||
    check.now - row.created_at >= check.policy.absoluteLifetimeMs ||
    // A part-way stage lasts 15 minutes from the last time the person proved who they are.
    (row.stage !== "full" && check.now - row.reauthenticated_at >= PENDING_SESSION_LIFETIME_MS)
  );
}

export function insertSession(sql: SqlStorage, session: NewSession): void {
  sql.exec(
    `INSERT INTO sessions (id, token_hash, generation, stage, method, created_at, last_seen_at, reauthenticated_at, password_only, ip, user_agent, country)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    session.id,
    session.tokenHash,
    session.generation,
    session.stage,
    session.method,
    session.now,
    session.now,
    // A Microsoft sign-in may have been silent (Microsoft's own session), so it is no fresh re-authentication.
    session.method === "sso" ? 0 : session.now,
    session.passwordOnly ? 1 : 0,
    session.ip,
    session.userAgent,
    session.country ?? null,
  );
}

/**
 * The session behind a token, touched as seen. An ended session is deleted, except one ended by
 * "Immediately" but not otherwise over: that row stays (it can never validate again, generations
 * only move on) so every request of that browser is told why, not only the first.
 */
export function findSessionByToken(sql: SqlStorage, check: SessionCheck): SessionLookup {
  const row = sql.exec<SessionRow>("SELECT * FROM sessions WHERE token_hash = ?", check.tokenHash).toArray()[0];
  if (!row) return null;
  if (isExpired(row, check)) {
    const byPolicy = row.generation < check.generation && !isExpired(row, { ...check, generation: row.generation });
    if (byPolicy) return { ended: "policy" };
    sql.exec("DELETE FROM sessions WHERE id = ?", row.id);
    return null;
  }
  if (check.now - row.last_seen_at >= LAST_SEEN_PRECISION_MS) {
    sql.exec("UPDATE sessions SET last_seen_at = ? WHERE id = ?", check.now, row.id);
    row.last_seen_at = check.now;
  }
  return { live: toInfo(row) };
}

/**
 * Replace a session's token (after a second factor, a re-authentication or a password change):
 * the old token stops working in the same write. Returns false if the old one had already ended.
 */
export function rotateSessionToken(sql: SqlStorage, oldTokenHash: string, next: SessionRotation): boolean {
  const cursor = sql.exec(
    `UPDATE sessions SET id = ?, token_hash = ?, stage = ?, last_seen_at = ?,
       reauthenticated_at = CASE WHEN ? THEN ? ELSE reauthenticated_at END,
       password_only = CASE WHEN ? THEN 0 ELSE password_only END
     WHERE token_hash = ?`,
    next.id,
    next.tokenHash,
    next.stage,
    next.now,
    next.reauthenticated ? 1 : 0,
    next.now,
    next.proved ? 1 : 0,
    oldTokenHash,
  );
  return cursor.rowsWritten > 0;
}

/** Live sessions, newest activity first; ended ones are swept on the way. */
export function listLiveSessions(sql: SqlStorage, check: Omit<SessionCheck, "tokenHash">): SessionInfo[] {
  const live: SessionInfo[] = [];
  for (const row of sql.exec<SessionRow>("SELECT * FROM sessions ORDER BY last_seen_at DESC").toArray()) {
    if (isExpired(row, check)) sql.exec("DELETE FROM sessions WHERE id = ?", row.id);
    else live.push(toInfo(row));
  }
  return live;
}

export function deleteSessionByToken(sql: SqlStorage, tokenHash: string): boolean {
  return sql.exec("DELETE FROM sessions WHERE token_hash = ?", tokenHash).rowsWritten > 0;
}

export function deleteSession(sql: SqlStorage, sessionId: string): boolean {
  return sql.exec("DELETE FROM sessions WHERE id = ?", sessionId).rowsWritten > 0;
}

/** Every session of this user, or every one but `exceptSessionId`. Returns how many ended. */
export function deleteAllSessions(sql: SqlStorage, exceptSessionId?: string): number {
  return sql.exec("DELETE FROM sessions WHERE id IS NOT ?", exceptSessionId ?? null).rowsWritten;
}
