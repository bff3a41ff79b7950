// SECURITY.md 43: nobody locks a person out by knowing their email. Strangers' failures pause only
// browsers the person never signed in with (10 evaluated guesses per 15 minutes, 100 a day); the
// person's own browser goes on signing in throughout, and its own wrong guesses still count.
// Driven with the injected clock, for the password, the second step and the reset link.
import { and, eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { auditEvents, devMailbox } from "../../src/db/schema";
import { MINUTE } from "../../src/lib/clock";
import { ACCOUNT_LIMITS } from "../../src/limits/limits";
import { browser, type Browser, fakeClock, ORIGIN } from "../helpers/app";
import { signIn } from "../helpers/auth";
import { db, makeAdmin, makeContact } from "../helpers/factories";
import { enrollThroughPages, postPassword, setMfa, totpCode } from "../helpers/mfa";

const PAUSED = "Sign-in to your EdgeDesk account was paused";
const WINDOW = ACCOUNT_LIMITS.unknown.windowMs;

async function status(response: Promise<Response>): Promise<number> {
  const r = await response;
  await r.text();
  return r.status;
}

/** No span of `windowMs` holds more than `limit` of these moments. */
function mostInAnySpan(moments: number[], windowMs: number): number {
  const sorted = [...moments].sort((a, b) => a - b);
  let most = 0;
  for (let i = 0, j = 0; i < sorted.length; i++) {
    while (sorted[i]! - sorted[j]! >= windowMs) j++;
    most = Math.max(most, i - j + 1);
  }
  return most;
}

beforeAll(() => setMfa("support", { authenticatorApp: false, emailOtp: false }));
afterAll(() => setMfa("support", { authenticatorApp: false, emailOtp: false }));

describe("wrong passwords from strangers", () => {
  it("1,000 from 50 addresses over an hour, then a day of more: the person's own browser signs in every time; strangers get 10 per 15 minutes and 100 a day", async () => {
    const clock = fakeClock();
    const contact = await makeContact();
    const laptop = browser({ clock, ip: "198.51.100.250" });
    await signIn(laptop, "support", contact);
    await status(laptop.post("/support/logout"));
    const start = clock.now();

    const evaluated: number[] = [];
    const refusedOwn: number[] = [];
    const stranger = async (i: number) => {
      const s = await status(browser({ clock, ip: `203.0.113.${(i % 50) + 1}` }).post("/support/login", { email: contact.email, password: `guess ${i}` }));
      if (s === 401) evaluated.push(clock.now());
      else expect(s).toBe(429);
    };
    const own = async () => {
      const s = await status(laptop.post("/support/login", { email: contact.email, password: contact.password }));
      if (s !== 303) refusedOwn.push(clock.now());
      await status(laptop.post("/support/logout"));
    };

    // 1,000 in an hour: 20 every 72 seconds, the person signing in every 6 minutes among them.
    for (let step = 0; step < 50; step++) {
      await Promise.all(Array.from({ length: 20 }, (_, j) => stranger(step * 20 + j)));
      if (step % 5 === 0) await own();
      clock.advance(72_000);
    }
    expect(mostInAnySpan(evaluated, WINDOW)).toBeLessThanOrEqual(ACCOUNT_LIMITS.unknown.limit);
    expect(evaluated.length).toBeGreaterThanOrEqual(ACCOUNT_LIMITS.unknown.limit * 4);
    // The next three hours: a dozen more every 15 minutes, then one now and then for the rest of the day.
    while (clock.now() - start < 4 * 60 * MINUTE) {
      await Promise.all(Array.from({ length: 12 }, (_, j) => stranger(j)));
      if (Math.round((clock.now() - start) / WINDOW) % 4 === 0) await own();
      clock.advance(WINDOW);
    }
    while (clock.now() - start < ACCOUNT_LIMITS.daily.windowMs - WINDOW) {
      await stranger(0);
      await own();
      clock.advance(60 * MINUTE);
    }
    expect(evaluated.length).toBe(ACCOUNT_LIMITS.daily.limit);
    expect(refusedOwn).toEqual([]);

    // The person was told once per pause, with where the attempts came from and how to reset.
    const notices = await db().select().from(devMailbox).where(and(eq(devMailbox.to, contact.email), eq(devMailbox.subject, PAUSED)));
    expect(notices.length).toBeGreaterThan(0);
    expect(notices[0]!.body).toContain("so signing in from new browsers is paused");
    expect(notices[0]!.body).toContain("Browsers you have signed in with before keep working.");
    expect(notices[0]!.body).toMatch(/\d+ attempts came from:\n {4}203\.0\.113\.\d+: \d+/);
    expect(notices[0]!.body).toContain(`${ORIGIN}/support/login/forgot`);
    // And sees it in their activity.
    await signIn(laptop, "support", contact);
    expect(await (await laptop.get("/support/account")).text()).toContain("Signing in from new browsers was paused after");
  });
});

describe("wrong codes at the second step from strangers who know the password", () => {
  it("pause new browsers only: the person's own browser passes its second step throughout", async () => {
    await setMfa("support", { authenticatorApp: true, emailOtp: false });
    const clock = fakeClock();
    const contact = await makeContact();
    const laptop = browser({ clock, ip: "198.51.100.251" });
    const { manualKey } = await enrollThroughPages(laptop, "support", contact, clock);
    await status(laptop.post("/support/logout"));

    const evaluated: number[] = [];
    for (let round = 0; round < 4; round++) {
      const thieves = await Promise.all(
        Array.from({ length: 6 }, async (_, i) => {
          const thief = browser({ clock, ip: `203.0.114.${round * 6 + i + 1}` });
          await postPassword(thief, "support", contact);
          return thief;
        }),
      );
      for (const thief of thieves) {
        for (const code of ["000000", "111111"]) {
          const s = await status(thief.post("/support/login/verify/app", { code }));
          if (s === 401) evaluated.push(clock.now());
          else expect(s).toBe(429);
        }
      }
      clock.advance(35_000);
      await postPassword(laptop, "support", contact);
      expect(await status(laptop.post("/support/login/verify/app", { code: totpCode(manualKey, clock.now()) }))).toBe(303);
      await status(laptop.post("/support/logout"));
      clock.advance(4 * MINUTE);
    }
    expect(mostInAnySpan(evaluated, WINDOW)).toBeLessThanOrEqual(ACCOUNT_LIMITS.unknown.limit);
    expect(evaluated.length).toBe(ACCOUNT_LIMITS.unknown.limit);
    await setMfa("support", { authenticatorApp: false, emailOtp: false });
  });
});

describe("refused new passwords through a reset link", () => {
  it("are counted before they are hashed, the refused ones included; a pause on new browsers leaves the person's own browser the link", async () => {
    const clock = fakeClock();
    const contact = await makeContact();
    const laptop = browser({ clock, ip: "198.51.100.252" });
    await signIn(laptop, "support", contact);
    await status(browser({ clock }).post("/support/login/forgot", { email: contact.email }));
    const mail = await db().select().from(devMailbox).where(and(eq(devMailbox.to, contact.email), eq(devMailbox.subject, "Reset your EdgeDesk password")));
    const path = new RegExp(`${ORIGIN}(/support/login/reset/[a-z2-7]{32})`).exec(mail[0]!.body)![1]!;

    // Someone with the link sends the current password as the new one, over and over, from new browsers.
    const statuses: number[] = [];
    for (let i = 0; i < 15; i++) statuses.push(await status(browser({ clock, ip: `203.0.115.${i + 1}` }).post(path, { password: contact.password, confirm: contact.password })));
    expect(statuses.filter((s) => s === 400)).toHaveLength(ACCOUNT_LIMITS.unknown.limit);
    expect(statuses.filter((s) => s === 429)).toHaveLength(15 - ACCOUNT_LIMITS.unknown.limit);
    const password = "a new passphrase of my own 77";
    expect(await status(laptop.post(path, { password, confirm: password }))).toBe(303);
  });
});

describe("the admins' view", () => {
  it("lists a paused person with where the attempts came from, and lifting it (after confirming, audited) lets new browsers in", async () => {
    const clock = fakeClock();
    const contact = await makeContact();
    const admin = await makeAdmin();
    const adminClient: Browser = browser({ clock });
    await signIn(adminClient, "agent", admin);
    for (let i = 0; i < 11; i++) await status(browser({ clock, ip: `203.0.116.${i + 1}` }).post("/support/login", { email: contact.email, password: `guess ${i}` }));
    expect(await status(browser({ clock }).post("/support/login", { email: contact.email, password: contact.password }))).toBe(429);

    const page = await (await adminClient.get("/agent/admin/paused-sign-ins")).text();
    expect(page).toContain(contact.name);
    expect(page).toMatch(/203\.0\.116\.\d+: 1/);
    clock.advance(6 * MINUTE);
    const stale = await adminClient.post(`/agent/admin/paused-sign-ins/${contact.id}/lift`);
    expect(stale.status).toBe(401);
    await stale.text();
    await status(adminClient.post("/agent/reauth", { current: admin.password, next: "/agent/admin/paused-sign-ins" }));
    const lifted = await adminClient.post(`/agent/admin/paused-sign-ins/${contact.id}/lift`);
    expect(lifted.headers.get("Location")).toBe("/agent/admin/paused-sign-ins?done=lifted");
    await lifted.text();
    expect(await status(browser({ clock }).post("/support/login", { email: contact.email, password: contact.password }))).toBe(303);
    expect(await (await adminClient.get("/agent/admin/paused-sign-ins")).text()).not.toContain(contact.email);
    const audit = await db().select().from(auditEvents).where(and(eq(auditEvents.event, "sign_in.pause_lifted"), eq(auditEvents.targetId, contact.id)));
    expect(audit).toHaveLength(1);
    expect(audit[0]!.actorId).toBe(admin.id);
  });
});
