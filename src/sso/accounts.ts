import { and, eq } from "drizzle-orm";
import type { Db } from "../db";
import { ssoIdentities, users, type User } from "../db/schema";
import { findUserByEmail, newUserRow } from "../auth/users";
import { kindOfPortal, type Portal } from "../portal/policy";
import type { EntraIdentity } from "./oidc";

export type LinkResult = { ok: true; user: User } | { ok: false; message: string };

/**
 * The user behind an Entra identity. An identity already linked (tenant id, object id) signs in
 * as its user. A new identity links only through an email Microsoft marks as verified, and never
 * to a user already linked to another identity, so changing the email on some other account
 * cannot take this one over (SECURITY.md 25). Agents are never created by SSO; contacts are.
 */
/** The user an Entra identity (tenant id, object id) is already linked to, if any. */
export async function findLinkedUser(db: Db, portal: Portal, identity: Pick<EntraIdentity, "tenantId" | "objectId">): Promise<User | null> {
  const linked = await db
    .select({ user: users })
    .from(ssoIdentities)
    .innerJoin(users, eq(users.id, ssoIdentities.userId))
    .where(
      and(
        eq(ssoIdentities.tenantId, identity.tenantId),
        eq(ssoIdentities.objectId, identity.objectId),
        eq(users.kind, kindOfPortal(portal)),
      ),
    )
    .get();
  return linked?.user ?? null;
}

export async function findOrLinkUser(db: Db, portal: Portal, identity: EntraIdentity, now: number): Promise<LinkResult> {
  const kind = kindOfPortal(portal);
  const linked = await findLinkedUser(db, portal, identity).then((user) => (user ? { user } : null));
  if (linked)
    return linked.user.active
      ? { ok: true, user: linked.user }
      : { ok: false, message: "This account is disabled. Ask your administrator to enable it." };

  const noAccount =
    kind === "agent"
      ? "There is no EdgeDesk agent account for this Microsoft account. Ask your administrator to add you."
      : "We could not match this Microsoft account to a support account.";
  if (!identity.verifiedEmail) return { ok: false, message: `${noAccount} (Microsoft did not share a verified email address.)` };

  const existing = await findUserByEmail(db, kind, identity.verifiedEmail);
  if (existing) {
    if (!existing.active) return { ok: false, message: "This account is disabled. Ask your administrator to enable it." };
    const other = await db.select().from(ssoIdentities).where(eq(ssoIdentities.userId, existing.id)).get();
    if (other) return { ok: false, message: "This EdgeDesk account is already linked to a different Microsoft account." };
    await db
      .insert(ssoIdentities)
      .values({ tenantId: identity.tenantId, objectId: identity.objectId, userId: existing.id, createdAt: now });
    return { ok: true, user: existing };
  }
  if (kind === "agent") return { ok: false, message: noAccount };

  const contact = newUserRow({
    kind: "contact",
    email: identity.verifiedEmail,
    name: identity.name,
    passwordHash: null,
    roleId: null,
    now,
  });
  await db.batch([
    db.insert(users).values(contact),
    db.insert(ssoIdentities).values({ tenantId: identity.tenantId, objectId: identity.objectId, userId: contact.id, createdAt: now }),
  ]);
  return { ok: true, user: (await findUserByEmail(db, "contact", identity.verifiedEmail))! };
}
