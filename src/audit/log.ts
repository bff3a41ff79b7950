import { and, asc, desc, eq, gt, gte, inArray, lt, or, type SQL, sql } from "drizzle-orm";
import { alias } from "drizzle-orm/sqlite-core";
import type { Db } from "../db";
import { auditEvents, removedPeople, users } from "../db/schema";
import { DAY } from "../lib/clock";
import { normalizeEmail } from "../auth/users";
import { AUDIT_EVENTS, type AuditEvent } from "./events";

export interface AuditFilter {
  event?: AuditEvent | undefined;
  /** An email: events where that person is the actor or the target. */
  user?: string | undefined;
  /** YYYY-MM-DD, inclusive, UTC. */
  from?: string | undefined;
  to?: string | undefined;
  /** Milliseconds since the epoch: at or after `since`, before `until` (the API's ISO times). */
  since?: number | undefined;
  until?: number | undefined;
}

export const AUDIT_PAGE_SIZE = 50;

async function conditions(db: Db, filter: AuditFilter): Promise<SQL | undefined> {
  const parts: (SQL | undefined)[] = [];
  if (filter.event) parts.push(eq(auditEvents.event, filter.event));
  if (filter.from) parts.push(gte(auditEvents.at, Date.parse(`${filter.from}T00:00:00Z`)));
  if (filter.to) parts.push(lt(auditEvents.at, Date.parse(`${filter.to}T00:00:00Z`) + DAY));
  if (filter.since !== undefined) parts.push(gte(auditEvents.at, filter.since));
  if (filter.until !== undefined) parts.push(lt(auditEvents.at, filter.until));
  if (filter.user) {
    // An email, or the pseudonym of a removed person, whichever case it is typed in.
    const [people, removed] = await db.batch([
      db
        .select({ id: users.id })
        .from(users)
        .where(eq(users.email, normalizeEmail(filter.user))),
      db
        .select({ id: removedPeople.id })
        .from(removedPeople)
        .where(sql`lower(${removedPeople.pseudonym}) = ${filter.user.trim().toLowerCase()}`),
    ]);
    const ids = [...people, ...removed].map((u) => u.id);
    parts.push(ids.length ? or(inArray(auditEvents.actorId, ids), inArray(auditEvents.targetId, ids)) : eq(auditEvents.id, -1));
  }
  return and(...parts);
}

/** Events with the people named: an email, or a removed person's pseudonym. */
function eventsWithPeople(db: Db) {
  const actor = alias(users, "actor");
  const target = alias(users, "target");
  const removedActor = alias(removedPeople, "removed_actor");
  const removedTarget = alias(removedPeople, "removed_target");
  return db
    .select({
      id: auditEvents.id,
      at: auditEvents.at,
      event: auditEvents.event,
      portal: auditEvents.portal,
      ip: auditEvents.ip,
      userAgent: auditEvents.userAgent,
      details: auditEvents.details,
      // Aliased: two columns named "email" would collide wherever rows are mapped by name.
      actor: sql<string | null>`coalesce(${actor.email}, ${removedActor.pseudonym})`.as("actor_email"),
      target: sql<string | null>`coalesce(${target.email}, ${removedTarget.pseudonym})`.as("target_email"),
    })
    .from(auditEvents)
    .leftJoin(actor, eq(actor.id, auditEvents.actorId))
    .leftJoin(target, eq(target.id, auditEvents.targetId))
    .leftJoin(removedActor, eq(removedActor.id, auditEvents.actorId))
    .leftJoin(removedTarget, eq(removedTarget.id, auditEvents.targetId));
}

export type AuditRow = Awaited<ReturnType<typeof searchAudit>>["rows"][number];

/** Newest first; `limit + 1` rows are read so the page knows whether another follows. */
export async function searchAudit(db: Db, filter: AuditFilter, page: number, limit = AUDIT_PAGE_SIZE) {
  const rows = await eventsWithPeople(db)
    .where(await conditions(db, filter))
    .orderBy(desc(auditEvents.id))
    .limit(limit + 1)
    .offset((page - 1) * limit);
  return { rows: rows.slice(0, limit), hasMore: rows.length > limit };
}

/**
 * Oldest first, after the event `after` (0: from the first kept): the order events were stored
 * in, which is the order of their ids (D1 writes one transaction at a time, and an id is given at
 * the write), so a reader that pages by the last id it saw never misses one stored later.
 */
export async function auditAfter(db: Db, filter: AuditFilter, after: number, limit: number) {
  const rows = await eventsWithPeople(db)
    .where(and(gt(auditEvents.id, after), await conditions(db, filter)))
    .orderBy(asc(auditEvents.id))
    .limit(limit + 1);
  return { rows: rows.slice(0, limit), hasMore: rows.length > limit };
}

/** One event as the API, the streams and the CSV give it: the CSV's fields, and the id to drop duplicates by. */
export interface EventRecord {
  id: number;
  time_utc: string;
  event: string;
  description: string;
  portal: string | null;
  actor: string | null;
  target: string | null;
  ip: string | null;
  user_agent: string | null;
  details: unknown;
}

export function eventRecord(row: AuditRow): EventRecord {
  return {
    id: row.id,
    time_utc: new Date(row.at).toISOString(),
    event: row.event,
    description: (AUDIT_EVENTS as Record<string, string>)[row.event] ?? row.event,
    portal: row.portal,
    actor: row.actor,
    target: row.target,
    ip: row.ip,
    user_agent: row.userAgent,
    details: row.details ?? null,
  };
}

/** One CSV cell. A leading = + - @ is neutralised so a spreadsheet never runs it as a formula. */
export function csvCell(value: unknown): string {
  let text = value === null || value === undefined ? "" : typeof value === "object" ? JSON.stringify(value) : String(value);
  if (/^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\n\r]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}
