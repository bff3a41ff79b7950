// A new-device alert as stored: the "This wasn't me" link, its audit row and the mail that carries
// it, in one batch. Plain values only, for the sign-in's request and the person's object's alarm.
import { eq } from "drizzle-orm";
import { describeDevice } from "../lib/device";
import { auditInsert } from "../audit/events";
import { getDb, type Db } from "../db";
import { mailOutbox, notMeLinks } from "../db/schema";
import { DAY, systemClock, utcMinute } from "../lib/clock";
import { randomToken, sha256Hex } from "../lib/crypto";
import { deliverQueued, storeWithNotices } from "../mail/outbox";
import { portalLabel } from "../portal/policy";
import type { OwedAlert } from "./user-do/owed-alerts";
import { findUserById } from "./users";

export const NOT_ME_LIFETIME_MS = 7 * DAY;

/**
 * The alarm of the person's object stores an alert its request could not (D1 failed then). The ids
 * of the link and the mail come from the owed alert, so an alert the request did store (and failed
 * only to mark paid) is found and not stored again.
 */
export async function storeOwedAlert(env: Env, alert: OwedAlert, now: number): Promise<void> {
  const db = getDb(env.DB);
  const user = await findUserById(db, alert.userId);
  if (!user?.active) return;
  const { mailId } = alertIds(alert);
  if (await db.select({ id: mailOutbox.id }).from(mailOutbox).where(eq(mailOutbox.id, mailId)).get()) return;
  await deliverQueued(env, await queueNewDeviceAlert(env, db, user, alert, now), systemClock);
}

function alertIds(alert: Pick<OwedAlert, "alertId">) {
  return { linkId: `nml_${alert.alertId}`, mailId: `mail_${alert.alertId}` };
}

/** The "This wasn't me" link, its audit row and the alert that carries it, stored together. */
/** `queuedAt`: the sender's own clock (the request's, or the object's alarm's), so retries fall due by it. */
export async function queueNewDeviceAlert(
  env: Env,
  db: Db,
  user: { id: string; email: string; name: string },
  alert: Omit<OwedAlert, "tries" | "owedSince">,
  queuedAt: number,
): Promise<string[]> {
  const { portal, siteOrigin, at: now } = alert;
  const seen = { ip: alert.ip, userAgent: alert.userAgent };
  const { linkId, mailId } = alertIds(alert);
  const token = randomToken();
  return storeWithNotices(
    env,
    db,
    [
      db.insert(notMeLinks).values({
        id: linkId,
        tokenHash: await sha256Hex(token),
        userId: user.id,
        portal,
        deviceHash: alert.tokenHash,
        ip: seen.ip,
        userAgent: seen.userAgent,
        createdAt: now,
        expiresAt: now + NOT_ME_LIFETIME_MS,
      }),
      auditInsert(
        db,
        { event: "sign_in.new_device", portal, actorId: user.id, details: { device: describeDevice(seen.userAgent) } },
        { at: now, ...seen },
      ),
    ],
    [
      {
        id: mailId,
        userId: user.id,
        to: user.email,
        subject: "New sign-in to your EdgeDesk account",
        text:
          `Hello ${user.name},\n\nYour account on the EdgeDesk ${portalLabel(portal).toLowerCase()} was just signed in to from a browser it has not seen in the last 90 days:\n\n` +
          `    When: ${utcMinute(now)}\n    Browser: ${describeDevice(seen.userAgent)}\n    From: ${seen.ip}\n\n` +
          `If this was you, there is nothing to do.\n\nIf it was not you, open this link within 7 days: it signs you out everywhere, cancels your ` +
          `password and emails you a link to choose a new one.\n\n` +
          `This wasn't me: ${siteOrigin}/${portal}/login/not-me/${token}\n`,
        expiresAt: now + NOT_ME_LIFETIME_MS,
      },
    ],
    queuedAt,
  );
}
