// Issue 15: role grants, permission changes, and an admin setting someone's password or email are
// told to the person they touch, so a change made behind their back does not stay unseen.
import { sendMail } from "../mail/mailer";
import { type Portal, portalLabel } from "../portal/policy";

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

/** Issue 18.2: the invitation itself, for people who have a mailbox (the admin also sees the link once). */
export function notifySsoInvited(env: Env, person: Person, portal: Portal, link: string, expiresAt: number, admin: Person, now: number) {
  const until = new Date(expiresAt).toUTCString();
  return sendMail(
    env,
    mail(
      person,
      "Sign in to EdgeDesk with your Microsoft account",
      `${admin.name} invited you to sign in to the EdgeDesk ${portalLabel(portal).toLowerCase()} with your Microsoft account. Open this link and sign in with the Microsoft account you use for work:\n\n${link}\n\nIt works once, until ${until}. After that, "Sign in with Microsoft" signs you in.\n`,
    ),
    now,
  );
}

/** Issue 18.2: a Microsoft account was linked through an invitation, so a link passed to the wrong person is noticed. */
export function notifySsoLinked(env: Env, person: Person, portal: Portal, now: number) {
  return sendMail(
    env,
    mail(person, "A Microsoft account was linked to your EdgeDesk account", `A Microsoft account was linked to your EdgeDesk ${portalLabel(portal).toLowerCase()} account through an invitation, and can now sign in as you.\n`),
    now,
  );
}
