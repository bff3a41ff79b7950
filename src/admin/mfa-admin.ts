import { and, asc, eq, sql } from "drizzle-orm";
import type { Db } from "../db";
import { passkeys, recoveryCodeRequests, recoveryCodes, totpCredentials, users } from "../db/schema";
import { endAllSessionsOfUser, userStub } from "../auth/sessions";
import { newId } from "../lib/crypto";
import { sendMail } from "../mail/mailer";
import { generateRecoveryCodes } from "../mfa/recovery-codes";
import { portalLabel, portalOfKind } from "../portal/policy";

interface Person {
  id: string;
  email: string;
  name: string;
  kind: "agent" | "contact";
}

/**
 * SECURITY.md 17: remove a user's authenticator, passkeys and recovery codes in one transaction, end all
 * their sessions, and tell them. With the app required, their next sign-in enrolls again.
 */
export async function resetMfa(env: Env, db: Db, target: Person, admin: { name: string }, now: number): Promise<void> {
  await db.batch([
    db.delete(totpCredentials).where(eq(totpCredentials.userId, target.id)),
    db.delete(recoveryCodes).where(eq(recoveryCodes.userId, target.id)),
    db.delete(passkeys).where(eq(passkeys.userId, target.id)),
    db.update(recoveryCodeRequests).set({ status: "reset", resolvedAt: now }).where(and(eq(recoveryCodeRequests.userId, target.id), eq(recoveryCodeRequests.status, "pending"))),
  ]);
  await endAllSessionsOfUser(env, target.id);
  await userStub(env, target.id).forgetAllDevices();
  await sendMail(
    env,
    {
      to: target.email,
      subject: "Your EdgeDesk two-step verification was reset",
      text:
        `Hello ${target.name},\n\n${admin.name} reset the two-step verification of your EdgeDesk account and signed you out everywhere.\n` +
        `At your next sign-in to the ${portalLabel(portalOfKind(target.kind)).toLowerCase()} you will set up your authenticator app again.\n` +
        `If you did not ask for this, contact your administrator straight away.\n`,
    },
    now,
  );
}

/** SECURITY.md 11: the agent hears every time an admin looks at their codes. */
export async function notifyRecoveryCodesViewed(env: Env, target: Person, admin: { name: string }, now: number): Promise<void> {
  await sendMail(
    env,
    {
      to: target.email,
      subject: "An administrator viewed your EdgeDesk recovery codes",
      text: `Hello ${target.name},\n\n${admin.name} viewed your recovery codes. If you did not expect this, generate new codes from My account and tell your security team.\n`,
    },
    now,
  );
}

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

/** True when an admin issued codes this user has not seen yet; marks them seen when `markShown`. */
export async function hasIssuedCodesToShow(db: Db, userId: string): Promise<boolean> {
  const row = await db.select({ id: recoveryCodeRequests.id }).from(recoveryCodeRequests).where(and(eq(recoveryCodeRequests.userId, userId), eq(recoveryCodeRequests.status, "issued"))).get();
  return !!row;
}

export async function markIssuedCodesShown(db: Db, userId: string): Promise<void> {
  await db.update(recoveryCodeRequests).set({ status: "shown" }).where(and(eq(recoveryCodeRequests.userId, userId), eq(recoveryCodeRequests.status, "issued")));
}
