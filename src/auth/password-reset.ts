// Issue 19.1: "Forgot password?". A link is emailed only to an active account of the portal that
// has a password; whoever asks gets the same answer. The token is stored only as its SHA-256,
// works once, for 30 minutes, for one person in one portal; asking again replaces it. Using it
// sets a password (the portal's rules and history) and then the sign-in goes on as after a
// password: the second factor is still asked for.
import { and, eq, gt, isNull } from "drizzle-orm";
import type { Db } from "../db";
import { passwordResets, users, type User } from "../db/schema";
import { MINUTE } from "../lib/clock";
import { newId, randomToken, sha256Hex } from "../lib/crypto";
import { sendMail } from "../mail/mailer";
import { kindOfPortal, type Portal, portalLabel } from "../portal/policy";
import { findUserByEmail } from "./users";

export const RESET_LIFETIME_MS = 30 * MINUTE;
const RESET_TOKEN = /^[a-z2-7]{32}$/;

export type ResetRequestOutcome = "sent" | "no_account" | "disabled" | "no_password";

/**
 * Email a reset link for `email`, if an active account of this portal with a password has it.
 * Runs after the response (the caller's `afterResponse`), so neither its time nor its result
 * reaches the person who asked. Any earlier link of that person and portal stops working.
 */
export async function sendPasswordResetLink(env: Env, db: Db, portal: Portal, email: string, origin: string, now: number): Promise<{ outcome: ResetRequestOutcome; user: User | null }> {
  const user = await findUserByEmail(db, kindOfPortal(portal), email);
  if (!user) return { outcome: "no_account", user: null };
  if (!user.active) return { outcome: "disabled", user };
  if (!user.passwordHash) return { outcome: "no_password", user };
  const token = randomToken();
  await db.batch([
    db.delete(passwordResets).where(and(eq(passwordResets.userId, user.id), eq(passwordResets.portal, portal))),
    db.insert(passwordResets).values({ id: newId("pwr"), tokenHash: await sha256Hex(token), userId: user.id, portal, createdAt: now, expiresAt: now + RESET_LIFETIME_MS }),
  ]);
  const link = `${origin}/${portal}/login/reset/${token}`;
  await sendMail(
    env,
    {
      to: user.email,
      subject: "Reset your EdgeDesk password",
      text:
        `Hello ${user.name},\n\nSomeone asked to reset the password of your account on the EdgeDesk ${portalLabel(portal).toLowerCase()}. ` +
        `To choose a new password, open this link within ${RESET_LIFETIME_MS / MINUTE} minutes:\n\n${link}\n\n` +
        `It works once. If it was not you, ignore this email: your password stays as it is.\n`,
    },
    now,
  );
  return { outcome: "sent", user };
}

export interface OpenReset {
  tokenHash: string;
  user: User;
}

/** The unused, unexpired link of this portal behind a token, with its active person; null otherwise. */
export async function openPasswordReset(db: Db, portal: Portal, token: string, now: number): Promise<OpenReset | null> {
  if (!RESET_TOKEN.test(token)) return null;
  const tokenHash = await sha256Hex(token);
  const row = await db
    .select({ user: users })
    .from(passwordResets)
    .innerJoin(users, eq(users.id, passwordResets.userId))
    .where(and(eq(passwordResets.tokenHash, tokenHash), eq(passwordResets.portal, portal), isNull(passwordResets.usedAt), gt(passwordResets.expiresAt, now)))
    .get();
  return row?.user.active && row.user.passwordHash ? { tokenHash, user: row.user } : null;
}

/** Compare-and-swap: of two requests using one link, exactly one gets true. */
export async function claimPasswordReset(db: Db, tokenHash: string, now: number): Promise<boolean> {
  const claimed = await db
    .update(passwordResets)
    .set({ usedAt: now })
    .where(and(eq(passwordResets.tokenHash, tokenHash), isNull(passwordResets.usedAt), gt(passwordResets.expiresAt, now)))
    .returning({ id: passwordResets.id });
  return claimed.length === 1;
}

/** The new password was refused (a rule, the history): the link works again for another try. */
export async function releasePasswordReset(db: Db, tokenHash: string, claimedAt: number): Promise<void> {
  await db.update(passwordResets).set({ usedAt: null }).where(and(eq(passwordResets.tokenHash, tokenHash), eq(passwordResets.usedAt, claimedAt)));
}

/** Tell the person their password was set with a link, and what to do if it was not them. */
export async function notifyPasswordReset(env: Env, user: User, portal: Portal, ip: string, now: number): Promise<void> {
  await sendMail(
    env,
    {
      to: user.email,
      subject: "Your EdgeDesk password was changed",
      text:
        `Hello ${user.name},\n\nThe password of your account on the EdgeDesk ${portalLabel(portal).toLowerCase()} was just set with a reset link ` +
        `(${new Date(now).toISOString().slice(0, 16).replace("T", " ")} UTC, from ${ip}). Every session was signed out and remembered devices were forgotten.\n` +
        `If this was not you, contact your administrator straight away.\n`,
    },
    now,
  );
}
