// The counting rules of a limiter object, as plain functions over its SQLite storage. Every
// function runs synchronously inside one call of the object, so each is atomic: a burst of
// parallel attempts is counted one by one and never gets more than a limit evaluated.
//
// A window is a sliding log: each counted attempt is a row with its moment, and an attempt is
// allowed while fewer than `limit` rows are younger than `windowMs`. A fixed window would let
// twice the limit through around its end (the limit just before, the limit again just after).
import { DAY } from "../lib/clock";

export interface LimitRule {
  /** Attempts allowed within any span of `windowMs`. */
  limit: number;
  windowMs: number;
}

/** An attempt counted in a window: given back if it proves right or was never evaluated. */
export interface Ticket {
  name: string;
  id: number;
}

/** `firstRefusal`: the first refusal of this window in its span (exactly one, even in a burst). */
export type LimitResult =
  | { allowed: true; remaining: number; tickets: Ticket[] }
  | { allowed: false; retryAfterMs: number; firstRefusal: boolean };

/** How many sources a window names; the rest are counted together. */
const SOURCES_KEPT = 20;
export const OTHER_SOURCES = "other";

/**
 * A browser where a sign-in to an account proved more than a password (or the account's first)
 * is known to that account's counters for 90 days, as long as a new-device alert trusts it.
 */
export const KNOWN_BROWSER_MS = 90 * DAY;

interface WindowState {
  name: string;
  rule: LimitRule;
  count: number;
  /** When a slot frees, if the window is full. */
  freeAt: number;
  reportedUntil: number;
}

function read(sql: SqlStorage, name: string, now: number, rule: LimitRule): WindowState {
  sql.exec("DELETE FROM hits WHERE name = ? AND at <= ?", name, now - rule.windowMs);
  const count = sql.exec<{ n: number }>("SELECT count(*) AS n FROM hits WHERE name = ?", name).one().n;
  // The oldest of the newest `limit` hits: once it is older than the window, a slot is free.
  const pivot =
    count >= rule.limit
      ? sql
          .exec<{ at: number }>("SELECT at FROM hits WHERE name = ? ORDER BY at DESC, id DESC LIMIT 1 OFFSET ?", name, rule.limit - 1)
          .one().at
      : now;
  const reportedUntil =
    sql.exec<{ reported_until: number }>("SELECT reported_until FROM windows WHERE name = ?", name).toArray()[0]?.reported_until ?? 0;
  return { name, rule, count, freeAt: Math.max(pivot + rule.windowMs, now + 1), reportedUntil };
}

function full(state: WindowState): boolean {
  return state.count >= state.rule.limit;
}

function count(sql: SqlStorage, state: WindowState, now: number, from: { source: string; country: string | null } | null = null): Ticket {
  sql.exec(
    "INSERT INTO windows (name, window_ms, reported_until) VALUES (?, ?, 0) ON CONFLICT (name) DO UPDATE SET window_ms = excluded.window_ms",
    state.name,
    state.rule.windowMs,
  );
  const id = sql
    .exec<{ id: number }>(
      "INSERT INTO hits (name, at, source, country) VALUES (?, ?, ?, ?) RETURNING id",
      state.name,
      now,
      from?.source ?? null,
      from?.country ?? null,
    )
    .one().id;
  return { name: state.name, id };
}

/**
 * Refused by the window that frees last. Its refusal is reported once per window's length, so a
 * sustained attack that gets a guess through each time a slot frees still reports (and mails) once.
 */
function refuse(sql: SqlStorage, refused: WindowState[], now: number): LimitResult & { allowed: false } {
  const last = refused.reduce((a, b) => (b.freeAt > a.freeAt ? b : a));
  const firstRefusal = now >= last.reportedUntil;
  if (firstRefusal) {
    sql.exec(
      "INSERT INTO windows (name, window_ms, reported_until) VALUES (?, ?, ?) ON CONFLICT (name) DO UPDATE SET reported_until = excluded.reported_until",
      last.name,
      last.rule.windowMs,
      now + last.rule.windowMs,
    );
  }
  return { allowed: false, retryAfterMs: last.freeAt - now, firstRefusal };
}

export function hit(sql: SqlStorage, name: string, now: number, rule: LimitRule): LimitResult {
  const state = read(sql, name, now, rule);
  if (full(state)) return refuse(sql, [state], now);
  return { allowed: true, remaining: rule.limit - state.count - 1, tickets: [count(sql, state, now)] };
}

export function peek(sql: SqlStorage, name: string, now: number, rule: LimitRule): LimitResult {
  const state = read(sql, name, now, rule);
  if (!full(state)) return { allowed: true, remaining: rule.limit - state.count, tickets: [] };
  return { allowed: false, retryAfterMs: state.freeAt - now, firstRefusal: false };
}

export function refund(sql: SqlStorage, tickets: Ticket[]): void {
  for (const t of tickets) sql.exec("DELETE FROM hits WHERE id = ? AND name = ?", t.id, t.name);
}

export function clear(sql: SqlStorage, names: string[]): void {
  for (const name of names) {
    sql.exec("DELETE FROM hits WHERE name = ?", name);
    sql.exec("DELETE FROM windows WHERE name = ?", name);
  }
}

/** The limits of one way into an account: for each browser that is known to it, and for all others together. */
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
 * `known`: the browser is known to the account (KNOWN_BROWSER_MS). `trustedAny`: some browser is,
 * so an unknown one is new to the account (an account's first browser is nobody's new one).
 */
export type GuardResult = (LimitResult & { known: boolean; trustedAny: boolean }) &
  ({ allowed: true } | { allowed: false; bucket: "browser" | "unknown" });

export function unknownWindows(way: string): { unknown: string; daily: string } {
  return { unknown: `${way}:unknown`, daily: `${way}:daily` };
}

function browserWindows(way: string, browser: string): { recent: string; daily: string } {
  return { recent: `${way}:browser:${browser}`, daily: `${way}:browser-daily:${browser}` };
}

/**
 * SECURITY.md 43: a browser known to the account counts its attempts on its own, so strangers'
 * failures never stop it (its own wrong guesses still do, 10 per 15 minutes and 100 a day); every
 * other browser shares one window and a daily bound. An unknown email gets the same object, the
 * same windows and the same answers as a real one.
 */
export function guardAttempt(sql: SqlStorage, now: number, a: GuardAttempt): GuardResult {
  const trusted = (hash: string | null) =>
    sql.exec("SELECT 1 FROM browsers WHERE seen_at > ? AND (? IS NULL OR hash = ?) LIMIT 1", now - KNOWN_BROWSER_MS, hash, hash).toArray()
      .length > 0;
  const known = a.browser !== null && trusted(a.browser);
  const trustedAny = known || trusted(null);
  let states: WindowState[];
  if (known) {
    const names = browserWindows(a.way, a.browser!);
    states = [read(sql, names.recent, now, a.rules.browser), read(sql, names.daily, now, a.rules.daily)];
  } else {
    const names = unknownWindows(a.way);
    states = [read(sql, names.unknown, now, a.rules.unknown), read(sql, names.daily, now, a.rules.daily)];
  }
  const refused = states.filter(full);
  if (refused.length > 0) return { ...refuse(sql, refused, now), known, trustedAny, bucket: known ? "browser" : "unknown" };
  const tickets = states.map((s) => count(sql, s, now, known ? null : { source: a.source, country: a.country }));
  return { allowed: true, remaining: Math.min(...states.map((s) => s.rule.limit - s.count - 1)), tickets, known, trustedAny };
}

export interface SourceCount {
  source: string;
  country: string | null;
  count: number;
}

/** Where a window's counted attempts came from, most first; past SOURCES_KEPT, the rest together. */
export function sourcesOf(sql: SqlStorage, window: string): SourceCount[] {
  const rows = sql
    .exec<{ source: string; country: string | null; count: number }>(
      "SELECT source, max(country) AS country, count(*) AS count FROM hits WHERE name = ? AND source IS NOT NULL GROUP BY source ORDER BY count DESC, source",
      window,
    )
    .toArray()
    .map((r) => ({ source: r.source, country: r.country, count: r.count }));
  if (rows.length <= SOURCES_KEPT) return rows;
  const rest = rows.slice(SOURCES_KEPT - 1).reduce((n, r) => n + r.count, 0);
  return [...rows.slice(0, SOURCES_KEPT - 1), { source: OTHER_SOURCES, country: null, count: rest }];
}

export function knowBrowser(sql: SqlStorage, hash: string, now: number): void {
  sql.exec("INSERT INTO browsers (hash, seen_at) VALUES (?, ?) ON CONFLICT (hash) DO UPDATE SET seen_at = excluded.seen_at", hash, now);
}

/** Every browser is a stranger to the account again, and their own windows go with them. */
export function forgetBrowsers(sql: SqlStorage): void {
  sql.exec("DELETE FROM browsers");
  for (const { name } of sql
    .exec<{ name: string }>("SELECT name FROM windows WHERE name LIKE '%:browser:%' OR name LIKE '%:browser-daily:%'")
    .toArray())
    clear(sql, [name]);
}

/** Until when unknown browsers are refused on this way in (its window or its daily bound is full); null when they are not. */
export function unknownPausedUntil(sql: SqlStorage, way: string, now: number, rules: GuardRules): number | null {
  const names = unknownWindows(way);
  const full_ = [read(sql, names.unknown, now, rules.unknown), read(sql, names.daily, now, rules.daily)].filter(full);
  return full_.length ? Math.max(...full_.map((s) => s.freeAt)) : null;
}

export function liftUnknown(sql: SqlStorage): void {
  const names = sql
    .exec<{ name: string }>("SELECT name FROM windows WHERE name LIKE '%:unknown' OR name LIKE '%:daily'")
    .toArray()
    .map((r) => r.name);
  clear(sql, names);
}

/** How far ahead of the runtime's clock the app's was when it last called (0 in production, unless clocks drift). */
export function noteClock(sql: SqlStorage, offsetMs: number): void {
  sql.exec("INSERT INTO clock (id, offset_ms) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET offset_ms = excluded.offset_ms", offsetMs);
}

export function clockOffset(sql: SqlStorage): number {
  return sql.exec<{ offset_ms: number }>("SELECT offset_ms FROM clock").toArray()[0]?.offset_ms ?? 0;
}

/** When the next counted attempt or known browser ends; null when nothing is left to count. */
export function nextEnd(sql: SqlStorage): number | null {
  const row = sql
    .exec<{ h: number | null; b: number | null }>(
      "SELECT (SELECT min(h.at + w.window_ms) FROM hits h JOIN windows w ON w.name = h.name) AS h, (SELECT min(seen_at) FROM browsers) AS b",
    )
    .one();
  const ends = [row.h, row.b === null ? null : row.b + KNOWN_BROWSER_MS].filter((v): v is number => v !== null);
  return ends.length ? Math.min(...ends) : null;
}

export function sweep(sql: SqlStorage, now: number): void {
  sql.exec("DELETE FROM hits WHERE id IN (SELECT h.id FROM hits h JOIN windows w ON w.name = h.name WHERE h.at + w.window_ms <= ?)", now);
  sql.exec("DELETE FROM windows WHERE reported_until <= ? AND name NOT IN (SELECT DISTINCT name FROM hits)", now);
  sql.exec("DELETE FROM browsers WHERE seen_at <= ?", now - KNOWN_BROWSER_MS);
  // The table of version 1 is read only by a rolled-back release; its row ends with the windows.
  sql.exec("DELETE FROM window");
}
