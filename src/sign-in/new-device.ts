// New-device sign-in alerts. Every browser carries one random cookie (not tied to a
// person); each person's object keeps the hashes of the browsers they signed in from. A password
// sign-in from a browser not seen for them in the last 90 days emails them what, when and from
// where, with a "This wasn't me" link. Not counted as new: the first sign-in the object sees (a
// new account's first, or the first since alerts began) and Microsoft sign-ins (Entra ID alerts
// on its own). The check and the mail run after the response, as the throttling notice does.
import type { Context } from "hono";
import { and, eq, gt, isNull } from "drizzle-orm";
import type { AppEnv } from "../app-env";
import { recordAudit } from "../request/audit";
import { queueNewDeviceAlert } from "../auth/new-device-alert";
import { getDb, type Db } from "../db";
import { notMeLinks, users, type User } from "../db/schema";
import { afterResponse } from "../request/background";
import { retryOnceIfTransient } from "../lib/failures";
import { randomToken, sha256Hex } from "../lib/crypto";
import { deliverQueued } from "../mail/outbox";
import type { Portal } from "../portal/policy";
import { browserToken, vouchFor } from "../request/browser-cookie";
import { normalizeEmail } from "../auth/users";
import { browserSignedIn } from "../limits/sign-in-guard";
import { requestDetails } from "../request/session-cookie";
import { userStub } from "../auth/user-object";

const TOKEN = /^[a-z2-7]{32}$/;

/**
 * A password sign-in succeeded (every way one finishes: no second step, a code, a passkey, a
 * remembered device, the app's set-up, a temporary access pass, a reset link): audited, and the
 * browser checked against the person's known ones after the response.
 */
export async function signInSucceeded(
  c: Context<AppEnv>,
  portal: Portal,
  user: { id: string; email: string; name: string },
  details: Record<string, unknown>,
  { passwordOnly, audited = false }: { passwordOnly: boolean; audited?: boolean },
): Promise<void> {
  // `audited`: the entry goes with the session's own change (the user's object owes it).
  if (!audited) await recordAudit(c, { event: "sign_in.succeeded", portal, actorId: user.id, details });
  const token = browserToken(c);
  const seen = requestDetails(c);
  const now = c.var.clock.now();
  const origin = new URL(c.req.url).origin;
  const deviceHash = await sha256Hex(token);
  // Known to the account's limits at once, so the next sign-in from here is spared strangers'
  // failures; not after a password alone from a new browser (SECURITY.md 38), or a second sign-in
  // with the stolen password would find the browser known and unmarked.
  if (!passwordOnly) {
    await browserSignedIn(c.env, portal, normalizeEmail(user.email), deviceHash, now);
    await vouchFor(c, portal, normalizeEmail(user.email), deviceHash);
  }
  await afterResponse(c, "the new-device check", async () => {
    const stub = userStub(c.env, user.id);
    // A new browser is known from here on, with its alert owed by the person's object.
    const alert = { alertId: randomToken(10), userId: user.id, portal, siteOrigin: origin };
    // Safe to repeat: a sighting whose answer was lost left its alert owed, which the object's alarm stores.
    if ((await retryOnceIfTransient(() => stub.noteSignInDevice(deviceHash, now, seen, !passwordOnly, alert))) !== "new") return;
    const mailIds = await queueNewDeviceAlert(
      c.env,
      getDb(c.env.DB),
      user,
      { ...alert, tokenHash: deviceHash, at: now, ip: seen.ip, userAgent: seen.userAgent },
      now,
    );
    // Sent before it is marked paid: should the mark be lost, the alarm finds the alert stored.
    await deliverQueued(c.env, mailIds, c.var.clock);
    await stub.alertStored(deviceHash);
  });
}

export interface OpenNotMe {
  tokenHash: string;
  user: User;
  deviceHash: string;
  signedInAt: number;
  ip: string;
  userAgent: string;
}

/** The unused, unexpired link of this portal behind a token, with its person; null otherwise. */
export async function openNotMeLink(db: Db, portal: Portal, token: string, now: number): Promise<OpenNotMe | null> {
  if (!TOKEN.test(token)) return null;
  const tokenHash = await sha256Hex(token);
  const row = await db
    .select({ user: users, link: notMeLinks })
    .from(notMeLinks)
    .innerJoin(users, eq(users.id, notMeLinks.userId))
    .where(
      and(eq(notMeLinks.tokenHash, tokenHash), eq(notMeLinks.portal, portal), isNull(notMeLinks.usedAt), gt(notMeLinks.expiresAt, now)),
    )
    .get();
  return row
    ? {
        tokenHash,
        user: row.user,
        deviceHash: row.link.deviceHash,
        signedInAt: row.link.createdAt,
        ip: row.link.ip,
        userAgent: row.link.userAgent,
      }
    : null;
}

/** Compare-and-swap: of two presses of the button, exactly one acts. */
export async function claimNotMeLink(db: Db, tokenHash: string, now: number): Promise<boolean> {
  const claimed = await db
    .update(notMeLinks)
    .set({ usedAt: now })
    .where(and(eq(notMeLinks.tokenHash, tokenHash), isNull(notMeLinks.usedAt), gt(notMeLinks.expiresAt, now)))
    .returning({ id: notMeLinks.id });
  return claimed.length === 1;
}

/** Securing the account failed part-way: the link works again, to try once more. */
export async function releaseNotMeLink(db: Db, tokenHash: string, claimedAt: number): Promise<void> {
  await db
    .update(notMeLinks)
    .set({ usedAt: null })
    .where(and(eq(notMeLinks.tokenHash, tokenHash), eq(notMeLinks.usedAt, claimedAt)));
}
