// "Forgot password?". A link is emailed only to an active account of the portal that
// has a password; whoever asks gets the same answer. The token is stored only as its SHA-256,
// works once, for 30 minutes, for one person in one portal; asking again replaces it. Using it
// sets a password (the portal's rules and history) and then the sign-in goes on as after a
// password: the second factor is still asked for.
import { and, asc, eq, gt, isNull, lte, sql } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import { type Db, getDb } from "../db";
import { passwordResets, resetRequests, users, type User } from "../db/schema";
import { MINUTE } from "../lib/clock";
import { newId, randomToken, sha256Hex } from "../lib/crypto";
import { type AuditOrigin, auditInsert } from "../audit/events";
import { CLAIM_MS, type Notice, OUTBOX_BATCH, storeWithNotices } from "../mail/outbox";
import { backoff } from "../lib/backoff";
import { kindOfPortal, type Portal, portalLabel } from "../portal/policy";
import { findUserByEmail } from "./users";

export const RESET_LIFETIME_MS = 30 * MINUTE;
const RESET_TOKEN = /^[a-z2-7]{32}$/;

export type ResetRequestOutcome = "sent" | "no_account" | "disabled" | "no_password";

/**
 * Queue a reset link for `email` in the outbox, if an active account of this portal with a
 * password has it; the request is audited whatever the outcome, and the link, its mail and the
 * audit row are stored together or not at all. The forgotten-password page runs this after the
 * response, so neither its time nor its result reaches the person who asked. Any earlier link of
 * that person and portal stops working. `mailIds` are what to send.
 */
export async function queuePasswordResetLink(
  env: Env,
  db: Db,
  portal: Portal,
  email: string,
  siteOrigin: string,
  options: { origin: AuditOrigin; by?: "not_me"; now?: number; alongside?: BatchItem<"sqlite">[] },
): Promise<{ outcome: ResetRequestOutcome; user: User | null; mailIds: string[] }> {
  const { origin, by, alongside = [] } = options;
  const now = options.now ?? origin.at;
  const user = await findUserByEmail(db, kindOfPortal(portal), email);
  const outcome: ResetRequestOutcome = !user ? "no_account" : !user.active ? "disabled" : !user.passwordHash ? "no_password" : "sent";
  const requested = auditInsert(
    db,
    {
      event: "password_reset.requested",
      portal,
      actorId: by ? (user?.id ?? null) : null,
      targetId: user?.id ?? null,
      details: { email, outcome, ...(by ? { by } : {}) },
    },
    origin,
  );
  if (!user || outcome !== "sent") {
    await db.batch([requested, ...alongside]);
    return { outcome, user, mailIds: [] };
  }
  const token = randomToken();
  const link = `${siteOrigin}/${portal}/login/reset/${token}`;
  const mailIds = await storeWithNotices(
    env,
    db,
    [
      db.delete(passwordResets).where(and(eq(passwordResets.userId, user.id), eq(passwordResets.portal, portal))),
      db.insert(passwordResets).values({
        id: newId("pwr"),
        tokenHash: await sha256Hex(token),
        userId: user.id,
        portal,
        createdAt: now,
        expiresAt: now + RESET_LIFETIME_MS,
      }),
      requested,
      ...alongside,
    ],
    [
      {
        userId: user.id,
        to: user.email,
        subject: "Reset your EdgeDesk password",
        text:
          `Hello ${user.name},\n\nSomeone asked to reset the password of your account on the EdgeDesk ${portalLabel(portal).toLowerCase()}. ` +
          `To choose a new password, open this link within ${RESET_LIFETIME_MS / MINUTE} minutes:\n\n${link}\n\n` +
          `It works once. If it was not you, ignore this email: your password stays as it is.\n`,
        expiresAt: now + RESET_LIFETIME_MS,
      },
    ],
    now,
  );
  return { outcome, user, mailIds };
}

/** A request not answered within this long (D1 failing all along) is dropped, and audited: a link mailed later would surprise. */
export const RESET_REQUEST_LIFETIME_MS = 10 * MINUTE;

/**
 * "Forgot password?" before its answer: the request is stored, the same write for any address
 * (SECURITY.md 22), so the page's "we have emailed it a link" holds even if the work after the
 * answer fails: the minute's scheduled run does it then. Its id, for `answerResetRequest`.
 */
export async function recordResetRequest(db: Db, portal: Portal, email: string, siteOrigin: string, origin: AuditOrigin): Promise<string> {
  const id = newId("rrq");
  await db.insert(resetRequests).values({
    id,
    portal,
    email,
    siteOrigin,
    requestedAt: origin.at,
    ip: origin.ip,
    userAgent: origin.userAgent?.slice(0, 512) ?? null,
    dueAt: origin.at,
  });
  return id;
}

/**
 * Look the account up and queue its link (or audit that there is none), deleting the request in
 * the same batch. Claimed first, so a request is answered once: by its own request after the
 * response ("first"), or by the scheduled run once due. The queued mail's ids.
 */
export async function answerResetRequest(env: Env, db: Db, id: string, now: number, which: "first" | "due"): Promise<string[]> {
  const [request] = await db
    .update(resetRequests)
    .set({ dueAt: now + CLAIM_MS, tries: sql`${resetRequests.tries} + 1` })
    .where(and(eq(resetRequests.id, id), which === "first" ? eq(resetRequests.tries, 0) : lte(resetRequests.dueAt, now)))
    .returning();
  if (!request) return [];
  if (now - request.requestedAt > RESET_REQUEST_LIFETIME_MS) {
    await db.batch([
      db.delete(resetRequests).where(eq(resetRequests.id, id)),
      auditInsert(
        db,
        {
          event: "mail.undeliverable",
          portal: request.portal,
          actorId: null,
          targetId: null,
          details: { subject: "Reset your EdgeDesk password", to: request.email, why: "the request could not be answered in time" },
        },
        { at: now, ip: request.ip, userAgent: request.userAgent },
      ),
    ]);
    console.error(
      `A password reset request (${request.portal}) could not be answered within ${RESET_REQUEST_LIFETIME_MS / MINUTE} minutes, and was dropped.`,
    );
    return [];
  }
  try {
    const origin = { at: request.requestedAt, ip: request.ip, userAgent: request.userAgent };
    const answered = await queuePasswordResetLink(env, db, request.portal, request.email, request.siteOrigin, {
      origin,
      now,
      alongside: [db.delete(resetRequests).where(eq(resetRequests.id, id))],
    });
    return answered.mailIds;
  } catch (error) {
    await db
      .update(resetRequests)
      .set({ dueAt: now + backoff(request.tries) })
      .where(eq(resetRequests.id, id))
      .catch(() => undefined);
    throw error;
  }
}

/** The minute's run: requests a failed request left unanswered, oldest first. The mail ids queued. */
export async function answerDueResetRequests(env: Env, now: number): Promise<{ answered: number; failed: number; mailIds: string[] }> {
  const db = getDb(env.DB);
  const due = await db
    .select({ id: resetRequests.id })
    .from(resetRequests)
    .where(lte(resetRequests.dueAt, now))
    .orderBy(asc(resetRequests.dueAt))
    .limit(OUTBOX_BATCH);
  const result = { answered: 0, failed: 0, mailIds: [] as string[] };
  for (const { id } of due) {
    try {
      result.mailIds.push(...(await answerResetRequest(env, db, id, now, "due")));
      result.answered++;
    } catch (error) {
      result.failed++;
      console.error("Answering a password reset request failed; to be tried again:", error);
    }
  }
  return result;
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
    .where(
      and(
        eq(passwordResets.tokenHash, tokenHash),
        eq(passwordResets.portal, portal),
        isNull(passwordResets.usedAt),
        gt(passwordResets.expiresAt, now),
      ),
    )
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
  await db
    .update(passwordResets)
    .set({ usedAt: null })
    .where(and(eq(passwordResets.tokenHash, tokenHash), eq(passwordResets.usedAt, claimedAt)));
}

/** Tell the person their password was set with a link, and what to do if it was not them. */
export function passwordResetNotice(user: User, portal: Portal, ip: string, now: number): Notice {
  return {
    userId: user.id,
    to: user.email,
    subject: "Your EdgeDesk password was changed",
    text:
      `Hello ${user.name},\n\nThe password of your account on the EdgeDesk ${portalLabel(portal).toLowerCase()} was just set with a reset link ` +
      `(${new Date(now).toISOString().slice(0, 16).replace("T", " ")} UTC, from ${ip}). A new password signs out every session and forgets remembered devices.\n` +
      `If this was not you, contact your administrator straight away.\n`,
  };
}
