// Issue 15: role grants, permission changes, and an admin setting someone's password or email are
// told to the person they touch, so a change made behind their back does not stay unseen.
import { sendMail } from "../mail/mailer";

interface Person {
  email: string;
  name: string;
}

function mail(person: Person, subject: string, body: string) {
  return {
    to: person.email,
    subject,
    text: `Hello ${person.name},\n\n${body}\nIf you did not expect this, tell your security team straight away.\n`,
  };
}

export function notifyRoleChanged(env: Env, person: Person, roleName: string, admin: Person, now: number) {
  return sendMail(env, mail(person, "Your EdgeDesk role changed", `${admin.name} gave you the role ${roleName} in the EdgeDesk agent portal.\n`), now);
}

export function notifyRolePermissionsChanged(env: Env, person: Person, roleName: string, admin: Person, now: number) {
  return sendMail(env, mail(person, "The permissions of your EdgeDesk role changed", `${admin.name} changed what the role ${roleName}, which you hold, may do in the EdgeDesk agent portal.\n`), now);
}

/** Sent to the old address and the new one, so whoever held the account before hears of it. */
export async function notifyEmailChanged(env: Env, person: Person, oldEmail: string, admin: Person, now: number) {
  const body = `${admin.name} changed the email of your EdgeDesk account from ${oldEmail} to ${person.email}.\n`;
  await sendMail(env, mail({ ...person, email: oldEmail }, "The email of your EdgeDesk account changed", body), now);
  await sendMail(env, mail(person, "The email of your EdgeDesk account changed", body), now);
}

export function notifyPasswordSetByAdmin(env: Env, person: Person, admin: Person, now: number) {
  return sendMail(env, mail(person, "Your EdgeDesk password was set by an administrator", `${admin.name} set a new password for your EdgeDesk account and signed you out everywhere.\n`), now);
}

/** An admin removed one passkey or forgot one remembered device of this person. */
export function notifySecondFactorRemoved(env: Env, person: Person, what: string, admin: Person, now: number) {
  return sendMail(env, mail(person, "An administrator changed your EdgeDesk sign-in", `${admin.name} removed ${what} from your EdgeDesk account.\n`), now);
}
