import { and, desc, eq, gte, inArray, lt, or, type SQL, sql } from "drizzle-orm";
import { alias } from "drizzle-orm/sqlite-core";
import type { Db } from "../db";
import { auditEvents, removedPeople, users } from "../db/schema";
import { DAY } from "../lib/clock";
import { normalizeEmail } from "../auth/users";
import type { AuditEvent } from "./events";

export interface AuditFilter {
  event?: AuditEvent | undefined;
  /** An email: events where that person is the actor or the target. */
  user?: string | undefined;
  /** YYYY-MM-DD, inclusive, UTC. */
  from?: string | undefined;
  to?: string | undefined;
}

export const AUDIT_PAGE_SIZE = 50;

async function conditions(db: Db, filter: AuditFilter): Promise<SQL | undefined> {
  const parts: (SQL | undefined)[] = [];
  if (filter.event) parts.push(eq(auditEvents.event, filter.event));
  if (filter.from) parts.push(gte(auditEvents.at, Date.parse(`${filter.from}T00:00:00Z`)));
  if (filter.to) parts.push(lt(auditEvents.at, Date.parse(`${filter.to}T00:00:00Z`) + DAY));
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

/** Newest first; `limit + 1` rows are read so the page knows whether another follows. */
export async function searchAudit(db: Db, filter: AuditFilter, page: number, limit = AUDIT_PAGE_SIZE) {
  const actor = alias(users, "actor");
  const target = alias(users, "target");
  const removedActor = alias(removedPeople, "removed_actor");
  const removedTarget = alias(removedPeople, "removed_target");
  const rows = await db
    .select({
      id: auditEvents.id,
      at: auditEvents.at,
      event: auditEvents.event,
      portal: auditEvents.portal,
      ip: auditEvents.ip,
      userAgent: auditEvents.userAgent,
      details: auditEvents.details,
      // Aliased: two columns named "email" would collide wherever rows are mapped by name.
      // A removed person appears under their pseudonym.
      actor: sql<string | null>`coalesce(${actor.email}, ${removedActor.pseudonym})`.as("actor_email"),
      target: sql<string | null>`coalesce(${target.email}, ${removedTarget.pseudonym})`.as("target_email"),
    })
    .from(auditEvents)
    .leftJoin(actor, eq(actor.id, auditEvents.actorId))
    .leftJoin(target, eq(target.id, auditEvents.targetId))
    .leftJoin(removedActor, eq(removedActor.id, auditEvents.actorId))
    .leftJoin(removedTarget, eq(removedTarget.id, auditEvents.targetId))
    .where(await conditions(db, filter))
    .orderBy(desc(auditEvents.id))
    .limit(limit + 1)
    .offset((page - 1) * limit);
  return { rows: rows.slice(0, limit), hasMore: rows.length > limit };
}

/** One CSV cell. A leading = + - @ is neutralised so a spreadsheet never runs it as a formula. */
export function csvCell(value: unknown): string {
  let text = value === null || value === undefined ? "" : typeof value === "object" ? JSON.stringify(value) : String(value);
  if (/^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\n\r]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}
