import { and, asc, eq, sql } from "drizzle-orm";
import { changedAny, type Db } from "../db";
import { recoveryCodeRequests, recoveryCodes, users } from "../db/schema";
import { insertWhere } from "../db/insert-where";
import { type AuditRecord, auditInsert } from "../audit/events";
import { AFTER_ONE_CHANGE, type Recording, recorded } from "../audit/recording";
import { newId } from "../lib/crypto";
import { newCodeRows } from "./recovery-codes";

/**
 * A person who lost their recovery codes asks for new ones at the second step (at most once every
 * two hours); an admin with "Access to Agent Recovery Code and Reset MFA" issues them, and the
 * person is shown them at their next sign-in. A request goes pending -> issued -> shown (or reset).
 */
export async function requestRecoveryCodes(db: Db, userId: string, now: number, audit?: AuditRecord): Promise<void> {
  const ask = db.insert(recoveryCodeRequests).values({ id: newId("rcr"), userId, status: "pending", createdAt: now });
  await (audit ? db.batch([ask, auditInsert(db, audit.entry, audit.origin)]) : ask);
}

export async function pendingRecoveryRequests(db: Db) {
  return (
    db
      // Aliased: two columns named "id" would collide wherever rows are mapped by name.
      .select({
        id: recoveryCodeRequests.id,
        createdAt: recoveryCodeRequests.createdAt,
        userId: sql<string>`${users.id}`.as("user_id"),
        name: users.name,
        email: users.email,
        kind: users.kind,
      })
      .from(recoveryCodeRequests)
      .innerJoin(users, eq(users.id, recoveryCodeRequests.userId))
      .where(eq(recoveryCodeRequests.status, "pending"))
      .orderBy(asc(recoveryCodeRequests.createdAt))
  );
}

/**
 * Answer a pending request with a new set of codes; the user is shown them at their next sign-in.
 * The answer, the codes, its audit row and the notice are one batch: of two admins answering at
 * once, one claims the request, and its audit row and notice are stored once.
 */
export async function issueRequestedCodes(
  env: Env,
  db: Db,
  requestId: string,
  adminId: string,
  now: number,
  record: Recording<{ userId: string }>,
): Promise<{ ok: true; userId: string; mailIds: string[] } | { ok: false; message: string }> {
  const request = await db
    .select({ userId: recoveryCodeRequests.userId })
    .from(recoveryCodeRequests)
    .where(and(eq(recoveryCodeRequests.id, requestId), eq(recoveryCodeRequests.status, "pending")))
    .get();
  if (!request) return { ok: false, message: ALREADY_ANSWERED };
  const { userId } = request;
  const ours = sql`EXISTS (SELECT 1 FROM recovery_code_requests WHERE id = ${requestId} AND status = 'issued' AND resolved_by = ${adminId} AND resolved_at = ${now})`;
  const { rows } = await newCodeRows(env, userId, now);
  // The claim's records right after it (only the winning claim changed a row); the codes where the
  // request is answered (a second press by the same admin in the same millisecond replaces them,
  // which leaves one set all the same).
  const told = await recorded(env, db, record, { userId }, now, AFTER_ONE_CHANGE);
  const [claimed] = await db.batch([
    db
      .update(recoveryCodeRequests)
      .set({ status: "issued", resolvedBy: adminId, resolvedAt: now })
      .where(and(eq(recoveryCodeRequests.id, requestId), eq(recoveryCodeRequests.status, "pending"))),
    ...told.statements,
    db.delete(recoveryCodes).where(and(eq(recoveryCodes.userId, userId), ours)),
    ...rows.map((row) => insertWhere(db, recoveryCodes, row, ours)),
  ]);
  if (!changedAny(claimed)) return { ok: false, message: ALREADY_ANSWERED };
  return { ok: true, userId, mailIds: told.ids };
}

const ALREADY_ANSWERED = "That request was already answered.";

/** True when an admin issued codes this user has not been shown yet. */
export async function hasIssuedCodesToShow(db: Db, userId: string): Promise<boolean> {
  const row = await db
    .select({ id: recoveryCodeRequests.id })
    .from(recoveryCodeRequests)
    .where(and(eq(recoveryCodeRequests.userId, userId), eq(recoveryCodeRequests.status, "issued")))
    .get();
  return !!row;
}

export async function markIssuedCodesShown(db: Db, userId: string): Promise<void> {
  await db
    .update(recoveryCodeRequests)
    .set({ status: "shown" })
    .where(and(eq(recoveryCodeRequests.userId, userId), eq(recoveryCodeRequests.status, "issued")));
}
