import { DurableObject } from "cloudflare:workers";
import { ddl, migrateSchema, type SchemaStep } from "../lib/do-schema";
import * as windows from "./windows";
import type { GuardAttempt, GuardResult, LimitResult, LimitRule, Ticket } from "./windows";

export type { GuardAttempt, GuardResult, LimitResult, LimitRule, Ticket } from "./windows";

/** The limiter's tables, versioned like the user object's (src/lib/do-schema.ts); append steps, never edit. */
const LIMITER_DO_SCHEMA: readonly SchemaStep[] = [
  // 1: as before the schema had a version (`IF NOT EXISTS` adopts objects that older code created).
  ddl("CREATE TABLE IF NOT EXISTS window (id INTEGER PRIMARY KEY CHECK (id = 1), started_at INTEGER NOT NULL, count INTEGER NOT NULL)"),
  // 2: named sliding windows (an account counts each way in, and each browser, apart), a row per
  // counted attempt; the browsers known to the account; where counted attempts came from. The
  // one window of version 1 carries on as "attempts", its count as hits at its start, ending
  // with the longest rule any key had (two hours).
  ddl(
    "CREATE TABLE windows (name TEXT PRIMARY KEY, window_ms INTEGER NOT NULL, reported_until INTEGER NOT NULL DEFAULT 0)",
    "CREATE TABLE hits (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL, at INTEGER NOT NULL)",
    "CREATE INDEX hits_name_at ON hits (name, at)",
    "INSERT INTO windows (name, window_ms, reported_until) SELECT 'attempts', 7200000, 0 FROM window",
    `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < (SELECT count FROM window))
     INSERT INTO hits (name, at) SELECT 'attempts', (SELECT started_at FROM window) FROM n WHERE (SELECT count(*) FROM window) > 0`,
    "CREATE TABLE browsers (hash TEXT PRIMARY KEY, seen_at INTEGER NOT NULL)",
    "CREATE TABLE sources (window TEXT NOT NULL, source TEXT NOT NULL, country TEXT, count INTEGER NOT NULL, PRIMARY KEY (window, source))",
    // How far the app's clock is from the runtime's, so an alarm ends windows by the app's time.
    "CREATE TABLE clock (id INTEGER PRIMARY KEY CHECK (id = 1), offset_ms INTEGER NOT NULL)",
  ),
  // 3: where an unknown browser's attempt came from rides on its hit, so one given back (a right
  // password) is no longer among the sources the person is told of. `sources` is no longer
  // written; it stays for one release so the previous code still runs if it is rolled back to.
  ddl("ALTER TABLE hits ADD COLUMN source TEXT", "ALTER TABLE hits ADD COLUMN country TEXT"),
];

/**
 * One instance per counted thing: a source ("src:203.0.113.7", "src:2001:db8:1:2::/64"), an
 * account as typed ("account:agent:ann@example.com"), a person's recovery codes. Each attempt is
 * counted before it is evaluated, in one synchronous storage step, so a burst of parallel
 * requests can never get more than a rule's limit evaluated. The counting rules are in ./windows.ts.
 */
export class LimiterDurableObject extends DurableObject<Env> {
  // Made on first use, and again after the alarm deleted everything (the object lives on in memory).
  private ready = false;

  private get sql(): SqlStorage {
    if (!this.ready) {
      migrateSchema(this.ctx.storage, LIMITER_DO_SCHEMA);
      this.ready = true;
    }
    return this.ctx.storage.sql;
  }

  /** Count one attempt in the window `name` (one window per plain counter: "attempts"). */
  async hit(now: number, rule: LimitRule, name = "attempts"): Promise<LimitResult> {
    const result = windows.hit(this.sql, name, now, rule);
    await this.sweepLater(now);
    return result;
  }

  /** An attempt counted by `hit` turned out right (or was never evaluated): it no longer counts. */
  async refund(tickets: Ticket[]): Promise<void> {
    windows.refund(this.sql, tickets);
  }

  /** After a success: the failures before it no longer count. */
  async reset(names: string[] = ["attempts"]): Promise<void> {
    windows.clear(this.sql, names);
  }

  async peek(now: number, rule: LimitRule, name = "attempts"): Promise<LimitResult> {
    return windows.peek(this.sql, name, now, rule);
  }

  /** An account's attempt at one way in, counted for the browser it came from (./windows.ts guardAttempt). */
  async attempt(now: number, attempt: GuardAttempt): Promise<GuardResult> {
    const result = windows.guardAttempt(this.sql, now, attempt);
    await this.sweepLater(now);
    return result;
  }

  /** A sign-in through this account finished in this browser: it is known here from now on. */
  async knowBrowser(hash: string, now: number): Promise<void> {
    windows.knowBrowser(this.sql, hash, now);
    await this.sweepLater(now);
  }

  /** "This wasn't me": no browser is known to the account any more. */
  async forgetBrowsers(): Promise<void> {
    windows.forgetBrowsers(this.sql);
  }

  /** Until when unknown browsers are refused on a way in; null when they are not. */
  async unknownPausedUntil(way: string, now: number, rules: windows.GuardRules): Promise<number | null> {
    return windows.unknownPausedUntil(this.sql, way, now, rules);
  }

  /** Lift every pause of unknown browsers (a password reset, an admin). */
  async lift(): Promise<void> {
    windows.liftUnknown(this.sql);
  }

  /** Where the counted attempts of a window came from, most first. */
  async sources(name: string): Promise<windows.SourceCount[]> {
    return windows.sourcesOf(this.sql, name);
  }

  /**
   * Counters that have nothing left to count go, and so does an object left with nothing: a
   * stranger's made-up emails and addresses leave no storage behind once their windows end.
   * Windows end by the clock the app passes in (tests move it); the alarm runs on the runtime's,
   * so it goes by the app's clock as last seen plus the time since.
   */
  override async alarm(): Promise<void> {
    const now = Date.now() + windows.clockOffset(this.sql);
    windows.sweep(this.sql, now);
    const next = windows.nextEnd(this.sql);
    if (next === null) {
      await this.ctx.storage.deleteAll();
      this.ready = false;
    } else await this.ctx.storage.setAlarm(Date.now() + Math.max(1_000, next - now));
  }

  private async sweepLater(now: number): Promise<void> {
    windows.noteClock(this.sql, now - Date.now());
    if ((await this.ctx.storage.getAlarm()) !== null) return;
    const next = windows.nextEnd(this.sql);
    if (next !== null) await this.ctx.storage.setAlarm(Date.now() + Math.max(1_000, next - now));
  }
}
