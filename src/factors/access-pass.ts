// A temporary access pass. An admin with "Access to Agent Recovery Code and Reset MFA"
// issues one to a locked-out person instead of reading their recovery codes to them. It is a
// one-time code, shown to the admin once and kept only as its SHA-256; it works once, at the
// second step of a password sign-in, until it expires (10 minutes to 8 hours, 1 hour unless the
// admin chooses otherwise). Issuing another, or resetting the person's MFA, deletes it. Using it
// counts as both factors once, and the person then sets up their authenticator app (or a passkey).
import { encodeBase32UpperCaseNoPadding } from "@oslojs/encoding";
import { and, eq, exists, gt, isNull, sql } from "drizzle-orm";
import { describeDevice } from "../lib/device";
import type { Db } from "../db";
import { temporaryAccessPasses, totpCredentials } from "../db/schema";
import { MINUTE, utcMinute } from "../lib/clock";
import { newId, randomBytes, sha256Hex } from "../lib/crypto";
import { type Notice, storeWithNotices } from "../mail/outbox";
import { AFTER_ONE_CHANGE, type Recording, recorded } from "../audit/recording";
import { type AuditOrigin, auditInsert } from "../audit/events";
import { type Portal, portalLabel, portalOfKind } from "../portal/policy";

/** The lifetimes an admin chooses from, in minutes: 10 minutes to 8 hours. */
export const ACCESS_PASS_MINUTES = [10, 30, 60, 120, 240, 480] as const;
export const DEFAULT_ACCESS_PASS_MINUTES = 60;

/** "1 hour", "10 minutes", "8 hours". */
export function lifetimeText(minutes: number): string {
  if (minutes < 60) return `${minutes} minutes`;
  const hours = minutes / 60;
  return `${hours} ${hours === 1 ? "hour" : "hours"}`;
}

/** 16 base32 characters (80 random bits), shown in groups of four: "K7QM-4XAP-BD2R-TZ5N". */
const PASS = /^[A-Z2-7]{16}$/;

/** What a person typed, as the pass was written: case, spaces and hyphens do not matter. */
export function normalizePass(typed: string): string {
  return typed.toUpperCase().replace(/[\s-]/g, "");
}

export function formatPass(pass: string): string {
  return pass.match(/.{4}/g)!.join("-");
}

interface Person {
  id: string;
  email: string;
  name: string;
  kind: "agent" | "contact";
}

/**
 * A new pass for `target`, replacing any earlier one, stored with its audit row and the notice to
 * the person (which never carries the pass): all of it or none. Returns the pass (to show once:
 * nothing can read it again), when it stops working, and the notice's outbox ids, to send.
 */
export async function issueAccessPass(
  env: Env,
  db: Db,
  target: Person,
  issuer: { id: string; name: string },
  minutes: number,
  origin: AuditOrigin,
): Promise<{ pass: string; expiresAt: number; mailIds: string[] }> {
  const now = origin.at;
  const pass = encodeBase32UpperCaseNoPadding(randomBytes(10));
  const expiresAt = now + minutes * MINUTE;
  const mailIds = await storeWithNotices(
    env,
    db,
    [
      db.delete(temporaryAccessPasses).where(eq(temporaryAccessPasses.userId, target.id)),
      db
        .insert(temporaryAccessPasses)
        .values({ id: newId("tap"), userId: target.id, passHash: await sha256Hex(pass), issuedBy: issuer.id, createdAt: now, expiresAt }),
      auditInsert(
        db,
        {
          event: "access_pass.issued",
          portal: portalOfKind(target.kind),
          actorId: issuer.id,
          targetId: target.id,
          details: { minutes, expiresAt },
        },
        origin,
      ),
    ],
    [accessPassIssuedNotice(target, issuer, expiresAt)],
    now,
  );
  return { pass, expiresAt, mailIds };
}

/**
 * Use the person's pass: compare-and-swap, so of several requests with the same pass exactly one
 * wins. With `removeApp` (the portal uses the app), the person's authenticator goes in the same
 * transaction, so they set up a new one next: both happen, or neither. Returns who issued the
 * pass, or null when it is wrong, used, expired or was replaced.
 */
export async function useAccessPass(
  env: Env,
  db: Db,
  userId: string,
  typed: string,
  now: number,
  { removeApp }: { removeApp: boolean },
  record: Recording<{ issuedBy: string }>,
): Promise<{ issuedBy: string; mailIds: string[] } | null> {
  const pass = normalizePass(typed);
  if (!PASS.test(pass)) return null;
  const passHash = await sha256Hex(pass);
  const mine = and(eq(temporaryAccessPasses.userId, userId), eq(temporaryAccessPasses.passHash, passHash));
  const live = and(mine, isNull(temporaryAccessPasses.usedAt), gt(temporaryAccessPasses.expiresAt, now));
  // Who issued it, for its audit row; the claim below decides whether it is used at all.
  const found = await db.select({ issuedBy: temporaryAccessPasses.issuedBy }).from(temporaryAccessPasses).where(live).get();
  if (!found) return null;
  const claimed = db
    .select({ one: sql`1` })
    .from(temporaryAccessPasses)
    .where(and(mine, eq(temporaryAccessPasses.usedAt, now)));
  // Its audit row and the notice to the person are stored only by the request whose claim won:
  // right after the claim, each on the one before having changed one row.
  const told = await recorded(env, db, record, found, now, AFTER_ONE_CHANGE);
  const [used] = await db.batch([
    db.update(temporaryAccessPasses).set({ usedAt: now }).where(live).returning({ issuedBy: temporaryAccessPasses.issuedBy }),
    ...told.statements,
    ...(removeApp ? [db.delete(totpCredentials).where(and(eq(totpCredentials.userId, userId), exists(claimed)))] : []),
  ]);
  const won = (used as { issuedBy: string }[])[0];
  return won ? { issuedBy: won.issuedBy, mailIds: told.ids } : null;
}

/** The person's unused, unexpired pass: when it expires, for the admin's panel. Null when none. */
export async function liveAccessPass(db: Db, userId: string, now: number): Promise<{ expiresAt: number } | null> {
  const row = await db
    .select({ expiresAt: temporaryAccessPasses.expiresAt })
    .from(temporaryAccessPasses)
    .where(and(eq(temporaryAccessPasses.userId, userId), isNull(temporaryAccessPasses.usedAt), gt(temporaryAccessPasses.expiresAt, now)))
    .get();
  return row ?? null;
}

/** The statement that cancels the person's pass, for a batch (an MFA reset). */
export function deleteAccessPasses(db: Db, userId: string) {
  return db.delete(temporaryAccessPasses).where(eq(temporaryAccessPasses.userId, userId));
}

/** The person hears that a pass was issued for them, and by whom; never the pass itself. */
export function accessPassIssuedNotice(target: Person, admin: { name: string }, expiresAt: number): Notice {
  const portal = portalLabel(portalOfKind(target.kind)).toLowerCase();
  return {
    userId: target.id,
    to: target.email,
    subject: "A temporary access pass was issued for your EdgeDesk account",
    text:
      `Hello ${target.name},\n\n${admin.name} issued a temporary access pass for your account on the EdgeDesk ${portal}. ` +
      `It works once, until ${utcMinute(expiresAt)}, together with your password. ${admin.name} gives it to you directly; it is never sent by email.\n` +
      `If you did not ask your administrators for help signing in, contact them straight away.\n`,
  };
}

/** The person hears every time their pass is used: an admin could otherwise sign in as them unseen. */
export function accessPassUsedNotice(
  user: { id: string; email: string; name: string },
  portal: Portal,
  seen: { ip: string; userAgent: string },
  now: number,
): Notice {
  return {
    userId: user.id,
    to: user.email,
    subject: "Your EdgeDesk temporary access pass was used",
    text:
      `Hello ${user.name},\n\nYour temporary access pass was used to sign in to the EdgeDesk ${portalLabel(portal).toLowerCase()} ` +
      `at ${utcMinute(now)}, from ${seen.ip} (${describeDevice(seen.userAgent)}). It cannot be used again.\n` +
      `If this was not you, contact your administrator straight away.\n`,
  };
}
