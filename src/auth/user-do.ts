import { DurableObject } from "cloudflare:workers";
import { getDb } from "../db";
import type { SessionPolicy, UserKind } from "../portal/policy";
import { findUserById } from "./users";
import { EMAIL_OTP, type EmailOtpIssue, type EmailOtpCheck, otpMac, newOtpCode, type OtpRow } from "../mfa/email-otp-rules";
import { constantTimeEqual, newId } from "../lib/crypto";

/** What a request needs to know about its user, cached here so the hot path reads no D1. */
export interface UserProfile {
  id: string;
  kind: UserKind;
  email: string;
  name: string;
  roleId: string | null;
  active: boolean;
}

/**
 * "full": signed in. The others are part-way through signing in and reach only the pages that
 * finish it: "second_factor" (password done, code needed), "enroll" (must set up the
 * authenticator app), "recovery_codes" (enrolled, saving the recovery codes until Finish),
 * "change_password" (signed in with a password that has expired under the portal's policy).
 */
export type SessionStage = "full" | "second_factor" | "enroll" | "recovery_codes" | "change_password";

// Part-way sign-ins do not linger: 15 minutes to finish, then start again.
export const PENDING_SESSION_LIFETIME_MS = 15 * 60_000;
export type SignInMethod = "password" | "sso";

export interface SessionInfo {
  id: string;
  stage: SessionStage;
  method: SignInMethod;
  createdAt: number;
  lastSeenAt: number;
  reauthenticatedAt: number;
  ip: string;
  userAgent: string;
}

export interface RememberedDevice {
  id: string;
  createdAt: number;
  lastUsedAt: number;
  expiresAt: number;
  ip: string;
  userAgent: string;
}

interface DeviceRow extends Record<string, SqlStorageValue> {
  id: string;
  created_at: number;
  last_used_at: number;
  expires_at: number;
  ip: string;
  user_agent: string;
}

export interface NewSession {
  id: string;
  tokenHash: string;
  generation: number;
  stage: SessionStage;
  method: SignInMethod;
  now: number;
  ip: string;
  userAgent: string;
}

export interface SessionCheck {
  tokenHash: string;
  generation: number;
  policy: SessionPolicy;
  now: number;
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
  ip: string;
  user_agent: string;
}


function otpKvKey(userId: string): string {
  return `otp:${userId}`;
}

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
    ip: row.ip,
    userAgent: row.user_agent,
  };
}

function isExpired(row: SessionRow, check: Omit<SessionCheck, "tokenHash">): boolean {
  return (
    row.generation !== check.generation ||
    check.now - row.last_seen_at >= check.policy.idleTimeoutMs ||
    check.now - row.created_at >= check.policy.absoluteLifetimeMs ||
    // A part-way stage lasts 15 minutes from the last time the person proved who they are.
    (row.stage !== "full" && check.now - row.reauthenticated_at >= PENDING_SESSION_LIFETIME_MS)
  );
}

/**
 * One instance per user (named by user id): that user's sessions and cached profile. A single
 * location that reads its own writes, so revocation here is immediate and strongly consistent.
 */
export class UserDurableObject extends DurableObject<Env> {
  private profile: UserProfile | null | undefined;
  // Bumped by refreshProfile, so a D1 read that was under way then is not cached afterwards.
  private profileVersion = 0;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    ctx.storage.sql.exec(`CREATE TABLE IF NOT EXISTS sessions (
      id TEXT PRIMARY KEY,
      token_hash TEXT NOT NULL UNIQUE,
      generation INTEGER NOT NULL,
      stage TEXT NOT NULL,
      method TEXT NOT NULL,
      created_at INTEGER NOT NULL,
      last_seen_at INTEGER NOT NULL,
      reauthenticated_at INTEGER NOT NULL,
      ip TEXT NOT NULL,
      user_agent TEXT NOT NULL
    )`);
    // The one live email OTP challenge of this user; `sends` feeds the hourly cap.
    ctx.storage.sql.exec(`CREATE TABLE IF NOT EXISTS otp_challenge (
      id INTEGER PRIMARY KEY CHECK (id = 1),
      flow_id TEXT NOT NULL,
      challenge_id TEXT NOT NULL,
      attempts INTEGER NOT NULL,
      expires_at INTEGER NOT NULL,
      sent_at INTEGER NOT NULL
    )`);
    ctx.storage.sql.exec("CREATE TABLE IF NOT EXISTS otp_sends (challenge_id TEXT PRIMARY KEY, sent_at INTEGER NOT NULL)");
    ctx.storage.sql.exec("CREATE TABLE IF NOT EXISTS webauthn_challenges (purpose TEXT PRIMARY KEY, challenge TEXT NOT NULL, expires_at INTEGER NOT NULL)");
    // Devices where the person ticked "Don't ask again on this device" (issue 11.2). Like sessions,
    // only a hash of the cookie's secret is kept, with the portal generation it was made under.
    ctx.storage.sql.exec(`CREATE TABLE IF NOT EXISTS devices (
      id TEXT PRIMARY KEY,
      token_hash TEXT NOT NULL UNIQUE,
      generation INTEGER NOT NULL,
      created_at INTEGER NOT NULL,
      last_used_at INTEGER NOT NULL,
      expires_at INTEGER NOT NULL,
      ip TEXT NOT NULL,
      user_agent TEXT NOT NULL
    )`);
  }

  /** A WebAuthn challenge for one purpose ("register", or a sign-in flow), replacing any earlier one. */
  async putChallenge(purpose: string, challenge: string, expiresAt: number): Promise<void> {
    this.ctx.storage.sql.exec("INSERT OR REPLACE INTO webauthn_challenges (purpose, challenge, expires_at) VALUES (?, ?, ?)", purpose, challenge, expiresAt);
  }

  /** Single use: the challenge is gone once taken, answered or not; an expired one is never returned. */
  async takeChallenge(purpose: string, now: number): Promise<string | null> {
    const row = this.ctx.storage.sql.exec<{ challenge: string; expires_at: number }>("DELETE FROM webauthn_challenges WHERE purpose = ? RETURNING challenge, expires_at", purpose).toArray()[0];
    return row && row.expires_at > now ? row.challenge : null;
  }

  async rememberDevice(device: { id: string; tokenHash: string; generation: number; now: number; expiresAt: number; ip: string; userAgent: string }): Promise<void> {
    this.ctx.storage.sql.exec(
      "INSERT INTO devices (id, token_hash, generation, created_at, last_used_at, expires_at, ip, user_agent) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
      device.id,
      device.tokenHash,
      device.generation,
      device.now,
      device.now,
      device.expiresAt,
      device.ip,
      device.userAgent,
    );
  }

  /** A remembered device skips the second step if it is unexpired and from the portal's current generation. */
  async useRememberedDevice(tokenHash: string, generation: number, now: number, seen: { ip: string; userAgent: string }): Promise<boolean> {
    this.ctx.storage.sql.exec("DELETE FROM devices WHERE expires_at <= ? OR generation != ?", now, generation);
    return this.ctx.storage.sql.exec("UPDATE devices SET last_used_at = ?, ip = ?, user_agent = ? WHERE token_hash = ?", now, seen.ip, seen.userAgent, tokenHash).rowsWritten === 1;
  }

  async listDevices(generation: number, now: number): Promise<RememberedDevice[]> {
    return this.ctx.storage.sql
      .exec<DeviceRow>("SELECT id, created_at, last_used_at, expires_at, ip, user_agent FROM devices WHERE expires_at > ? AND generation = ? ORDER BY last_used_at DESC", now, generation)
      .toArray()
      .map((r) => ({ id: r.id, createdAt: r.created_at, lastUsedAt: r.last_used_at, expiresAt: r.expires_at, ip: r.ip, userAgent: r.user_agent }));
  }

  async forgetDevice(id: string): Promise<boolean> {
    return this.ctx.storage.sql.exec("DELETE FROM devices WHERE id = ?", id).rowsWritten > 0;
  }

  /** After an MFA reset or a password change, no device skips the second step any more. */
  async forgetAllDevices(): Promise<number> {
    return this.ctx.storage.sql.exec("DELETE FROM devices").rowsWritten;
  }

  async createSession(session: NewSession): Promise<void> {
    this.ctx.storage.sql.exec(
      `INSERT INTO sessions (id, token_hash, generation, stage, method, created_at, last_seen_at, reauthenticated_at, ip, user_agent)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      session.id,
      session.tokenHash,
      session.generation,
      session.stage,
      session.method,
      session.now,
      session.now,
      // Issue 15.2: a Microsoft sign-in may have been silent (Microsoft's own session), so it is no fresh re-authentication.
      session.method === "sso" ? 0 : session.now,
      session.ip,
      session.userAgent,
    );
  }

  /**
   * The session behind a token, touched as seen; null (and the row deleted) when it has ended,
   * or `{ ended: "policy" }` when it ended because the portal's policy was applied immediately
   * (so the sign-in page can say why, issue 17.5).
   */
  async validateSession(userId: string, check: SessionCheck): Promise<{ session: SessionInfo; profile: UserProfile } | { ended: "policy" } | null> {
    const row = this.ctx.storage.sql
      .exec<SessionRow>("SELECT * FROM sessions WHERE token_hash = ?", check.tokenHash)
      .toArray()[0];
    if (!row) return null;
    if (isExpired(row, check)) {
      // Ended by "Immediately" but not otherwise over: the row stays (it can never validate again,
      // generations only move on) so every request of that browser is told why, not only the first.
      const byPolicy = row.generation !== check.generation && !isExpired(row, { ...check, generation: row.generation });
      if (byPolicy) return { ended: "policy" };
      this.ctx.storage.sql.exec("DELETE FROM sessions WHERE id = ?", row.id);
      return null;
    }
    const profile = await this.getProfile(userId);
    if (!profile?.active) {
      this.ctx.storage.sql.exec("DELETE FROM sessions");
      return null;
    }
    if (check.now - row.last_seen_at >= LAST_SEEN_PRECISION_MS) {
      this.ctx.storage.sql.exec("UPDATE sessions SET last_seen_at = ? WHERE id = ?", check.now, row.id);
      row.last_seen_at = check.now;
    }
    return { session: toInfo(row), profile };
  }

  /**
   * Replace a session's token (after a second factor, a re-authentication or a password change):
   * the old token stops working in the same write. Returns false if the old one had already ended.
   */
  async rotateSession(oldTokenHash: string, next: { id: string; tokenHash: string; stage: SessionStage; now: number; reauthenticated: boolean }): Promise<boolean> {
    const cursor = this.ctx.storage.sql.exec(
      `UPDATE sessions SET id = ?, token_hash = ?, stage = ?, last_seen_at = ?,
         reauthenticated_at = CASE WHEN ? THEN ? ELSE reauthenticated_at END
       WHERE token_hash = ?`,
      next.id,
      next.tokenHash,
      next.stage,
      next.now,
      next.reauthenticated ? 1 : 0,
      next.now,
      oldTokenHash,
    );
    return cursor.rowsWritten > 0;
  }

  /** Live sessions, newest activity first; ended ones are swept on the way. */
  async listSessions(check: Omit<SessionCheck, "tokenHash">): Promise<SessionInfo[]> {
    const rows = this.ctx.storage.sql.exec<SessionRow>("SELECT * FROM sessions ORDER BY last_seen_at DESC").toArray();
    const live: SessionInfo[] = [];
    for (const row of rows) {
      if (isExpired(row, check)) this.ctx.storage.sql.exec("DELETE FROM sessions WHERE id = ?", row.id);
      else live.push(toInfo(row));
    }
    return live;
  }

  async revokeSessionByToken(tokenHash: string): Promise<void> {
    this.ctx.storage.sql.exec("DELETE FROM sessions WHERE token_hash = ?", tokenHash);
  }

  async revokeSession(sessionId: string): Promise<boolean> {
    return this.ctx.storage.sql.exec("DELETE FROM sessions WHERE id = ?", sessionId).rowsWritten > 0;
  }

  /** End every session of this user, or every one but `exceptSessionId`. Returns how many ended. */
  async revokeAllSessions(exceptSessionId?: string): Promise<number> {
    return this.ctx.storage.sql.exec("DELETE FROM sessions WHERE id IS NOT ?", exceptSessionId ?? null).rowsWritten;
  }

  /**
   * Make a new email code for a sign-in flow, unless the 30-second cooldown or the hourly cap
   * says no. The previous code stops working; the flow's failure count carries over
   * (SECURITY.md 4). The HMAC of the code goes to KV, where it expires; the DO keeps what must
   * be exact (attempts, the current challenge). If the mail then fails, cancelEmailOtp undoes it.
   */
  async issueEmailOtp(userId: string, flowId: string, now: number): Promise<EmailOtpIssue> {
    const sql = this.ctx.storage.sql;
    const current = sql.exec<OtpRow>("SELECT * FROM otp_challenge").toArray()[0];
    if (current && now - current.sent_at < EMAIL_OTP.resendCooldownMs && now >= current.sent_at) {
      return { ok: false, reason: "cooldown", retryAfterMs: current.sent_at + EMAIL_OTP.resendCooldownMs - now };
    }
    const sends = sql.exec<{ sent_at: number }>("SELECT sent_at FROM otp_sends WHERE sent_at > ? ORDER BY sent_at", now - EMAIL_OTP.sendWindowMs).toArray();
    if (sends.length >= EMAIL_OTP.maxSendsPerWindow) {
      return { ok: false, reason: "hourly_cap", retryAfterMs: sends[0]!.sent_at + EMAIL_OTP.sendWindowMs - now };
    }
    const challengeId = newId("otp");
    const attempts = current?.flow_id === flowId ? current.attempts : 0;
    const expiresAt = now + EMAIL_OTP.lifetimeMs;
    sql.exec("DELETE FROM otp_sends WHERE sent_at <= ?", now - EMAIL_OTP.sendWindowMs);
    sql.exec("INSERT OR REPLACE INTO otp_challenge (id, flow_id, challenge_id, attempts, expires_at, sent_at) VALUES (1, ?, ?, ?, ?, ?)", flowId, challengeId, attempts, expiresAt, now);
    sql.exec("INSERT INTO otp_sends (challenge_id, sent_at) VALUES (?, ?)", challengeId, now);
    const code = newOtpCode();
    const record = { challengeId, mac: await otpMac(this.env, userId, flowId, challengeId, code), expiresAt };
    await this.env.OTP_KV.put(otpKvKey(userId), JSON.stringify(record), { expirationTtl: Math.ceil(EMAIL_OTP.lifetimeMs / 1000) });
    return { ok: true, code, challengeId, expiresAt, previous: current ?? null };
  }

  /** The mail could not be sent: forget this code as if it was never made (no cooldown, no count). */
  async cancelEmailOtp(userId: string, challengeId: string, previous: OtpRow | null): Promise<void> {
    const sql = this.ctx.storage.sql;
    sql.exec("DELETE FROM otp_sends WHERE challenge_id = ?", challengeId);
    const current = sql.exec<OtpRow>("SELECT * FROM otp_challenge").toArray()[0];
    if (current?.challenge_id !== challengeId) return;
    if (previous) {
      sql.exec("INSERT OR REPLACE INTO otp_challenge (id, flow_id, challenge_id, attempts, expires_at, sent_at) VALUES (1, ?, ?, ?, ?, ?)", previous.flow_id, previous.challenge_id, current.attempts, previous.expires_at, previous.sent_at);
    } else {
      sql.exec("DELETE FROM otp_challenge");
      await this.env.OTP_KV.delete(otpKvKey(userId));
    }
  }

  /**
   * Check an email code. The attempt is counted before anything is awaited, so of any number of
   * parallel guesses at most five are evaluated; after that the challenge is burned and even the
   * right code fails (SECURITY.md 1). A code only works in the flow that asked for it (9).
   */
  async verifyEmailOtp(userId: string, flowId: string, code: string, now: number): Promise<EmailOtpCheck> {
    const sql = this.ctx.storage.sql;
    const challenge = sql.exec<OtpRow>("SELECT * FROM otp_challenge").toArray()[0];
    if (!challenge || challenge.flow_id !== flowId) return "no_code";
    if (challenge.attempts >= EMAIL_OTP.maxAttempts) return "burned";
    sql.exec("UPDATE otp_challenge SET attempts = attempts + 1 WHERE id = 1");
    if (now >= challenge.expires_at) return "expired";
    const record = await this.env.OTP_KV.get<{ challengeId: string; mac: string; expiresAt: number }>(otpKvKey(userId), "json");
    // A record of another challenge (a stale read after a resend) is never trusted.
    if (!record || record.challengeId !== challenge.challenge_id || now >= record.expiresAt) return "expired";
    const mac = await otpMac(this.env, userId, flowId, challenge.challenge_id, code);
    if (!constantTimeEqual(new TextEncoder().encode(mac), new TextEncoder().encode(record.mac))) return "wrong";
    // Single use: the challenge goes in a synchronous write; a second right answer finds nothing.
    const spent = sql.exec("DELETE FROM otp_challenge WHERE challenge_id = ?", challenge.challenge_id).rowsWritten;
    if (spent !== 1) return "no_code";
    await this.env.OTP_KV.delete(otpKvKey(userId));
    return "ok";
  }

  /** When the next resend is allowed (ms since epoch), for the page's countdown; null without a code. */
  async emailOtpStatus(flowId: string): Promise<{ sentAt: number; resendAt: number } | null> {
    const challenge = this.ctx.storage.sql.exec<OtpRow>("SELECT * FROM otp_challenge").toArray()[0];
    if (!challenge || challenge.flow_id !== flowId) return null;
    return { sentAt: challenge.sent_at, resendAt: challenge.sent_at + EMAIL_OTP.resendCooldownMs };
  }

  /** Forget the cached profile: the next request reads the user's row from D1 again. */
  async refreshProfile(): Promise<void> {
    this.profileVersion++;
    this.profile = undefined;
    await this.ctx.storage.delete("profile");
  }

  private async getProfile(userId: string): Promise<UserProfile | null> {
    if (this.profile !== undefined) return this.profile;
    const stored = await this.ctx.storage.get<UserProfile>("profile");
    if (stored) return (this.profile = stored);
    const version = this.profileVersion;
    const user = await findUserById(getDb(this.env.DB), userId);
    const profile = user && { id: user.id, kind: user.kind, email: user.email, name: user.name, roleId: user.roleId, active: user.active };
    if (version === this.profileVersion && profile) {
      await this.ctx.storage.put("profile", profile);
      this.profile = profile;
    }
    return profile;
  }
}
