// A person's change of their own password, from My account or at the end of a sign-in whose
// password expired: what is stored with it (what follows for their sessions is
// src/request/session-cookie.ts's finishPasswordChange).
import { type AuditOrigin, auditInsert } from "../audit/events";
import type { Db } from "../db";
import { utcMinute } from "../lib/clock";
import { type Notice, queueNotices } from "../mail/outbox";
import { passwordField } from "../lib/fields";
import { type Portal, portalLabel } from "../portal/policy";

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
export async function changedOwnPassword(
  env: Env,
  db: Db,
  portal: Portal,
  user: { id: string; email: string; name: string },
  origin: AuditOrigin,
) {
  const notice: Notice = {
    userId: user.id,
    to: user.email,
    subject: "Your EdgeDesk password was changed",
    text:
      `Hello ${user.name},\n\nThe password of your account on the EdgeDesk ${portalLabel(portal).toLowerCase()} was just changed ` +
      `(${utcMinute(origin.at)}, from ${origin.ip ?? "an unknown address"}). A new password signs out your other sessions.\n` +
      `If this was not you, reset your password from the sign-in page and tell your administrator straight away.\n`,
  };
  const mail = await queueNotices(env, db, [notice], origin.at);
  return {
    statements: [auditInsert(db, { event: "password.changed", portal, actorId: user.id }, origin), ...mail.statements],
    ids: mail.ids,
  };
}
