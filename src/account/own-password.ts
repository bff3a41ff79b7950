// A person's change of their own password, from My account or at the end of a sign-in whose
// password expired: what is stored with it, and what follows it for their sessions.
import type { Context } from "hono";
import type { Auth } from "../access/auth";
import type { AppEnv } from "../app-env";
import { auditInsert, auditOriginOf } from "../audit/audit";
import { endAllSessionsOfUser, rotateSession } from "../auth/sessions";
import type { Db } from "../db";
import { utcMinute } from "../lib/clock";
import { sendAfterResponse } from "../mail/notify";
import { type Notice, queueNotices } from "../mail/outbox";
import { passwordField } from "../lib/validation";
import { portalLabel } from "../portal/policy";

/** A new password, typed twice: the fields of every form that sets one's own password. */
export const newPasswordFields = {
  password: passwordField("a new password"),
  confirm: passwordField("the new password again"),
};
export const matching = { message: "The two new passwords do not match.", path: ["confirm"] };

/**
 * A person's own password change is stored with its audit row and a notice to them: someone
 * holding a session of theirs could otherwise change it unseen.
 */
export async function changedOwnPassword(c: Context<AppEnv>, db: Db, auth: Auth, user: { id: string; email: string; name: string }) {
  const origin = auditOriginOf(c);
  const notice: Notice = {
    userId: user.id,
    to: user.email,
    subject: "Your EdgeDesk password was changed",
    text:
      `Hello ${user.name},\n\nThe password of your account on the EdgeDesk ${portalLabel(auth.portal).toLowerCase()} was just changed ` +
      `(${utcMinute(origin.at)}, from ${origin.ip ?? "an unknown address"}). A new password signs out your other sessions.\n` +
      `If this was not you, reset your password from the sign-in page and tell your administrator straight away.\n`,
  };
  const mail = await queueNotices(c.env, db, [notice], origin.at);
  return {
    statements: [auditInsert(db, { event: "password.changed", portal: auth.portal, actorId: user.id }, origin), ...mail.statements],
    ids: mail.ids,
  };
}

/** After any password change: a new token for this session (SECURITY.md 13), every other session ended (16). */
export async function finishPasswordChange(c: Context<AppEnv>, auth: Auth, proved: boolean, mailIds: string[]): Promise<void> {
  const sessionId = await rotateSession(c, auth, { stage: "full", reauthenticated: true, proved });
  await endAllSessionsOfUser(c.env, auth.user.id, sessionId ?? undefined);
  await sendAfterResponse(c, mailIds);
}
