import type { Context } from "hono";
import type { AppEnv } from "../app-env";
import { auditOriginOf } from "../audit/audit";
import { recordPause } from "../auth/pauses";
import { getDb } from "../db";
import { afterResponse } from "../lib/background";
import { deliverQueued, type Notice, storeWithNotices } from "../mail/outbox";
import { type Portal, portalLabel } from "../portal/policy";
import { accountLimiter, waitMessage } from "./limits";
import type { Attempter, Counted, Way } from "./sign-in-guard";
import { OTHER_SOURCES, unknownWindows } from "./windows";

export interface Holder {
  id: string;
  email: string;
  name: string;
}

const ADVICE: Record<Way, string> = {
  password: "If this was you, wait and try again, or use a browser you signed in with before. If it was not, nobody got in; a longer, unique password keeps it that way.\n",
  second_step: "Whoever tried knew your password. If this was not you, change your password now and tell your administrator.\n",
  reset: "Whoever tried had a password reset link we emailed you. If this was not you, tell your administrator.\n",
};

const WRONG: Record<Way, string> = { password: "wrong passwords", second_step: "wrong verification codes", reset: "refused new passwords through a reset link" };

/**
 * The account holder is told by email when their account starts being throttled, once per window
 * (the limiter marks the window's first refusal atomically, so a burst sends one mail): what is
 * paused (new browsers only, or the one browser whose own guesses ran out), where the attempts
 * came from, and how to choose a new password. The holder is looked up after the response, so
 * the response cannot tell a real account from an unknown email, by content or by time.
 */
export async function noticeThrottling(c: Context<AppEnv>, who: Attempter, way: Way, counted: Counted & { allowed: false }, holder: () => Promise<Holder | null>) {
  const portal = who.portal as Portal;
  const origin = new URL(c.req.url).origin;
  const now = c.var.clock.now();
  const auditOrigin = auditOriginOf(c);
  await afterResponse(c, "The throttling notice", async () => {
    const person = await holder();
    if (!person) return;
    const account = `your EdgeDesk ${portalLabel(portal).toLowerCase()} account`;
    const wait = waitMessage(counted.retryAfterMs);
    let text: string;
    // The pause (for the admins' list and the person's own activity) and its notice are stored together.
    let pause: Parameters<typeof recordPause>[2] | null = null;
    if (counted.bucket === "browser") {
      text =
        `There were too many ${WRONG[way]} for ${account} from a browser you have signed in with before, so signing in from that browser is paused for ${wait}. ` +
        `Other browsers are not affected.\n\nIf this was not you, someone may have that device: choose a new password and tell your administrator.\n`;
    } else {
      const sources = await accountLimiter(c.env, who.portal, who.email).sources(unknownWindows(way).daily);
      const total = sources.reduce((n, s) => n + s.count, 0);
      pause = { userId: person.id, portal, way, pausedAt: now, until: now + counted.retryAfterMs, attempts: total, sources };
      const lines = sources.map((s) => `    ${s.source === OTHER_SOURCES ? "other addresses" : s.source}${s.country ? ` (${s.country})` : ""}: ${s.count}`).join("\n");
      // Only where the account knows a browser of the person's does one keep working; say which it is.
      text =
        (counted.trustedAny
          ? `There were too many ${WRONG[way]} for ${account} from browsers you have not signed in with, so signing in from new browsers is paused for ${wait}. ` +
            `Browsers you have signed in with before keep working.\n\n`
          : `There were too many ${WRONG[way]} for ${account}, so signing in is paused for ${wait}. ` +
            `Once you have signed in with your second factor (or confirmed with a code we email you), that browser keeps working during such a pause.\n\n`) +
        (total ? `${total} attempt${total === 1 ? "" : "s"} came from:\n${lines}\n\n` : "") +
        ADVICE[way];
    }
    const notice: Notice = {
      userId: person.id,
      to: person.email,
      subject: "Sign-in to your EdgeDesk account was paused",
      text: `Hello ${person.name},\n\n${text}\nTo choose a new password: ${origin}/${portal}/login/forgot\n`,
    };
    const db = getDb(c.env.DB);
    const mailIds = pause ? await recordPause(c.env, db, pause, auditOrigin, [notice]) : await storeWithNotices(c.env, db, [], [notice], now);
    await deliverQueued(c.env, mailIds, c.var.clock);
  });
}
