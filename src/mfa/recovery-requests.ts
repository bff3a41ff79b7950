import { and, asc, eq, sql } from "drizzle-orm";
import type { Db } from "../db";
import { recoveryCodeRequests, users } from "../db/schema";
import { newId } from "../lib/crypto";
import { generateRecoveryCodes } from "./recovery-codes";

/**
 * A person who lost their recovery codes asks for new ones at the second step (at most once every
 * two hours); an admin with "Access to Agent Recovery Code and Reset MFA" issues them, and the
 * person is shown them at their next sign-in. A request goes pending -> issued -> shown (or reset).
 */
export async function requestRecoveryCodes(db: Db, userId: string, now: number): Promise<void> {
  await db.insert(recoveryCodeRequests).values({ id: newId("rcr"), userId, status: "pending", createdAt: now });
}

export async function pendingRecoveryRequests(db: Db) {
  return db
    // Aliased: two columns named "id" would collide wherever rows are mapped by name (issue 17.1).
    .select({ id: recoveryCodeRequests.id, createdAt: recoveryCodeRequests.createdAt, userId: sql<string>`${users.id}`.as("user_id"), name: users.name, email: users.email, kind: users.kind })
    .from(recoveryCodeRequests)
    .innerJoin(users, eq(users.id, recoveryCodeRequests.userId))
    .where(eq(recoveryCodeRequests.status, "pending"))
    .orderBy(asc(recoveryCodeRequests.createdAt));
}

/** Answer a pending request with a new set of codes; the user is shown them at their next sign-in. */
export async function issueRequestedCodes(env: Env, db: Db, requestId: string, adminId: string, now: number): Promise<{ ok: true; userId: string } | { ok: false; message: string }> {
  const claimed = await db
    .update(recoveryCodeRequests)
    .set({ status: "issued", resolvedBy: adminId, resolvedAt: now })
    .where(and(eq(recoveryCodeRequests.id, requestId), eq(recoveryCodeRequests.status, "pending")))
    .returning({ userId: recoveryCodeRequests.userId });
  const userId = claimed[0]?.userId;
  if (!userId) return { ok: false, message: "That request was already answered." };
  await generateRecoveryCodes(env, db, userId, now);
  return { ok: true, userId };
}

/** True when an admin issued codes this user has not been shown yet. */
export async function hasIssuedCodesToShow(db: Db, userId: string): Promise<boolean> {
  const row = await db.select({ id: recoveryCodeRequests.id }).from(recoveryCodeRequests).where(and(eq(recoveryCodeRequests.userId, userId), eq(recoveryCodeRequests.status, "issued"))).get();
  return !!row;
}

export async function markIssuedCodesShown(db: Db, userId: string): Promise<void> {
  await db.update(recoveryCodeRequests).set({ status: "shown" }).where(and(eq(recoveryCodeRequests.userId, userId), eq(recoveryCodeRequests.status, "issued")));
}
