import { and, eq } from "drizzle-orm";
import type { Db } from "../db";
import { passkeys, recoveryCodeRequests, recoveryCodes, totpCredentials } from "../db/schema";
import { endAllSessionsOfUser } from "../auth/sessions";
import { userStub } from "../auth/user-object";
import { type AuditOrigin, auditInsert } from "../audit/events";
import { type Notice, storeWithNotices } from "../mail/outbox";
import { deleteAccessPasses } from "../factors/access-pass";
import { portalLabel, portalOfKind } from "../portal/policy";

interface Person {
  id: string;
  email: string;
  name: string;
  kind: "agent" | "contact";
}

/**
 * SECURITY.md 17: remove a user's authenticator, passkeys, recovery codes and temporary access
 * pass in one transaction with its audit row and the notice to them, then end all their sessions.
 * With the app required, their next sign-in enrolls again. The notice's outbox id, to send.
 */
export async function resetMfa(
  env: Env,
  db: Db,
  target: Person,
  admin: { id: string; name: string },
  origin: AuditOrigin,
): Promise<string[]> {
  const now = origin.at;
  const notice: Notice = {
    userId: target.id,
    to: target.email,
    subject: "Your EdgeDesk two-step verification was reset",
    text:
      `Hello ${target.name},\n\n${admin.name} reset the two-step verification of your EdgeDesk account, which signs you out everywhere.\n` +
      `At your next sign-in to the ${portalLabel(portalOfKind(target.kind)).toLowerCase()} you will set up your authenticator app again.\n` +
      `If you did not ask for this, contact your administrator straight away.\n`,
  };
  const queued = await storeWithNotices(
    env,
    db,
    [
      db.delete(totpCredentials).where(eq(totpCredentials.userId, target.id)),
      db.delete(recoveryCodes).where(eq(recoveryCodes.userId, target.id)),
      db.delete(passkeys).where(eq(passkeys.userId, target.id)),
      deleteAccessPasses(db, target.id),
      db
        .update(recoveryCodeRequests)
        .set({ status: "reset", resolvedAt: now })
        .where(and(eq(recoveryCodeRequests.userId, target.id), eq(recoveryCodeRequests.status, "pending"))),
      auditInsert(db, { event: "mfa.reset", portal: portalOfKind(target.kind), actorId: admin.id, targetId: target.id }, origin),
    ],
    [notice],
    now,
  );
  await endAllSessionsOfUser(env, target.id);
  await userStub(env, target.id).forgetAllDevices();
  return queued;
}

/** New recovery codes are a new way in: the person hears that an admin issued them. */
export function recoveryCodesIssuedNotice(target: Pick<Person, "id" | "email" | "name">, admin: { name: string }): Notice {
  return {
    userId: target.id,
    to: target.email,
    subject: "New EdgeDesk recovery codes were issued for you",
    text:
      `Hello ${target.name},\n\n${admin.name} issued new recovery codes for your EdgeDesk account, as you asked. You will see them at your next ` +
      `sign-in; your earlier codes no longer work.\nIf you did not ask for new codes, tell your security team straight away.\n`,
  };
}

/** SECURITY.md 11: the agent hears every time an admin looks at their codes. */
export function recoveryCodesViewedNotice(target: Person, admin: { name: string }): Notice {
  return {
    userId: target.id,
    to: target.email,
    subject: "An administrator viewed your EdgeDesk recovery codes",
    text: `Hello ${target.name},\n\n${admin.name} viewed your recovery codes. If you did not expect this, generate new codes from My account and tell your security team.\n`,
  };
}
