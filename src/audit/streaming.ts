// Audit log streaming: every audit event reaches every destination at least once, in order, with
// its id. The audit table is the outbox: a destination's cursor is the id of the last event it
// acknowledged (a 2xx), moved only after that answer, so a delivery cut short at any point sends
// the same batch again and nothing after it. Ids follow the order events were stored in (see
// auditAfter), so "after the cursor" never skips an event stored later. docs/AUDIT-STREAMING.md
// says what a receiver gets and must do; src/audit/stream-do.ts runs deliveries in the background.
import { and, count, eq, gt, isNull, sql } from "drizzle-orm";
import type { Db } from "../db";
import { ADMIN_ROLE_ID } from "../access/grants";
import { insertWhere } from "../db/insert-where";
import { auditDestinations, auditEvents } from "../db/schema";
import { type Notice, queueNotices } from "../mail/outbox";
import { randomToken, newId } from "../lib/crypto";
import { backoff } from "../lib/backoff";
import { DAY } from "../lib/clock";
import { ipv6Groups } from "../limits/source";
import { decryptForUser, encryptForUser } from "../lib/encryption";
import { AFTER_ONE_CHANGE, type AuditOrigin, auditInsertWhere } from "./events";
import { auditAfter, type EventRecord, eventRecord } from "./log";

export const DESTINATION_KINDS = {
  https: "HTTPS endpoint (signed JSON)",
  splunk: "Splunk HTTP Event Collector",
} as const;
export type DestinationKind = keyof typeof DESTINATION_KINDS;

/** Events in one request, and its JSON at most: a Splunk HEC takes up to 1 MB by default. */
export const STREAM_BATCH = 500;
export const STREAM_BATCH_BYTES = 512 * 1024;
/** Batches one background run sends before handing over to the next run (a bound on its time). */
export const BATCHES_PER_RUN = 20;
/** A destination failing this long is paused, and the admins are emailed. */
export const PAUSE_AFTER_MS = DAY;
/** A receiver that has not answered by then has failed this try. */
export const REQUEST_TIMEOUT_MS = 10_000;
/** Destinations at once: every one is sent every event. */
export const MAX_DESTINATIONS = 10;

/** How a delivery reaches a receiver: fetch, or a test's own stand-in for a dropped connection. */
export type Send = (request: Request) => Promise<Response>;

export type Destination = typeof auditDestinations.$inferSelect;

// Addresses production must never post the audit log to: this machine, the private networks,
// link-local (cloud metadata), the shared, benchmarking, multicast and reserved ranges, as
// [first address, prefix length].
const BLOCKED_V4: [number[], number][] = [
  [[0, 0, 0, 0], 8],
  [[10, 0, 0, 0], 8],
  [[100, 64, 0, 0], 10],
  [[127, 0, 0, 0], 8],
  [[169, 254, 0, 0], 16],
  [[172, 16, 0, 0], 12],
  [[192, 0, 0, 0], 24],
  [[192, 0, 2, 0], 24],
  [[192, 168, 0, 0], 16],
  [[198, 18, 0, 0], 15],
  [[198, 51, 100, 0], 24],
  [[203, 0, 113, 0], 24],
  [[224, 0, 0, 0], 3],
];
// The IPv6 ranges that reach no public host: unspecified and loopback (within ::/96, which also
// holds the old IPv4-compatible form), unique-local, link-local, site-local, multicast,
// documentation and discard-only.
const BLOCKED_V6: [number[], number][] = [
  [[0, 0, 0, 0, 0, 0], 96],
  [[0xfc00], 7],
  [[0xfe80], 10],
  [[0xfec0], 10],
  [[0xff00], 8],
  [[0x2001, 0xdb8], 32],
  [[0x100, 0, 0, 0], 64],
];
const LOCAL_NAMES = /(^|\.)(localhost|local|internal|home\.arpa)$/;

/** Whether `value` (bytes or 16-bit groups, `width` bits each) starts with the range's first `length` bits. */
function within(value: number[], [first, length]: [number[], number], width: number): boolean {
  for (let bit = 0; bit < length; bit++) {
    const i = Math.floor(bit / width);
    const shift = width - 1 - (bit % width);
    if ((((value[i] ?? 0) >> shift) & 1) !== (((first[i] ?? 0) >> shift) & 1)) return false;
  }
  return true;
}

function blockedV4(bytes: number[]): boolean {
  return BLOCKED_V4.some((range) => within(bytes, range, 8));
}

/** An IPv6 address carrying an IPv4 one (mapped ::ffff:0:0/96, NAT64 64:ff9b::/96) is judged by that IPv4 address. */
function blockedV6(groups: number[]): boolean {
  const tail = [groups[6]! >> 8, groups[6]! & 255, groups[7]! >> 8, groups[7]! & 255];
  const mapped = groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff;
  const nat64 = groups[0] === 0x64 && groups[1] === 0xff9b && groups.slice(2, 6).every((g) => g === 0);
  if (mapped || nat64) return blockedV4(tail);
  return BLOCKED_V6.some((range) => within(groups, range, 16));
}

/** Whether a URL's host is this machine or a network production must not reach (a literal address, or a local name). */
function isPrivateOrLocal(hostname: string): boolean {
  // A name may end in the root's dot ("localhost."); an IPv6 literal comes in brackets.
  const host = hostname
    .replace(/\.+$/, "")
    .replace(/^\[|\]$/g, "")
    .toLowerCase();
  if (LOCAL_NAMES.test(host)) return true;
  // The URL parser writes every IPv4 form (decimal, octal, hex, short) as four decimal parts.
  if (/^\d+\.\d+\.\d+\.\d+$/.test(host)) return blockedV4(host.split(".").map(Number));
  const groups = host.includes(":") ? ipv6Groups(host) : null;
  return groups !== null && blockedV6(groups);
}

/**
 * Why a destination address is refused, or null. Always `https:` in production, never a private,
 * loopback or link-local address, nor credentials in the URL (they belong in the token field).
 * In development, a receiver on this machine over plain HTTP is allowed, for trying it out.
 */
export function destinationUrlProblem(raw: string, environment: string | undefined): string | null {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return "Enter the full address, starting with https://.";
  }
  if (url.username || url.password) return "Leave the user name and password out of the address.";
  const local = isPrivateOrLocal(url.hostname);
  if (environment === "development" && local && (url.protocol === "http:" || url.protocol === "https:")) return null;
  if (url.protocol !== "https:") return "The address must start with https://: audit events are never sent unencrypted.";
  if (local) return "That address is on a private or local network, which EdgeDesk does not send to. Use your SIEM's public address.";
  return null;
}

export interface NewDestination {
  name: string;
  kind: DestinationKind;
  url: string;
  /** The Splunk HEC token; an HTTPS endpoint's signing secret is made here instead. */
  splunkToken?: string | undefined;
  creatorId: string;
}

/**
 * Add a destination, with its audit entry, in one batch. It starts at the newest event stored
 * (its own "added" entry is the first it is sent). The HTTPS endpoint's signing secret is
 * returned this once.
 */
export async function addDestination(
  env: Env,
  db: Db,
  request: NewDestination,
  origin: AuditOrigin,
): Promise<{ ok: true; id: string; secret: string | null } | { ok: false; message: string }> {
  const id = newId("dst");
  const secret = request.kind === "https" ? `whsec_${randomToken(32)}` : request.splunkToken!;
  const sealed = await encryptForUser(env, id, secret);
  const room = sql`(SELECT count(*) FROM ${auditDestinations}) < ${MAX_DESTINATIONS}`;
  const [inserted] = await db.batch([
    insertWhere(
      db,
      auditDestinations,
      {
        id,
        name: request.name,
        kind: request.kind,
        url: request.url,
        sealedSecret: sealed,
        createdBy: request.creatorId,
        createdAt: origin.at,
        cursor: sql`(SELECT coalesce(max(${auditEvents.id}), 0) FROM ${auditEvents})`,
      },
      room,
    ),
    auditInsertWhere(
      db,
      {
        event: "audit_stream.added",
        portal: "agent",
        actorId: request.creatorId,
        targetId: null,
        details: { destinationId: id, name: request.name, kind: request.kind, url: request.url },
      },
      origin,
      AFTER_ONE_CHANGE,
    ),
  ]);
  if (inserted.meta.changes !== 1) return { ok: false, message: `There are already ${MAX_DESTINATIONS} destinations: remove one first.` };
  return { ok: true, id, secret: request.kind === "https" ? secret : null };
}

export function listDestinations(db: Db) {
  return db.select().from(auditDestinations).orderBy(auditDestinations.createdAt, auditDestinations.id);
}

export function findDestination(db: Db, id: string) {
  return db.select().from(auditDestinations).where(eq(auditDestinations.id, id)).get();
}

/** What waits for a destination: the oldest undelivered event's time, and how many (counted up to a bound). */
export async function backlogOf(db: Db, cursor: number): Promise<{ oldestAt: number | null; waiting: number; atLeast: boolean }> {
  const BOUND = 10_000;
  const [oldest, counted] = await db.batch([
    db.select({ at: auditEvents.at }).from(auditEvents).where(gt(auditEvents.id, cursor)).orderBy(auditEvents.id).limit(1),
    db.select({ n: count() }).from(sql`(SELECT 1 FROM ${auditEvents} WHERE ${auditEvents.id} > ${cursor} LIMIT ${BOUND})`),
  ]);
  const waiting = counted[0]?.n ?? 0;
  return { oldestAt: oldest[0]?.at ?? null, waiting, atLeast: waiting >= BOUND };
}

/** Who acts on a destination from the settings page. */
interface Actor {
  id: string;
  name: string;
}

/**
 * The admins with the authentication permission are told when a destination stops (paused or
 * removed): the SIEM itself only sees events stop, so a stolen session cannot blind it unseen.
 * The notices are stored only where the change took (each after the one before, AFTER_ONE_CHANGE).
 */
async function stoppedNotices(env: Env, db: Db, destination: Destination, how: "paused" | "removed", actor: Actor, origin: AuditOrigin) {
  const what = `${how} by ${actor.name}`;
  const notices = (await streamAdmins(env.DB)).map(
    (admin): Notice => ({
      userId: admin.id,
      to: admin.email,
      subject: `Audit log streaming to ${destination.name} was ${what}`,
      text:
        `Hello ${admin.name},\n\n${how === "removed" ? "The" : "Sending to the"} audit log streaming destination ${destination.name} ` +
        `(${destination.url}) was ${what}. Nothing more is sent there${how === "removed" ? "" : " until it is resumed"}.\n\n` +
        `If you did not expect this, check Settings > Security and Compliance > Audit log streaming and the audit log.\n`,
    }),
  );
  return queueNotices(env, db, notices, origin.at, AFTER_ONE_CHANGE);
}

/** Remove a destination (its cursor goes with it), audited and told to the admins; false when it was already gone. */
export async function removeDestination(env: Env, db: Db, destination: Destination, actor: Actor, origin: AuditOrigin) {
  const mail = await stoppedNotices(env, db, destination, "removed", actor, origin);
  const [removed] = await db.batch([
    db.delete(auditDestinations).where(eq(auditDestinations.id, destination.id)),
    auditInsertWhere(
      db,
      {
        event: "audit_stream.removed",
        portal: "agent",
        actorId: actor.id,
        targetId: null,
        details: { destinationId: destination.id, name: destination.name },
      },
      origin,
      AFTER_ONE_CHANGE,
    ),
    ...mail.statements,
  ]);
  return { changed: removed.meta.changes === 1, mail: mail.ids };
}

/** An admin pauses a destination: nothing is sent until it is resumed; audited and told to the admins. */
export async function pauseDestination(env: Env, db: Db, destination: Destination, actor: Actor, origin: AuditOrigin) {
  const mail = await stoppedNotices(env, db, destination, "paused", actor, origin);
  const [paused] = await db.batch([
    db
      .update(auditDestinations)
      .set({ pausedAt: origin.at, pausedReason: `Paused by ${actor.name}.` })
      .where(and(eq(auditDestinations.id, destination.id), isNull(auditDestinations.pausedAt))),
    auditInsertWhere(
      db,
      {
        event: "audit_stream.paused",
        portal: "agent",
        actorId: actor.id,
        targetId: null,
        details: { destinationId: destination.id, byAdmin: true },
      },
      origin,
      AFTER_ONE_CHANGE,
    ),
    ...mail.statements,
  ]);
  return { changed: paused.meta.changes === 1, mail: mail.ids };
}

/** Resume a paused destination: it is sent everything after its cursor, from the next run. */
export async function resumeDestination(_env: Env, db: Db, destination: Destination, actor: Actor, origin: AuditOrigin) {
  const id = destination.id;
  const actorId = actor.id;
  const [resumed] = await db.batch([
    db
      .update(auditDestinations)
      .set({ pausedAt: null, pausedReason: null, failingSince: null, attempts: 0, nextAttemptAt: 0 })
      .where(and(eq(auditDestinations.id, id), sql`${auditDestinations.pausedAt} IS NOT NULL`)),
    auditInsertWhere(
      db,
      { event: "audit_stream.resumed", portal: "agent", actorId, targetId: null, details: { destinationId: id, name: destination.name } },
      origin,
      AFTER_ONE_CHANGE,
    ),
  ]);
  return { changed: resumed.meta.changes === 1, mail: [] as string[] };
}

/** HMAC-SHA256 of `<timestamp>.<body>` under the destination's secret, hex: what X-EdgeDesk-Signature carries after `v1=`. */
export async function streamSignature(secret: string, timestamp: number, body: string): Promise<string> {
  const key = await crypto.subtle.importKey("raw", new TextEncoder().encode(secret), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  const mac = new Uint8Array(await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(`${timestamp}.${body}`)));
  return [...mac].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** The request carrying `events` to a destination, in its format. */
export async function deliveryRequest(destination: Destination, secret: string, events: EventRecord[], now: number): Promise<Request> {
  if (destination.kind === "splunk") {
    // HEC's event format: one JSON object per event, one after another in the body.
    const body = events
      .map((e) =>
        JSON.stringify({
          time: Date.parse(e.time_utc) / 1000,
          host: "edgedesk",
          source: "edgedesk",
          sourcetype: "edgedesk:audit",
          event: e,
        }),
      )
      .join("\n");
    return new Request(destination.url, {
      method: "POST",
      body,
      redirect: "manual",
      headers: { Authorization: `Splunk ${secret}`, "Content-Type": "application/json", "User-Agent": "EdgeDesk-Audit-Stream/1" },
    });
  }
  const body = JSON.stringify({ destination: destination.id, events });
  const timestamp = Math.floor(now / 1000);
  return new Request(destination.url, {
    method: "POST",
    body,
    // A redirect is a failure, never followed: a 302 would turn the POST into a GET whose 200
    // acknowledges nothing, and a 307 would carry the events (and a HEC token) to an address
    // nobody checked.
    redirect: "manual",
    headers: {
      "Content-Type": "application/json",
      "User-Agent": "EdgeDesk-Audit-Stream/1",
      "X-EdgeDesk-Timestamp": String(timestamp),
      "X-EdgeDesk-Signature": `v1=${await streamSignature(secret, timestamp, body)}`,
    },
  });
}

/** The start of a response's body, for the error shown to the admin: read no further than that, whatever its size. */
async function openingOf(response: Response, bytes = 200): Promise<string> {
  if (!response.body) return "";
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let read = 0;
  try {
    while (read < bytes) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      read += value.byteLength;
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
  const all = new Uint8Array(read);
  let at = 0;
  for (const chunk of chunks) {
    all.set(chunk, at);
    at += chunk.byteLength;
  }
  return new TextDecoder().decode(all.slice(0, bytes)).trim();
}

/**
 * Post one request; a 2xx is an acknowledgement, anything else (a redirect, no answer in time) a
 * failure, described. Building it is inside too: a token no header can carry fails like a refusal.
 */
async function post(send: Send, build: () => Promise<Request>, timeoutMs: number): Promise<{ ok: true } | { ok: false; error: string }> {
  try {
    const response = await send(new Request(await build(), { signal: AbortSignal.timeout(timeoutMs) }));
    const text = await openingOf(response);
    if (response.status >= 200 && response.status < 300) return { ok: true };
    if (response.status >= 300 && response.status < 400)
      return {
        ok: false,
        error: `HTTP ${response.status}: redirected to ${response.headers.get("Location") ?? "nowhere"}, which is not followed.`,
      };
    return { ok: false, error: `HTTP ${response.status}${text ? `: ${text}` : ""}` };
  } catch (error) {
    if (error instanceof Error && (error.name === "TimeoutError" || error.name === "AbortError"))
      return { ok: false, error: `No answer within ${timeoutMs / 1000} seconds.` };
    return { ok: false, error: error instanceof Error ? error.message : String(error) };
  }
}

/** The first events of a batch whose JSON stays within STREAM_BATCH_BYTES (always at least one: an event is at most a few KB). */
function withinBatchBytes(events: EventRecord[]): EventRecord[] {
  let bytes = 0;
  for (let i = 0; i < events.length; i++) {
    bytes += new TextEncoder().encode(JSON.stringify(events[i])).byteLength + 256;
    if (bytes > STREAM_BATCH_BYTES && i > 0) return events.slice(0, i);
  }
  return events;
}

/** A single made-up event, sent now to show the admin the destination works; no cursor moves. */
export async function sendTestEvent(env: Env, destination: Destination, now: number, send: Send) {
  const secret = await decryptForUser(env, destination.id, destination.sealedSecret);
  const event: EventRecord = {
    id: 0,
    time_utc: new Date(now).toISOString(),
    event: "edgedesk.test",
    description: "Test event from EdgeDesk (id 0 is never a real event)",
    portal: null,
    actor: null,
    target: null,
    ip: null,
    user_agent: null,
    details: null,
  };
  return post(send, () => deliveryRequest(destination, secret, [event], now), REQUEST_TIMEOUT_MS);
}

/** The agents who hold the authentication permission now: whom a paused destination is told to. */
async function streamAdmins(d1: D1Database): Promise<{ id: string; email: string; name: string }[]> {
  const { results } = await d1
    .prepare(
      `SELECT u.id, u.email, u.name FROM users u LEFT JOIN roles r ON r.id = u.role_id
       WHERE u.kind = 'agent' AND u.active = 1
         AND (u.role_id = ?1 OR EXISTS (SELECT 1 FROM json_each(r.permissions) WHERE value = 'manageAuthentication'))`,
    )
    .bind(ADMIN_ROLE_ID)
    .all<{ id: string; email: string; name: string }>();
  return results;
}

function pausedNotice(admin: { id: string; email: string; name: string }, destination: Destination, lastError: string): Notice {
  return {
    userId: admin.id,
    to: admin.email,
    subject: `Audit log streaming to ${destination.name} is paused`,
    text:
      `Hello ${admin.name},\n\nEdgeDesk could not deliver audit events to ${destination.name} (${destination.url}) for 24 hours, ` +
      `so it stopped trying. The last answer was: ${lastError.split(":")[0]} (the whole of it is on the settings page).\n\n` +
      `Nothing is lost: once the destination works again, resume it in ` +
      `Settings > Security and Compliance > Audit log streaming, and it is sent every event it missed (those still kept).\n`,
  };
}

export type RunResult =
  | { state: "idle" | "gone" | "paused" }
  | { state: "delivered"; events: number; lastId: number }
  | { state: "waiting"; until: number }
  | { state: "failed"; error: string; retryAt: number; paused: boolean };

/**
 * One batch to one destination: read the events after its cursor, post them, and move the cursor
 * past them only once the receiver answered 2xx (compare-and-swap on the cursor read, so a second
 * run at once cannot move it twice). On failure it backs off; failing for a day, it is paused,
 * audited and the admins emailed, in one batch.
 */
export async function deliverBatch(
  env: Env,
  db: Db,
  id: string,
  now: number,
  send: Send,
  { limit = STREAM_BATCH, timeoutMs = REQUEST_TIMEOUT_MS }: { limit?: number; timeoutMs?: number } = {},
): Promise<RunResult> {
  const destination = await findDestination(db, id);
  if (!destination) return { state: "gone" };
  if (destination.pausedAt !== null) return { state: "paused" };
  if (destination.nextAttemptAt > now) return { state: "waiting", until: destination.nextAttemptAt };
  const { rows } = await auditAfter(db, {}, destination.cursor, limit);
  if (rows.length === 0) return { state: "idle" };
  const events = withinBatchBytes(rows.map(eventRecord));
  const secret = await decryptForUser(env, id, destination.sealedSecret).catch(() => null);
  // A secret no key held can open (the previous key removed too early) fails like a refusing
  // receiver: counted, shown, and after a day paused with the admins told, not retried unseen.
  const result =
    secret === null
      ? {
          ok: false as const,
          error: "Its secret cannot be decrypted with ENCRYPTION_KEY or ENCRYPTION_KEY_PREVIOUS (docs/CONFIGURATION.md, “Key rotation”).",
        }
      : await post(send, () => deliveryRequest(destination, secret, events, now), timeoutMs);
  const lastId = (events.at(-1) as EventRecord).id;
  if (result.ok) {
    const moved = await db
      .update(auditDestinations)
      .set({ cursor: lastId, lastDeliveredAt: now, attempts: 0, failingSince: null, nextAttemptAt: 0, lastError: null })
      .where(and(eq(auditDestinations.id, id), eq(auditDestinations.cursor, destination.cursor)));
    // Removed meanwhile, or another run moved it first: this run stops, and the next looks again.
    if (moved.meta.changes !== 1) return { state: "idle" };
    return { state: "delivered", events: events.length, lastId };
  }
  const attempts = destination.attempts + 1;
  const failingSince = destination.failingSince ?? now;
  const retryAt = now + backoff(attempts);
  const pause = now - failingSince >= PAUSE_AFTER_MS;
  const failure = db
    .update(auditDestinations)
    .set({
      attempts,
      failingSince,
      lastError: result.error,
      nextAttemptAt: retryAt,
      ...(pause ? { pausedAt: now, pausedReason: "Failing for 24 hours." } : {}),
    })
    // Only over the state this run read: an admin's pause or resume meanwhile is not undone.
    .where(
      and(
        eq(auditDestinations.id, id),
        isNull(auditDestinations.pausedAt),
        eq(auditDestinations.cursor, destination.cursor),
        eq(auditDestinations.attempts, destination.attempts),
        eq(auditDestinations.nextAttemptAt, destination.nextAttemptAt),
      ),
    );
  if (!pause) {
    await failure;
    return { state: "failed", error: result.error, retryAt, paused: false };
  }
  const origin = { at: now, ip: null, userAgent: null };
  const notices = (await streamAdmins(env.DB)).map((admin) => pausedNotice(admin, destination, result.error));
  const mail = await queueNotices(
    env,
    db,
    notices,
    now,
    sql`EXISTS (SELECT 1 FROM ${auditDestinations} WHERE ${auditDestinations.id} = ${id} AND ${auditDestinations.pausedAt} = ${now})`,
  );
  await db.batch([
    failure,
    auditInsertWhere(
      db,
      {
        event: "audit_stream.paused",
        portal: "agent",
        actorId: null,
        targetId: null,
        details: { destinationId: id, name: destination.name, reason: "failing for 24 hours", lastError: result.error },
      },
      origin,
      AFTER_ONE_CHANGE,
    ),
    ...mail.statements,
  ]);
  return { state: "failed", error: result.error, retryAt, paused: true };
}

/**
 * Batches to one destination until it is caught up, fails, or the run's share is sent. When to
 * run again: at once (more is waiting), at the retry time, or null (caught up, paused or gone:
 * its object decides, src/audit/stream-do.ts).
 */
export async function drain(
  env: Env,
  db: Db,
  id: string,
  now: () => number,
  send: Send,
  { batches = BATCHES_PER_RUN, ...options }: { batches?: number; limit?: number; timeoutMs?: number } = {},
): Promise<{ delivered: number; next: number | null; last: RunResult }> {
  let delivered = 0;
  let last: RunResult = { state: "idle" };
  for (let i = 0; i < batches; i++) {
    last = await deliverBatch(env, db, id, now(), send, options);
    if (last.state !== "delivered") break;
    delivered += last.events;
  }
  const next = last.state === "delivered" ? now() : last.state === "failed" ? last.retryAt : last.state === "waiting" ? last.until : null;
  return { delivered, next, last };
}

/** The destinations the minute's run hands to their objects: every one not paused. */
export async function activeDestinationIds(db: Db): Promise<string[]> {
  const rows = await db.select({ id: auditDestinations.id }).from(auditDestinations).where(isNull(auditDestinations.pausedAt));
  return rows.map((r) => r.id);
}
