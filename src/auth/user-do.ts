import { DurableObject } from "cloudflare:workers";
import { getDb } from "../db";
import type { SessionPolicy, UserKind } from "../portal/policy";
import { findUserById } from "./users";

/** What a request needs to know about its user, cached here so the hot path reads no D1. */
export interface UserProfile {
  id: string;
  kind: UserKind;
  email: string;
  name: string;
  roleId: string | null;
  active: boolean;
}

/** "full": signed in. The other stages reach only the pages that finish signing in. */
export type SessionStage = "full" | "second_factor";
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
    check.now - row.created_at >= check.policy.absoluteLifetimeMs
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
      session.now,
      session.ip,
      session.userAgent,
    );
  }

  /** The session behind a token, touched as seen; null (and the row deleted) when it has ended. */
  async validateSession(userId: string, check: SessionCheck): Promise<{ session: SessionInfo; profile: UserProfile } | null> {
    const row = this.ctx.storage.sql
      .exec<SessionRow>("SELECT * FROM sessions WHERE token_hash = ?", check.tokenHash)
      .toArray()[0];
    if (!row) return null;
    if (isExpired(row, check)) {
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
