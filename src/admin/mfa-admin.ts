import { and, eq } from "drizzle-orm";
import type { Db } from "../db";
import { passkeys, recoveryCodeRequests, recoveryCodes, totpCredentials } from "../db/schema";
import { endAllSessionsOfUser, userStub } from "../auth/sessions";
import { sendMail } from "../mail/mailer";
import { deleteAccessPasses } from "../mfa/access-pass";
import { portalLabel, portalOfKind } from "../portal/policy";

interface Person {
  id: string;
  email: string;
  name: string;
  kind: "agent" | "contact";
}

/**
 * SECURITY.md 17: remove a user's authenticator, passkeys, recovery codes and temporary access pass in one transaction, end all
 * their sessions, and tell them. With the app required, their next sign-in enrolls again.
 */
export async function resetMfa(env: Env, db: Db, target: Person, admin: { name: string }, now: number): Promise<void> {
  await db.batch([
    db.delete(totpCredentials).where(eq(totpCredentials.userId, target.id)),
    db.delete(recoveryCodes).where(eq(recoveryCodes.userId, target.id)),
    db.delete(passkeys).where(eq(passkeys.userId, target.id)),
    deleteAccessPasses(db, target.id),
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
