// "Invite to sign in with Microsoft". Entra leaves `email` out for people without a
// mailbox and sends `xms_edov` only when configured, so some people can never link by email. An
// admin issues a one-time link (emailed, and shown once to pass on); the person signs in with
// Microsoft through it and that Microsoft account's (tenant id, object id) is bound to theirs. The
// rule that an unverified email never links is untouched: this path uses no email at all.
import { and, eq, gt, isNull, sql } from "drizzle-orm";
import type { Db } from "../db";
import { ssoIdentities, ssoInvitations, users, type User } from "../db/schema";
import { HOUR } from "../lib/clock";
import { newId, randomToken, sha256Hex } from "../lib/crypto";
import type { EntraIdentity } from "./oidc";
import { AFTER_ONE_CHANGE, type Recording, recorded } from "../audit/recording";

export const INVITATION_LIFETIME_MS = 72 * HOUR;
export const INVITATION_TOKEN = /^[a-z2-7]{32}$/;

/** A new invitation for `userId`; any earlier one not yet used stops working. The token is returned once. */
/**
 * A new invitation replaces any open one; what records it (its audit entry, the invitation mail
 * carrying its link) is stored in the same batch.
 */
export async function createInvitation(
  env: Env,
  db: Db,
  userId: string,
  createdBy: string,
  now: number,
  record: Recording<{ token: string; expiresAt: number }>,
): Promise<{ token: string; expiresAt: number; mailIds: string[] }> {
  const token = randomToken();
  const expiresAt = now + INVITATION_LIFETIME_MS;
  const records = await recorded(env, db, record, { token, expiresAt }, now, AFTER_ONE_CHANGE);
  await db.batch([
    db.delete(ssoInvitations).where(and(eq(ssoInvitations.userId, userId), isNull(ssoInvitations.usedAt))),
    db.insert(ssoInvitations).values({ id: newId("inv"), tokenHash: await sha256Hex(token), userId, createdBy, createdAt: now, expiresAt }),
    ...records.statements,
  ]);
  return { token, expiresAt, mailIds: records.ids };
}

export interface OpenInvitation {
  tokenHash: string;
  user: User;
  invitedBy: string;
  expiresAt: number;
}

/** The unused, unexpired invitation behind a token, with its (active) person; null otherwise. */
export async function openInvitation(db: Db, token: string, now: number): Promise<OpenInvitation | null> {
  if (!INVITATION_TOKEN.test(token)) return null;
  const tokenHash = await sha256Hex(token);
  const row = await db
    .select({
      invitation: ssoInvitations,
      user: users,
      invitedBy: sql<string>`(SELECT name FROM users WHERE id = ${ssoInvitations.createdBy})`,
    })
    .from(ssoInvitations)
    .innerJoin(users, eq(users.id, ssoInvitations.userId))
    .where(and(eq(ssoInvitations.tokenHash, tokenHash), isNull(ssoInvitations.usedAt), gt(ssoInvitations.expiresAt, now)))
    .get();
  if (!row?.user.active) return null;
  return { tokenHash, user: row.user, invitedBy: row.invitedBy ?? "An administrator", expiresAt: row.invitation.expiresAt };
}

export type AcceptResult = { ok: true; user: User; replaced: boolean; mailIds: string[] } | { ok: false; message: string };

export const INVITATION_GONE = "This invitation has expired or was already used. Ask your administrator for a new one.";

/**
 * Use the invitation for this Microsoft identity, all or nothing in one D1 batch: mark it used by
 * this sign-in (only if still unused and unexpired), replace the person's earlier link, and bind
 * (tenant id, object id) to them. Two sign-ins racing on one invitation: one marks it, and the
 * other's link statements find no mark of theirs and do nothing.
 */
export async function acceptInvitation(
  env: Env,
  db: Db,
  tokenHash: string,
  identity: Pick<EntraIdentity, "tenantId" | "objectId">,
  signIn: string,
  now: number,
  record: Recording<{ user: User; replaced: boolean }>,
): Promise<AcceptResult> {
  const invitation = await db.select().from(ssoInvitations).where(eq(ssoInvitations.tokenHash, tokenHash)).get();
  if (!invitation || invitation.usedAt !== null || invitation.expiresAt <= now) return { ok: false, message: INVITATION_GONE };
  const user = await db.select().from(users).where(eq(users.id, invitation.userId)).get();
  if (!user?.active) return { ok: false, message: "This account is disabled. Ask your administrator to enable it." };
  const holder = await db
    .select({ userId: ssoIdentities.userId })
    .from(ssoIdentities)
    .where(and(eq(ssoIdentities.tenantId, identity.tenantId), eq(ssoIdentities.objectId, identity.objectId)))
    .get();
  if (holder && holder.userId !== user.id)
    return {
      ok: false,
      message:
        "That Microsoft account is already linked to another EdgeDesk account. Sign in with the Microsoft account you use for this one, or ask your administrator.",
    };
  const previous = await db.select().from(ssoIdentities).where(eq(ssoIdentities.userId, user.id)).get();

  const ours = sql`EXISTS (SELECT 1 FROM sso_invitations WHERE token_hash = ${tokenHash} AND consumed_by = ${signIn})`;
  const replaced = previous !== undefined && !(previous.tenantId === identity.tenantId && previous.objectId === identity.objectId);
  // Its audit row and the notice to the person are stored only by the sign-in that took the invitation.
  const told = await recorded(env, db, record, { user, replaced }, now, ours);
  try {
    const [marked] = await db.batch([
      db
        .update(ssoInvitations)
        .set({ usedAt: now, consumedBy: signIn })
        .where(and(eq(ssoInvitations.tokenHash, tokenHash), isNull(ssoInvitations.usedAt), gt(ssoInvitations.expiresAt, now))),
      db.delete(ssoIdentities).where(and(eq(ssoIdentities.userId, user.id), ours)),
      db.insert(ssoIdentities).select(sql`SELECT ${identity.tenantId}, ${identity.objectId}, ${user.id}, ${now} WHERE ${ours}`),
      ...told.statements,
    ]);
    if (marked.meta.changes !== 1) return { ok: false, message: INVITATION_GONE };
  } catch (error) {
    // Linked to someone else between the check and the batch: nothing was written.
    console.warn("SSO: accepting an invitation failed:", error instanceof Error ? error.message : error);
    return { ok: false, message: "That Microsoft account is already linked to another EdgeDesk account." };
  }
  return { ok: true, user, replaced, mailIds: told.ids };
}

/** The Microsoft account a person is linked to, if any (for the admin's view). */
export function linkedIdentityOf(db: Db, userId: string) {
  return db
    .select({ tenantId: ssoIdentities.tenantId, objectId: ssoIdentities.objectId, createdAt: ssoIdentities.createdAt })
    .from(ssoIdentities)
    .where(eq(ssoIdentities.userId, userId))
    .get();
}
