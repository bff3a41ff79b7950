import type { AuditOrigin } from "../audit/events";
import { findUserByEmail } from "../auth/users";
import { type Clock, DAY } from "../lib/clock";
import { randomToken } from "../lib/crypto";
import { eq } from "drizzle-orm";
import { mailOutbox } from "../db/schema";
import { recordPause } from "../auth/pauses";
import { getDb } from "../db";
import { deliverQueued, type Notice, storeWithNotices } from "../mail/outbox";
import { kindOfPortal, type Portal, portalLabel } from "../portal/policy";
import { accountLimiter, waitMessage } from "./limits";
import type { Attempter, Counted, Way } from "./sign-in-guard";
import { OTHER_SOURCES, unknownWindows } from "./windows";

export interface Holder {
  id: string;
  email: string;
  name: string;
}

const ADVICE: Record<Way, string> = {
  password:
    "If this was you, wait and try again, or use a browser you signed in with before. If it was not, nobody got in; a longer, unique password keeps it that way.\n",
  second_step: "Whoever tried knew your password. If this was not you, change your password now and tell your administrator.\n",
  reset: "Whoever tried had a password reset link we emailed you. If this was not you, tell your administrator.\n",
};

const WRONG: Record<Way, string> = {
  password: "wrong passwords",
  second_step: "wrong verification codes",
  reset: "refused new passwords through a reset link",
};

/** What a throttling notice needs, as plain values: told after the response, or by the minute's run. */
export interface ThrottleNotice {
  portal: Portal;
  email: string;
  way: Way;
  retryAfterMs: number;
  bucket: "source" | "browser" | "unknown";
  trustedAny: boolean;
  siteOrigin: string;
  origin: AuditOrigin;
  /** Names its mail in the outbox, so a replay finds a notice its request did store. */
  id: string;
}

/** Where a notice the request could not store waits (KV, apart from the D1 that failed), a day at most. */
const OWED = "owed:throttle-notice:";

/**
 * The account holder is told by email when their account starts being throttled, once per window
 * (the limiter marks the window's first refusal atomically, so a burst sends one mail): what is
 * paused (new browsers only, or the one browser whose own guesses ran out), where the attempts
 * came from, and how to choose a new password. The holder is looked up after the response, so
 * the response cannot tell a real account from an unknown email, by content or by time. The
 * window's mark is already spent, so a notice D1 would not store then is kept in KV for the
 * minute's scheduled run to store.
 */
export function throttleNotice(
  who: Attempter,
  way: Way,
  counted: Counted & { allowed: false },
  siteOrigin: string,
  origin: AuditOrigin,
): ThrottleNotice {
  return {
    portal: who.portal as Portal,
    email: who.email,
    way,
    retryAfterMs: counted.retryAfterMs,
    bucket: counted.bucket,
    trustedAny: counted.trustedAny,
    siteOrigin,
    origin,
    id: randomToken(10),
  };
}

/** Run after the response: tell the holder, or keep the notice in KV for the minute's run. */
export async function tellThrottledOrKeep(
  env: Env,
  notice: ThrottleNotice,
  holder: () => Promise<Holder | null>,
  clock: Pick<Clock, "now">,
): Promise<void> {
  try {
    await tellThrottled(env, notice, await holder(), clock);
  } catch (error) {
    await env.OTP_KV.put(`${OWED}${notice.id}`, JSON.stringify(notice), { expirationTtl: DAY / 1000 });
    throw error;
  }
}

/**
 * The minute's run: store and send the notices requests could not, while their pause lasts (a
 * notice that says "paused for 15 minutes" an hour later would mislead). A notice already in the
 * outbox (its request's write committed, the answer lost; or KV still listing a paid one) is not
 * stored again.
 */
export async function payOwedThrottleNotices(
  env: Env,
  clock: Pick<Clock, "now">,
): Promise<{ paid: number; dropped: number; failed: number }> {
  const result = { paid: 0, dropped: 0, failed: 0 };
  const db = getDb(env.DB);
  const { keys } = await env.OTP_KV.list({ prefix: OWED, limit: 50 });
  for (const { name } of keys) {
    const notice = await env.OTP_KV.get<ThrottleNotice>(name, "json");
    if (!notice) continue;
    try {
      const stored = await db
        .select({ id: mailOutbox.id })
        .from(mailOutbox)
        .where(eq(mailOutbox.id, mailIdOf(notice)))
        .get();
      if (stored) {
        await env.OTP_KV.delete(name);
        continue;
      }
      if (clock.now() >= notice.origin.at + notice.retryAfterMs) {
        await env.OTP_KV.delete(name);
        result.dropped++;
        console.error(`A throttling notice for the ${notice.portal} portal could not be stored while its pause lasted, and was dropped.`);
        continue;
      }
      const holder = await findUserByEmail(db, kindOfPortal(notice.portal), notice.email);
      await tellThrottled(env, notice, holder?.active ? holder : null, clock);
      await env.OTP_KV.delete(name);
      result.paid++;
    } catch (error) {
      result.failed++;
      console.error("Storing an owed throttling notice failed; to be tried again:", error);
    }
  }
  return result;
}

const mailIdOf = (notice: ThrottleNotice) => `mail_${notice.id}`;

/** Store the pause and its notice (throws if D1 will not), then try sending it. */
async function tellThrottled(env: Env, n: ThrottleNotice, person: Holder | null, clock: Pick<Clock, "now">): Promise<void> {
  if (!person) return;
  const { portal, way } = n;
  const now = n.origin.at;
  const account = `your EdgeDesk ${portalLabel(portal).toLowerCase()} account`;
  const wait = waitMessage(n.retryAfterMs);
  let text: string;
  // The pause (for the admins' list and the person's own activity) and its notice are stored together.
  let pause: Parameters<typeof recordPause>[2] | null = null;
  if (n.bucket === "browser") {
    text =
      `There were too many ${WRONG[way]} for ${account} from a browser you have signed in with before, so signing in from that browser is paused for ${wait}. ` +
      `Other browsers are not affected.\n\nIf this was not you, someone may have that device: choose a new password and tell your administrator.\n`;
  } else {
    const sources = await accountLimiter(env, portal, n.email).sources(unknownWindows(way).daily);
    const total = sources.reduce((count, s) => count + s.count, 0);
    pause = { userId: person.id, portal, way, pausedAt: now, until: now + n.retryAfterMs, attempts: total, sources };
    const lines = sources
      .map((s) => `    ${s.source === OTHER_SOURCES ? "other addresses" : s.source}${s.country ? ` (${s.country})` : ""}: ${s.count}`)
      .join("\n");
    // Only where the account knows a browser of the person's does one keep working; say which it is.
    text =
      (n.trustedAny
        ? `There were too many ${WRONG[way]} for ${account} from browsers you have not signed in with, so signing in from new browsers is paused for ${wait}. ` +
          `Browsers you have signed in with before keep working.\n\n`
        : `There were too many ${WRONG[way]} for ${account}, so signing in is paused for ${wait}. ` +
          `Once you have signed in with your second factor (or confirmed with a code we email you), that browser keeps working during such a pause.\n\n`) +
      (total ? `${total} attempt${total === 1 ? "" : "s"} came from:\n${lines}\n\n` : "") +
      ADVICE[way];
  }
  const notice: Notice = {
    id: mailIdOf(n),
    userId: person.id,
    to: person.email,
    subject: "Sign-in to your EdgeDesk account was paused",
    text: `Hello ${person.name},\n\n${text}\nTo choose a new password: ${n.siteOrigin}/${portal}/login/forgot\n`,
  };
  const db = getDb(env.DB);
  const mailIds = pause ? await recordPause(env, db, pause, n.origin, [notice]) : await storeWithNotices(env, db, [], [notice], now);
  // Stored: from here the outbox owns it, and a failed first try is the minute's run's to repeat.
  await deliverQueued(env, mailIds, clock).catch((error: unknown) =>
    console.error("Sending a throttling notice failed; the outbox tries again:", error),
  );
}
