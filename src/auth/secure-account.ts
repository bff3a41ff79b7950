// SECURITY.md 38: what "This wasn't me: secure my account" does. Whoever signed in may have added
// a way back in before the person pressed the button (a passkey, an authenticator app, recovery
// codes, a Microsoft account); every such factor added since that sign-in began goes, together
// with the password, in one D1 batch with its audit entry. Factors from before stay and are
// listed, so the person can remove any they do not recognise once they have a new password.
import { and, eq, gte, isNull, or } from "drizzle-orm";
import type { Db } from "../db";
import { auditEvents, passkeys, recoveryCodes, ssoIdentities, temporaryAccessPasses, totpCredentials, users } from "../db/schema";
import { PENDING_SESSION_LIFETIME_MS } from "./user-do";

export type FactorKind = "passkey" | "app" | "recovery_codes" | "access_pass" | "microsoft";

export interface Factor {
  kind: FactorKind;
  /** What the person reads: a passkey's name, "Authenticator app", "10 recovery codes". */
  label: string;
  addedAt: number;
}

export interface SecuredReport {
  removed: Factor[];
  kept: Factor[];
}

/**
 * A sign-in finishes at most 15 minutes after its password step (a pending session lives that
 * long), and an intruder may set up an app during it (a portal that requires one), so "since
 * the sign-in" starts that much before the alert's moment.
 */
export function factorsCutoff(signedInAt: number): number {
  return signedInAt - PENDING_SESSION_LIFETIME_MS;
}

async function factorsOf(db: Db, userId: string): Promise<Factor[]> {
  const [keys, app, codes, passes, links] = await db.batch([
    db.select({ name: passkeys.name, createdAt: passkeys.createdAt }).from(passkeys).where(eq(passkeys.userId, userId)),
    db
      .select({ createdAt: totpCredentials.createdAt, confirmedAt: totpCredentials.confirmedAt })
      .from(totpCredentials)
      .where(eq(totpCredentials.userId, userId)),
    db
      .select({ createdAt: recoveryCodes.createdAt, usedAt: recoveryCodes.usedAt })
      .from(recoveryCodes)
      .where(eq(recoveryCodes.userId, userId)),
    db
      .select({ createdAt: temporaryAccessPasses.createdAt })
      .from(temporaryAccessPasses)
      .where(and(eq(temporaryAccessPasses.userId, userId), isNull(temporaryAccessPasses.usedAt))),
    db.select({ createdAt: ssoIdentities.createdAt }).from(ssoIdentities).where(eq(ssoIdentities.userId, userId)),
  ]);
  const factors: Factor[] = keys.map((k) => ({ kind: "passkey", label: `Passkey “${k.name}”`, addedAt: k.createdAt }));
  // An app counts from when its set-up finished: one begun before the sign-in may have been finished by the intruder.
  for (const a of app)
    factors.push({
      kind: "app",
      label: a.confirmedAt == null ? "Authenticator app (set-up not finished)" : "Authenticator app",
      addedAt: Math.max(a.createdAt, a.confirmedAt ?? 0),
    });
  if (codes.length) {
    const unused = codes.filter((c) => c.usedAt == null).length;
    factors.push({
      kind: "recovery_codes",
      label: `Recovery codes (${unused} unused)`,
      addedAt: Math.max(...codes.map((c) => c.createdAt)),
    });
  }
  for (const p of passes) factors.push({ kind: "access_pass", label: "Temporary access pass", addedAt: p.createdAt });
  for (const l of links) factors.push({ kind: "microsoft", label: "Microsoft account", addedAt: l.createdAt });
  return factors.sort((a, b) => a.addedAt - b.addedAt);
}

/**
 * Cancel the password (a hash of random bits nobody knows, so "Forgot password?" still works) and
 * remove every factor added at or after `since`, with the audit entry, in one batch: either all
 * of it is stored or none. Sessions and devices live in the person's object and end after this.
 */
export async function removeFactorsSince(
  db: Db,
  user: { id: string; passwordHash: string | null },
  since: number,
  now: number,
  cancelledPasswordHash: string | null,
  audit: { portal: string; ip: string | null; userAgent: string | null; details: Record<string, unknown> },
): Promise<SecuredReport> {
  const before = await factorsOf(db, user.id);
  const removed = before.filter((f) => f.addedAt >= since);
  const kept = before.filter((f) => f.addedAt < since);
  // A person without a password (Microsoft only) keeps none; the statement then changes nothing.
  const password = cancelledPasswordHash && user.passwordHash ? cancelledPasswordHash : user.passwordHash;
  await db.batch([
    db.update(users).set({ passwordHash: password, updatedAt: now }).where(eq(users.id, user.id)),
    db.delete(passkeys).where(and(eq(passkeys.userId, user.id), gte(passkeys.createdAt, since))),
    db
      .delete(totpCredentials)
      .where(and(eq(totpCredentials.userId, user.id), or(gte(totpCredentials.createdAt, since), gte(totpCredentials.confirmedAt, since)))),
    // A set is replaced whole, so a set made since goes whole (the codes from before it were already void).
    db.delete(recoveryCodes).where(and(eq(recoveryCodes.userId, user.id), gte(recoveryCodes.createdAt, since))),
    db.delete(temporaryAccessPasses).where(and(eq(temporaryAccessPasses.userId, user.id), gte(temporaryAccessPasses.createdAt, since))),
    db.delete(ssoIdentities).where(and(eq(ssoIdentities.userId, user.id), gte(ssoIdentities.createdAt, since))),
    db.insert(auditEvents).values({
      at: now,
      event: "account.secured",
      portal: audit.portal as "agent" | "support",
      actorId: user.id,
      targetId: user.id,
      ip: audit.ip,
      userAgent: audit.userAgent,
      details: { ...audit.details, removed: removed.map((f) => f.kind) },
    }),
  ]);
  return { removed, kept };
}
