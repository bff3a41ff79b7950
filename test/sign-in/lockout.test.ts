// SECURITY.md 43: nobody locks a person out by knowing their email. Strangers' failures pause only
// browsers the person never signed in with (10 evaluated guesses per 15 minutes, 100 a day); the
// person's own browser goes on signing in throughout, and its own wrong guesses still count.
// Driven with the injected clock, for the password, the second step and the reset link.
import { and, eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { auditEvents, devMailbox } from "../../src/db/schema";
import { MINUTE } from "../../src/lib/clock";
import { ACCOUNT_LIMITS, LIMITS, limitKeys } from "../../src/limits/limits";
import { browser, type Browser, fakeClock, ORIGIN } from "../helpers/app";
import { signIn } from "../helpers/auth";
import { db, makeAdmin, makeAgent, makeContact } from "../helpers/factories";
import { makeRole } from "../helpers/roles";
import { softwareAuthenticator } from "../helpers/webauthn";
import { env } from "cloudflare:workers";
import { runInDurableObject } from "cloudflare:test";
import { userStub } from "../../src/auth/user-object";
import { UserDurableObject } from "../../src/auth/user-do";
import { accountLimiter } from "../../src/limits/limits";
import { enrollThroughPages, postPassword, setMfa, totpCode } from "../helpers/mfa";
import { shown } from "../helpers/html";

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
      const s = await status(
        browser({ clock, ip: `203.0.113.${(i % 50) + 1}` }).post("/support/login", { email: contact.email, password: `guess ${i}` }),
      );
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
    const notices = await db()
      .select()
      .from(devMailbox)
      .where(and(eq(devMailbox.to, contact.email), eq(devMailbox.subject, PAUSED)));
    expect(notices.length).toBeGreaterThan(0);
    expect(notices[0]!.body).toContain("so signing in from new browsers is paused");
    expect(notices[0]!.body).toContain("Browsers you have signed in with before keep working.");
    expect(notices[0]!.body).toMatch(/\d+ attempts came from:\n {4}203\.0\.113\.\d+: \d+/);
    expect(notices[0]!.body).toContain(`${ORIGIN}/support/login/forgot`);
    // And sees it in their activity.
    await signIn(laptop, "support", contact);
    expect(await shown(await laptop.get("/support/account"))).toContain("Signing in from new browsers was paused after");
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
    const mail = await db()
      .select()
      .from(devMailbox)
      .where(and(eq(devMailbox.to, contact.email), eq(devMailbox.subject, "Reset your EdgeDesk password")));
    const path = new RegExp(`${ORIGIN}(/support/login/reset/[a-z2-7]{32})`).exec(mail[0]!.body)![1]!;

    // Someone with the link sends the current password as the new one, over and over, from new browsers.
    const statuses: number[] = [];
    for (let i = 0; i < 15; i++)
      statuses.push(
        await status(browser({ clock, ip: `203.0.115.${i + 1}` }).post(path, { password: contact.password, confirm: contact.password })),
      );
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
    for (let i = 0; i < 11; i++)
      await status(browser({ clock, ip: `203.0.116.${i + 1}` }).post("/support/login", { email: contact.email, password: `guess ${i}` }));
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
    const audit = await db()
      .select()
      .from(auditEvents)
      .where(and(eq(auditEvents.event, "sign_in.pause_lifted"), eq(auditEvents.targetId, contact.id)));
    expect(audit).toHaveLength(1);
    expect(audit[0]!.actorId).toBe(admin.id);
  });
});

describe("a flood that fills the portal's ceiling on hashes", () => {
  it("leaves the person their known browser (password or passkey alone) and the reset link from a new one", async () => {
    await setMfa("support", { authenticatorApp: false, emailOtp: false, passkeys: true, passwordlessPasskeys: true });
    try {
      const clock = fakeClock(Date.UTC(2026, 10, 24, 9, 0, 0));
      const contact = await makeContact();
      const laptop = browser({ clock, ip: "198.51.100.253" });
      await signIn(laptop, "support", contact);
      const key = await softwareAuthenticator();
      const options = (await (
        await laptop.request("/support/account/passkeys/options", {
          method: "POST",
          body: "{}",
          headers: { "Content-Type": "application/json" },
        })
      ).json()) as { challenge: string };
      await (
        await laptop.request("/support/account/passkeys", {
          method: "POST",
          body: JSON.stringify({ name: "Laptop", response: key.register(options, undefined, { discoverable: true }) }),
          headers: { "Content-Type": "application/json" },
        })
      ).text();
      await status(laptop.post("/support/logout"));
      // As a botnet would: the minute's hashes for browsers no account knows, all used.
      const ceiling = env.LIMITER_DO.get(env.LIMITER_DO.idFromName(limitKeys.hashes("support")));
      for (let i = 0; i < LIMITS.hashesPerPortal.limit; i++) await ceiling.hit(clock.now(), LIMITS.hashesPerPortal, "password");
      expect(
        await status(browser({ clock, ip: "203.0.117.1" }).post("/support/login", { email: contact.email, password: contact.password })),
      ).toBe(429);

      expect(await status(laptop.post("/support/login", { email: contact.email, password: contact.password }))).toBe(303);
      await status(laptop.post("/support/logout"));
      const passkeyOptions = (await (
        await laptop.request("/support/login/passkey/options", {
          method: "POST",
          body: "{}",
          headers: { "Content-Type": "application/json" },
        })
      ).json()) as { challenge: string };
      const alone = await laptop.request("/support/login/passkey", {
        method: "POST",
        body: JSON.stringify({ response: await key.assert(passkeyOptions) }),
        headers: { "Content-Type": "application/json" },
      });
      await alone.text();
      expect(alone.status).toBe(200);

      await status(browser({ clock }).post("/support/login/forgot", { email: contact.email }));
      const mail = await db()
        .select()
        .from(devMailbox)
        .where(and(eq(devMailbox.to, contact.email), eq(devMailbox.subject, "Reset your EdgeDesk password")));
      const path = new RegExp(`${ORIGIN}(/support/login/reset/[a-z2-7]{32})`).exec(mail.at(-1)!.body)![1]!;
      const password = "a passphrase after the flood 12";
      expect(await status(browser({ clock, ip: "203.0.117.2" }).post(path, { password, confirm: password }))).toBe(303);
    } finally {
      await setMfa("support", { authenticatorApp: false, emailOtp: false, passkeys: false, passwordlessPasskeys: false });
    }
  });
});

describe("lifting a pause", () => {
  it("is only for someone holding what the paused person holds: a lead cannot lift an Administrator's", async () => {
    const clock = fakeClock();
    const admin = await makeAdmin();
    const leadRole = await makeRole(["manageRecoveryAndMfaReset", "viewAssets"]);
    const lead = await makeAgent({ roleId: leadRole });
    for (let i = 0; i < 11; i++)
      await status(browser({ clock, ip: `203.0.118.${i + 1}` }).post("/agent/login", { email: admin.email, password: `guess ${i}` }));
    const leadClient = browser({ clock });
    await signIn(leadClient, "agent", lead);
    const page = await (await leadClient.get("/agent/admin/paused-sign-ins")).text();
    expect(page).toContain(admin.email);
    expect(page).not.toContain(`/agent/admin/paused-sign-ins/${admin.id}/lift`);
    const refused = await leadClient.post(`/agent/admin/paused-sign-ins/${admin.id}/lift`);
    await refused.text();
    expect(refused.status).toBe(403);
    expect(await status(browser({ clock }).post("/agent/login", { email: admin.email, password: admin.password }))).toBe(429);
    expect(
      await db()
        .select()
        .from(auditEvents)
        .where(and(eq(auditEvents.event, "sign_in.pause_lifted"), eq(auditEvents.targetId, admin.id))),
    ).toEqual([]);
  });
});

describe("a right password from a browser new to the person", () => {
  it("gives back only its own attempt: strangers' guesses in the same windows still count", async () => {
    const clock = fakeClock(Date.UTC(2026, 10, 25, 9, 0, 0));
    const contact = await makeContact();
    await signIn(browser({ clock, ip: "198.51.100.249" }), "support", contact);
    for (let i = 0; i < ACCOUNT_LIMITS.unknown.limit - 1; i++)
      expect(
        await status(browser({ clock, ip: `203.0.119.${i + 1}` }).post("/support/login", { email: contact.email, password: `guess ${i}` })),
      ).toBe(401);
    // The person, from a phone they never used here: a password alone proves too little to clear strangers' count.
    expect(
      await status(browser({ clock, ip: "198.51.100.248" }).post("/support/login", { email: contact.email, password: contact.password })),
    ).toBe(303);
    expect(
      await status(browser({ clock, ip: "203.0.119.200" }).post("/support/login", { email: contact.email, password: "one more guess" })),
    ).toBe(401);
    expect(
      await status(browser({ clock, ip: "203.0.119.201" }).post("/support/login", { email: contact.email, password: "and another" })),
    ).toBe(429);
  });
});

describe("a browser the previous release saw sign in", () => {
  it("is not taken as proven: an intruder's browser that typed only the password stays password-only after the upgrade", async () => {
    const clock = fakeClock(Date.UTC(2026, 10, 26, 9, 0, 0));
    const contact = await makeContact();
    await signIn(browser({ clock, ip: "198.51.100.247" }), "support", contact);
    const intruder = browser({ clock, ip: "203.0.119.240" });
    clock.advance(MINUTE);
    expect(await status(intruder.post("/support/login", { email: contact.email, password: contact.password }))).toBe(303);
    const passwordOnly = async () =>
      runInDurableObject(
        userStub(env, contact.id),
        async (_instance, state) =>
          state.storage.sql.exec<{ p: number }>("SELECT password_only AS p FROM sessions ORDER BY created_at DESC LIMIT 1").one().p,
      );
    expect(await passwordOnly()).toBe(1);
    await status(intruder.post("/support/logout"));
    // As the previous release left the person's object: the intruder's browser in its list with
    // no word of what it proved; and an account limiter (new in this release) that knows no browser.
    await runInDurableObject(userStub(env, contact.id), async (_instance, state) => {
      const sql = state.storage.sql;
      sql.exec("ALTER TABLE known_devices DROP COLUMN proven");
      sql.exec("DROP TABLE otp_pending");
      sql.exec("DROP TABLE alerts_owed");
      sql.exec("DROP TABLE audits_owed");
      sql.exec("ALTER TABLE sessions DROP COLUMN country");
      sql.exec("UPDATE schema_version SET version = 3");
      new UserDurableObject(state, env);
    });
    await runInDurableObject(accountLimiter(env, "support", contact.email), async (_instance, state) => {
      state.storage.sql.exec("DELETE FROM browsers");
    });

    clock.advance(MINUTE);
    expect(await status(intruder.post("/support/login", { email: contact.email, password: contact.password }))).toBe(303);
    expect(await passwordOnly()).toBe(1);
  });
});

describe("a browser several people sign in from", () => {
  it("keeps its word for the accounts signed in most recently: one signed in again is not pushed out by a sixth", async () => {
    const clock = fakeClock(Date.UTC(2026, 10, 27, 9, 0, 0));
    const ip = "198.51.100.245";
    const desk = browser({ clock, ip });
    const people = [];
    for (let i = 0; i < 6; i++) people.push(await makeContact());
    const [first, ...rest] = people;
    for (const person of [first!, ...rest.slice(0, 4), first!, rest[4]!]) {
      await signIn(desk, "support", person);
      await status(desk.post("/support/logout"));
    }
    // A colleague's wrong guesses at made-up emails use up the address's attempts.
    for (let i = 0; i < LIMITS.passwordPerSource.limit; i++)
      await status(browser({ clock, ip }).post("/support/login", { email: `desk-${i}@example.com`, password: "guess" }));
    expect(await status(browser({ clock, ip }).post("/support/login", { email: first!.email, password: first!.password }))).toBe(429);
    // The desk's browser still signs in the person it vouches for, the first one included.
    expect(await status(desk.post("/support/login", { email: first!.email, password: first!.password }))).toBe(303);
    await status(desk.post("/support/logout"));
    expect(await status(desk.post("/support/login", { email: rest[4]!.email, password: rest[4]!.password }))).toBe(303);
  });
});

describe("a browser's word across a key rotation", () => {
  it("is made again under the new key at its next sign-in, so it still counts once the old key is gone", async () => {
    const clock = fakeClock(Date.UTC(2026, 10, 28, 9, 0, 0));
    const ip = "198.51.100.244";
    const contact = await makeContact();
    const newKey = "bmV3LWhtYWMta2V5LWZvci1yb3RhdGlvbi10ZXN0IS0hIQ==";
    const rotating: Partial<Env> = { HMAC_KEY: newKey, HMAC_KEY_PREVIOUS: env.HMAC_KEY };
    const after: Partial<Env> = { HMAC_KEY: newKey };
    const before = browser({ clock, ip });
    await signIn(before, "support", contact);
    await status(before.post("/support/logout"));
    const during = browser({ clock, ip, env: rotating, cookiesOf: before });
    await signIn(during, "support", contact);
    await status(during.post("/support/logout"));

    const laptop = browser({ clock, ip, env: after, cookiesOf: during });
    for (let i = 0; i < LIMITS.passwordPerSource.limit; i++)
      await status(browser({ clock, ip, env: after }).post("/support/login", { email: `rotation-${i}@example.com`, password: "guess" }));
    expect(
      await status(browser({ clock, ip, env: after }).post("/support/login", { email: contact.email, password: contact.password })),
    ).toBe(429);
    expect(await status(laptop.post("/support/login", { email: contact.email, password: contact.password }))).toBe(303);
  });
});
