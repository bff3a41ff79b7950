// The durable outbox. A mail EdgeDesk promises (a security notice, a reset link, an invitation) is
// stored in the same D1 batch as what causes it, so the two are stored together or not at all; a
// page may then say "we have emailed" truthfully. It is sent after the response, and whatever did
// not go through is tried again by the scheduled run each minute, backing off, until it is
// delivered or a day has passed; one given up on is in the audit log. Sign-in codes are not queued
// (src/mail/mailer.ts `sendMail`): a code is worth nothing once its page has gone.
import { and, asc, eq, isNull, lte, type SQL, sql } from "drizzle-orm";
import { insertWhere } from "../db/insert-where";
import type { BatchItem } from "drizzle-orm/batch";
import { auditInsert } from "../audit/events";
import { backoff } from "../lib/backoff";
import { getDb, type Db } from "../db";
import { mailOutbox } from "../db/schema";
import { newId } from "../lib/crypto";
import { type Clock, DAY, MINUTE } from "../lib/clock";
import { decryptForUser, encryptForUser } from "../lib/encryption";
import { composeMail, handOver, type Mail } from "./mailer";

/** The scheduled run that tries again (wrangler.toml [triggers]). */
export const OUTBOX_CRON = "* * * * *";

/** A message is tried for this long after it was queued, then given up on (and audited). */
export const OUTBOX_LIFETIME_MS = DAY;
/**
 * A sender's claim on a message: no other sender tries it for this long. Longer than one send can
 * take, so two senders never hand the same message over, unless a Worker stopped between handing
 * it over and recording that it did (then it is sent again once the claim lapses).
 */
export const CLAIM_MS = 2 * MINUTE;
/** Messages one scheduled run tries, oldest due first: a backlog drains over a few minutes. */
export const OUTBOX_BATCH = 50;

/** A mail about one person's account, for the outbox. */
export interface Notice extends Mail {
  userId: string | null;
  /** Given where a retried cause must find the mail it stored before (otherwise a new one). */
  id?: string;
  /** When what it carries (a one-time link) stops working: not sent after that. */
  expiresAt?: number;
}

export interface Queued {
  id: string;
  /** The insert, for the batch that records the mail's cause. */
  statement: ReturnType<typeof insertStatement>;
}

function insertStatement(db: Db, row: typeof mailOutbox.$inferInsert) {
  return db.insert(mailOutbox).values(row);
}

/**
 * A message ready to be stored with its cause: sealed for its own id, due at once. With
 * `onlyIf`, stored only where that condition holds (a compare-and-swap change that may match nothing).
 */
export async function queueMail(env: Env, db: Db, notice: Notice, now: number, onlyIf?: SQL): Promise<Queued> {
  const id = notice.id ?? newId("mail");
  const sealedText = await encryptForUser(env, id, notice.text);
  const row = {
    id,
    to: notice.to,
    subject: notice.subject,
    sealedText,
    userId: notice.userId,
    createdAt: now,
    dueAt: now,
    expiresAt: notice.expiresAt ?? null,
  };
  return { id, statement: onlyIf ? insertWhere(db, mailOutbox, row, onlyIf) : insertStatement(db, row) };
}

/**
 * Store notices in one batch with the statements that record their cause (an audit row, the
 * change itself): all of it or none. The queued ids, for `sendAfterResponse`.
 */
export async function storeWithNotices(
  env: Env,
  db: Db,
  statements: readonly BatchItem<"sqlite">[],
  notices: readonly Notice[],
  now: number,
): Promise<string[]> {
  const queued = await Promise.all(notices.map((n) => queueMail(env, db, n, now)));
  const all = [...statements, ...queued.map((q) => q.statement)];
  if (all.length) await db.batch(all as [BatchItem<"sqlite">, ...BatchItem<"sqlite">[]]);
  return queued.map((q) => q.id);
}

/** Notices as statements, for a batch a domain function runs (`setPassword`'s); their ids, to send once it is stored. */
export async function queueNotices(
  env: Env,
  db: Db,
  notices: readonly Notice[],
  now: number,
  onlyIf?: SQL,
): Promise<{ statements: BatchItem<"sqlite">[]; ids: string[] }> {
  const queued = await Promise.all(notices.map((n) => queueMail(env, db, n, now, onlyIf)));
  return { statements: queued.map((q) => q.statement), ids: queued.map((q) => q.id) };
}

export type Attempt = "sent" | "failed" | "gave_up" | "not_due";

/** How long one scheduled run goes on claiming messages; what is left waits for the next minute. */
export const RUN_BUDGET_MS = 30_000;

/**
 * One try at one message: claimed first, for CLAIM_MS from the moment of the claim, so two
 * senders never try it at once. The request that queued it makes the first try (whatever its
 * clock says of the queued moment); the scheduled run tries what is due. A message whose link
 * has expired is not sent: it is given up, and audited.
 */
async function deliverOne(env: Env, db: Db, id: string, clock: Pick<Clock, "now">, which: "first" | "due"): Promise<Attempt> {
  const claimedAt = clock.now();
  const [claimed] = await db
    .update(mailOutbox)
    .set({ dueAt: claimedAt + CLAIM_MS, attempts: sql`${mailOutbox.attempts} + 1` })
    .where(
      and(
        eq(mailOutbox.id, id),
        isNull(mailOutbox.sentAt),
        isNull(mailOutbox.gaveUpAt),
        which === "first" ? eq(mailOutbox.attempts, 0) : lte(mailOutbox.dueAt, claimedAt),
      ),
    )
    .returning();
  if (!claimed) return "not_due";
  if (claimed.expiresAt !== null && claimed.expiresAt <= claimedAt) {
    await giveUp(db, claimed, claimedAt, claimed.lastError ?? "", "its link expired before it could be delivered");
    return "gave_up";
  }
  let messageId: string | null;
  try {
    const text = await decryptForUser(env, id, claimed.sealedText);
    messageId = await handOver(env, composeMail(env, { to: claimed.to, subject: claimed.subject, text }), clock.now());
  } catch (error) {
    const failedAt = clock.now();
    const lastError = String(error instanceof Error ? error.message : error).slice(0, 500);
    const next = failedAt + backoff(claimed.attempts);
    if (next - claimed.createdAt > OUTBOX_LIFETIME_MS || (claimed.expiresAt !== null && next >= claimed.expiresAt)) {
      await giveUp(db, claimed, failedAt, lastError, "it could not be delivered in time");
      return "gave_up";
    }
    await db.update(mailOutbox).set({ dueAt: next, lastError }).where(eq(mailOutbox.id, id));
    console.error(`Mail ${id} ("${claimed.subject}") not sent (try ${claimed.attempts}), to be tried again:`, error);
    return "failed";
  }
  // Handed over: whatever happens now, it is not a failed try. Recording it is tried twice; if D1
  // refuses both, the message goes again once its claim lapses (the one duplicate there can be).
  const sent = { sentAt: clock.now(), messageId, sealedText: "", lastError: null };
  for (let tries = 1; ; tries++) {
    try {
      await db.update(mailOutbox).set(sent).where(eq(mailOutbox.id, id));
      return "sent";
    } catch (error) {
      if (tries === 2) {
        console.error(`Mail ${id} ("${claimed.subject}") was sent (${messageId}) but could not be recorded; it may be sent again:`, error);
        return "sent";
      }
    }
  }
}

async function giveUp(db: Db, message: typeof mailOutbox.$inferSelect, at: number, lastError: string, why: string): Promise<void> {
  await db.batch([
    db
      .update(mailOutbox)
      .set({ gaveUpAt: at, sealedText: "", lastError: lastError || why })
      .where(eq(mailOutbox.id, message.id)),
    auditInsert(
      db,
      {
        event: "mail.undeliverable",
        actorId: null,
        targetId: message.userId,
        details: { subject: message.subject, to: message.to, attempts: message.attempts, why, lastError },
      },
      { at, ip: null, userAgent: null },
    ),
  ]);
  console.error(`Mail ${message.id} ("${message.subject}") was given up after ${message.attempts} tries: ${why}. ${lastError}`);
}

/**
 * The first try at what a request queued, one after another, after its response. At most a
 * batch: a role held by hundreds queues a notice each, and the minute's run sends the rest.
 */
export async function deliverQueued(env: Env, ids: readonly string[], clock: Pick<Clock, "now">): Promise<Attempt[]> {
  const db = getDb(env.DB);
  const results: Attempt[] = [];
  for (const id of ids.slice(0, OUTBOX_BATCH)) results.push(await deliverOne(env, db, id, clock, "first"));
  return results;
}

/**
 * The scheduled run: messages due by the run's start, oldest first, up to a batch, for at most
 * RUN_BUDGET_MS. One message's failure (a claim D1 refused) does not stop the others.
 */
export async function deliverDueMail(env: Env, clock: Pick<Clock, "now">): Promise<Record<Attempt, number>> {
  const db = getDb(env.DB);
  const startedAt = clock.now();
  const due = await db
    .select({ id: mailOutbox.id })
    .from(mailOutbox)
    .where(and(isNull(mailOutbox.sentAt), isNull(mailOutbox.gaveUpAt), lte(mailOutbox.dueAt, startedAt)))
    .orderBy(asc(mailOutbox.dueAt))
    .limit(OUTBOX_BATCH);
  const counts: Record<Attempt, number> = { sent: 0, failed: 0, gave_up: 0, not_due: 0 };
  for (const { id } of due) {
    if (clock.now() - startedAt > RUN_BUDGET_MS) break;
    try {
      counts[await deliverOne(env, db, id, clock, "due")]++;
    } catch (error) {
      counts.failed++;
      console.error(`Mail ${id} could not be tried this run:`, error);
    }
  }
  return counts;
}

/** The clock of a scheduled run: its scheduled moment, moving on as the run takes time. */
export function runClock(scheduledTime: number): Pick<Clock, "now"> {
  const startedAt = Date.now();
  return { now: () => scheduledTime + (Date.now() - startedAt) };
}
