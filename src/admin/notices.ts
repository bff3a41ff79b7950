// Role grants, permission changes, and an admin setting someone's password or email are told to
// the person they touch, so a change made behind their back does not stay unseen. These build the
// notices; the routes store them in the outbox with the audit row of the change
// (src/mail/outbox.ts `recordAuditWithNotices`).
import type { Notice } from "../mail/outbox";
import { type Portal, portalLabel } from "../portal/policy";

interface Person {
  id: string;
  email: string;
  name: string;
}

function notice(person: Person, subject: string, body: string): Notice {
  return {
    userId: person.id,
    to: person.email,
    subject,
    text: `Hello ${person.name},\n\n${body}\nIf you did not expect this, tell your security team straight away.\n`,
  };
}

export function roleChangedNotice(person: Person, roleName: string, admin: { name: string }): Notice {
  return notice(person, "Your EdgeDesk role changed", `${admin.name} gave you the role ${roleName} in the EdgeDesk agent portal.\n`);
}

export function rolePermissionsChangedNotice(person: Person, roleName: string, admin: { name: string }): Notice {
  return notice(
    person,
    "The permissions of your EdgeDesk role changed",
    `${admin.name} changed what the role ${roleName}, which you hold, may do in the EdgeDesk agent portal.\n`,
  );
}

/** Sent to the old address and the new one, so whoever held the account before hears of it. */
export function emailChangedNotices(person: Person, oldEmail: string, admin: { name: string }): Notice[] {
  const body = `${admin.name} changed the email of your EdgeDesk account from ${oldEmail} to ${person.email}.\n`;
  return [
    notice({ ...person, email: oldEmail }, "The email of your EdgeDesk account changed", body),
    notice(person, "The email of your EdgeDesk account changed", body),
  ];
}

export function passwordSetByAdminNotice(person: Person, admin: { name: string }): Notice {
  return notice(
    person,
    "Your EdgeDesk password was set by an administrator",
    `${admin.name} set a new password for your EdgeDesk account, which signs you out everywhere.\n`,
  );
}

/** An admin removed one passkey or forgot one remembered device of this person. */
export function secondFactorRemovedNotice(person: Person, what: string, admin: { name: string }, reason?: string): Notice {
  const why = reason ? `, giving this reason:\n\n${reason}\n` : ".\n";
  return notice(person, "An administrator changed your EdgeDesk sign-in", `${admin.name} removed ${what} from your EdgeDesk account${why}`);
}

/** The invitation itself, for people who have a mailbox (the admin also sees the link once). */
export function ssoInvitedNotice(person: Person, portal: Portal, link: string, expiresAt: number, admin: { name: string }): Notice {
  const until = new Date(expiresAt).toUTCString();
  return {
    ...notice(
      person,
      "Sign in to EdgeDesk with your Microsoft account",
      `${admin.name} invited you to sign in to the EdgeDesk ${portalLabel(portal).toLowerCase()} with your Microsoft account. Open this link and sign ` +
        `in with the Microsoft account you use for work:\n\n${link}\n\nIt works once, until ${until}. After that, "Sign in with Microsoft" signs you in.\n`,
    ),
    expiresAt,
  };
}

/** A Microsoft account was linked through an invitation, so a link passed to the wrong person is noticed. */
export function ssoLinkedNotice(person: Person, portal: Portal): Notice {
  return notice(
    person,
    "A Microsoft account was linked to your EdgeDesk account",
    `A Microsoft account was linked to your EdgeDesk ${portalLabel(portal).toLowerCase()} account through an invitation, and can now sign in as you.\n`,
  );
}

/** Signed out by an administrator: who did it, why, and where (so a person can tell it from a stolen session's end). */
export function signedOutByAdminNotice(person: Person, admin: { name: string }, reason: string, where: string): Notice {
  return notice(
    person,
    "An administrator signed you out of EdgeDesk",
    `${admin.name} signed you out of ${where} on EdgeDesk, giving this reason:\n\n${reason}\n\nSign in again to carry on.\n`,
  );
}
