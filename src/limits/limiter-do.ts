import { DurableObject } from "cloudflare:workers";
import { ddl, migrateSchema, type SchemaStep } from "../lib/do-schema";

export interface LimitRule {
  /** Attempts allowed within one window. */
  limit: number;
  windowMs: number;
}

/** `firstRefusal`: this is the window's first refused attempt (exactly one per window, even in a burst). */
export type LimitResult = { allowed: true; remaining: number } | { allowed: false; retryAfterMs: number; firstRefusal: boolean };

/** The limiter's one table, versioned like the user object's (src/lib/do-schema.ts); append steps, never edit. */
const LIMITER_DO_SCHEMA: readonly SchemaStep[] = [
  // 1: as before the schema had a version (`IF NOT EXISTS` adopts objects that older code created).
  ddl("CREATE TABLE IF NOT EXISTS window (id INTEGER PRIMARY KEY CHECK (id = 1), started_at INTEGER NOT NULL, count INTEGER NOT NULL)"),
];

/**
 * One instance per counted thing ("pw-ip:203.0.113.7", "2fa:agt_…"): a fixed-window counter.
 * Each attempt is counted before it is evaluated, in one synchronous storage write, so a burst
 * of parallel requests can never get more than `limit` evaluations through.
 */
export class LimiterDurableObject extends DurableObject<Env> {
  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    migrateSchema(ctx.storage, LIMITER_DO_SCHEMA);
  }

  async hit(now: number, rule: LimitRule): Promise<LimitResult> {
    const row = this.ctx.storage.sql.exec<{ started_at: number; count: number }>("SELECT started_at, count FROM window").toArray()[0];
    const fresh = !row || now - row.started_at >= rule.windowMs || now < row.started_at;
    const startedAt = fresh ? now : row.started_at;
    const count = fresh ? 0 : row.count;
    if (count >= rule.limit) {
      // The count goes one past the limit once, marking that the first refusal was reported.
      const firstRefusal = count === rule.limit;
      if (firstRefusal) this.ctx.storage.sql.exec("UPDATE window SET count = ? WHERE id = 1", count + 1);
      return { allowed: false, retryAfterMs: startedAt + rule.windowMs - now, firstRefusal };
    }
    this.ctx.storage.sql.exec("INSERT OR REPLACE INTO window (id, started_at, count) VALUES (1, ?, ?)", startedAt, count + 1);
    return { allowed: true, remaining: rule.limit - count - 1 };
  }

  /** After a success: the failures before it no longer count. */
  async reset(): Promise<void> {
    this.ctx.storage.sql.exec("DELETE FROM window");
  }

  async peek(now: number, rule: LimitRule): Promise<LimitResult> {
    const row = this.ctx.storage.sql.exec<{ started_at: number; count: number }>("SELECT started_at, count FROM window").toArray()[0];
    if (!row || now - row.started_at >= rule.windowMs || row.count < rule.limit) return { allowed: true, remaining: rule.limit - (row?.count ?? 0) };
    return { allowed: false, retryAfterMs: row.started_at + rule.windowMs - now, firstRefusal: false };
  }
}
