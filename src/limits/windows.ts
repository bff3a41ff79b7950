// The counting rules of a limiter object, as plain functions over its SQLite storage. Every
// function runs synchronously inside one call of the object, so each is atomic: a burst of
// parallel attempts is counted one by one and never gets more than a limit evaluated.
import { DAY } from "../lib/clock";

export interface LimitRule {
  /** Attempts allowed within one window. */
  limit: number;
  windowMs: number;
}

/** An attempt counted in a window: given back if it proves right or was never evaluated. */
export interface Ticket {
  name: string;
  startedAt: number;
}

/** `firstRefusal`: this is the window's first refused attempt (exactly one per window, even in a burst). */
export type LimitResult = { allowed: true; remaining: number; tickets: Ticket[] } | { allowed: false; retryAfterMs: number; firstRefusal: boolean };

/** How many sources a window remembers by name; the rest are counted together. */
const SOURCES_KEPT = 20;
export const OTHER_SOURCES = "other";

/**
 * A browser that finished a sign-in to an account is known to that account's counters for 90
 * days (as long as a new-device alert treats it as known).
 */
export const KNOWN_BROWSER_MS = 90 * DAY;

interface WindowRow extends Record<string, SqlStorageValue> {
  started_at: number;
  count: number;
  reported: number;
}

interface WindowState {
  name: string;
  rule: LimitRule;
  startedAt: number;
  count: number;
  reported: boolean;
  fresh: boolean;
}

function read(sql: SqlStorage, name: string, now: number, rule: LimitRule): WindowState {
  const row = sql.exec<WindowRow>("SELECT started_at, count, reported FROM windows WHERE name = ?", name).toArray()[0];
  // A window that ended, or one from a clock that has since gone back, starts again.
  const fresh = !row || now - row.started_at >= rule.windowMs || now < row.started_at;
  if (fresh) return { name, rule, startedAt: now, count: 0, reported: false, fresh: true };
  return { name, rule, startedAt: row.started_at, count: row.count, reported: row.reported === 1, fresh: false };
}

function full(state: WindowState): boolean {
  return state.count >= state.rule.limit;
}

function count(sql: SqlStorage, state: WindowState): Ticket {
  if (state.fresh) sql.exec("DELETE FROM sources WHERE window = ?", state.name);
  sql.exec(
    "INSERT OR REPLACE INTO windows (name, started_at, ends_at, count, reported) VALUES (?, ?, ?, ?, ?)",
    state.name,
    state.startedAt,
    state.startedAt + state.rule.windowMs,
    state.count + 1,
    state.reported ? 1 : 0,
  );
  return { name: state.name, startedAt: state.startedAt };
}

/** Refused by the window that frees last; its first refusal is marked, so one burst reports once. */
function refuse(sql: SqlStorage, refused: WindowState[], now: number): LimitResult & { allowed: false } {
  const last = refused.reduce((a, b) => (b.startedAt + b.rule.windowMs > a.startedAt + a.rule.windowMs ? b : a));
  const firstRefusal = !last.reported;
  if (firstRefusal) sql.exec("UPDATE windows SET reported = 1 WHERE name = ?", last.name);
  return { allowed: false, retryAfterMs: last.startedAt + last.rule.windowMs - now, firstRefusal };
}

export function hit(sql: SqlStorage, name: string, now: number, rule: LimitRule): LimitResult {
  const state = read(sql, name, now, rule);
  if (full(state)) return refuse(sql, [state], now);
  return { allowed: true, remaining: rule.limit - state.count - 1, tickets: [count(sql, state)] };
}

export function peek(sql: SqlStorage, name: string, now: number, rule: LimitRule): LimitResult {
  const state = read(sql, name, now, rule);
  if (!full(state)) return { allowed: true, remaining: rule.limit - state.count, tickets: [] };
  return { allowed: false, retryAfterMs: state.startedAt + rule.windowMs - now, firstRefusal: false };
}

export function refund(sql: SqlStorage, tickets: Ticket[]): void {
  for (const t of tickets) sql.exec("UPDATE windows SET count = count - 1 WHERE name = ? AND started_at = ? AND count > 0", t.name, t.startedAt);
}

export function clear(sql: SqlStorage, names: string[]): void {
  for (const name of names) {
    sql.exec("DELETE FROM windows WHERE name = ?", name);
    sql.exec("DELETE FROM sources WHERE window = ?", name);
  }
}

/** The limits of one way into an account: a known browser's own, and those all unknown browsers share. */
export interface GuardRules {
  browser: LimitRule;
  unknown: LimitRule;
  daily: LimitRule;
}

export interface GuardAttempt {
  /** The way in ("password", "second_step", "reset"): each is counted apart. */
  way: string;
  /** The hash of the browser's cookie, or null for a browser that carries none. */
  browser: string | null;
  source: string;
  country: string | null;
  rules: GuardRules;
}

/**
 * `known`: the browser finished a sign-in here in the last 90 days. `newBrowser`: it did not,
 * though another one did (an account's first browser is nobody's new one, as for new-device alerts).
 */
export type GuardResult = (LimitResult & { known: boolean; newBrowser: boolean }) & ({ allowed: true } | { allowed: false; bucket: "browser" | "unknown" });

export function unknownWindows(way: string): { unknown: string; daily: string } {
  return { unknown: `${way}:unknown`, daily: `${way}:daily` };
}

/**
 * SECURITY.md 43: a browser that finished a sign-in here counts its attempts on its own, so
 * strangers' failures never stop it (its own wrong guesses still do); every other browser shares
 * one window and a daily bound. An unknown email gets the same object, the same windows and the
 * same answers as a real one.
 */
export function guardAttempt(sql: SqlStorage, now: number, a: GuardAttempt): GuardResult {
  const known = a.browser !== null && sql.exec("SELECT 1 FROM browsers WHERE hash = ? AND seen_at > ?", a.browser, now - KNOWN_BROWSER_MS).toArray().length > 0;
  const newBrowser = !known && sql.exec("SELECT 1 FROM browsers WHERE seen_at > ? LIMIT 1", now - KNOWN_BROWSER_MS).toArray().length > 0;
  const names = unknownWindows(a.way);
  const states = known
    ? [read(sql, `${a.way}:browser:${a.browser}`, now, a.rules.browser)]
    : [read(sql, names.unknown, now, a.rules.unknown), read(sql, names.daily, now, a.rules.daily)];
  const refused = states.filter(full);
  if (refused.length > 0) return { ...refuse(sql, refused, now), known, newBrowser, bucket: known ? "browser" : "unknown" };
  const tickets = states.map((s) => count(sql, s));
  if (!known) noteSource(sql, names.daily, a.source, a.country);
  return { allowed: true, remaining: Math.min(...states.map((s) => s.rule.limit - s.count - 1)), tickets, known, newBrowser };
}

function noteSource(sql: SqlStorage, window: string, source: string, country: string | null): void {
  const named = sql.exec("SELECT 1 FROM sources WHERE window = ? AND source = ?", window, source).toArray().length > 0;
  const room = sql.exec<{ n: number }>("SELECT count(*) AS n FROM sources WHERE window = ?", window).one().n < SOURCES_KEPT;
  const as = named || room ? source : OTHER_SOURCES;
  sql.exec(
    "INSERT INTO sources (window, source, country, count) VALUES (?, ?, ?, 1) ON CONFLICT (window, source) DO UPDATE SET count = count + 1",
    window,
    as,
    as === OTHER_SOURCES ? null : country,
  );
}

export interface SourceCount {
  source: string;
  country: string | null;
  count: number;
}

export function sourcesOf(sql: SqlStorage, window: string): SourceCount[] {
  return sql
    .exec<{ source: string; country: string | null; count: number }>("SELECT source, country, count FROM sources WHERE window = ? ORDER BY count DESC, source", window)
    .toArray()
    .map((r) => ({ source: r.source, country: r.country, count: r.count }));
}

export function knowBrowser(sql: SqlStorage, hash: string, now: number): void {
  sql.exec("INSERT INTO browsers (hash, seen_at) VALUES (?, ?) ON CONFLICT (hash) DO UPDATE SET seen_at = excluded.seen_at", hash, now);
}

export function forgetBrowser(sql: SqlStorage, hash: string): void {
  sql.exec("DELETE FROM browsers WHERE hash = ?", hash);
  sql.exec("DELETE FROM windows WHERE name LIKE ? ESCAPE '\\'", `%:browser:${hash.replace(/[\\%_]/g, "\\$&")}`);
}

export function liftUnknown(sql: SqlStorage): void {
  sql.exec("DELETE FROM windows WHERE name LIKE '%:unknown' OR name LIKE '%:daily'");
  sql.exec("DELETE FROM sources");
}

/** The latest moment the app's clock has written here (started windows, seen browsers). */
export function latestMoment(sql: SqlStorage): number {
  const row = sql.exec<{ w: number | null; b: number | null }>("SELECT (SELECT max(started_at) FROM windows) AS w, (SELECT max(seen_at) FROM browsers) AS b").one();
  return Math.max(row.w ?? 0, row.b ?? 0);
}

/** When the next window or known browser ends; null when nothing is left to count. */
export function nextEnd(sql: SqlStorage): number | null {
  const row = sql.exec<{ w: number | null; b: number | null }>("SELECT (SELECT min(ends_at) FROM windows) AS w, (SELECT min(seen_at) FROM browsers) AS b").one();
  const ends = [row.w, row.b === null ? null : row.b + KNOWN_BROWSER_MS].filter((v): v is number => v !== null);
  return ends.length ? Math.min(...ends) : null;
}

export function sweep(sql: SqlStorage, now: number): void {
  sql.exec("DELETE FROM windows WHERE ends_at <= ?", now);
  sql.exec("DELETE FROM browsers WHERE seen_at <= ?", now - KNOWN_BROWSER_MS);
  sql.exec("DELETE FROM sources WHERE window NOT IN (SELECT name FROM windows)");
  // The table of version 1 is read only by a rolled-back release; its row ends with the windows.
  sql.exec("DELETE FROM window");
}
