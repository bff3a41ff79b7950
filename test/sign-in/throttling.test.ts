import { describe, expect, it } from "vitest";
import { MINUTE } from "../../src/lib/clock";
import { ACCOUNT_LIMITS, LIMITS } from "../../src/limits/limits";
import { env } from "cloudflare:workers";
import { createScheduledController } from "cloudflare:test";
import worker from "../../src/index";
import { OUTBOX_CRON } from "../../src/mail/outbox";
import { failingBatches } from "../helpers/faults";
import { browser, fakeClock } from "../helpers/app";
import { makeAgent, makeContact } from "../helpers/factories";
import { signIn } from "../helpers/auth";

const PAUSED = "Sign-in to your EdgeDesk account was paused";
async function pausedNotices(to: string) {
  const rows = await env.DB.prepare("SELECT body FROM dev_mailbox WHERE to_address = ? AND subject = ?")
    .bind(to, PAUSED)
    .all<{ body: string }>();
  return rows.results.map((r) => r.body);
}

async function burst(responses: Promise<Response>[]) {
  const all = await Promise.all(responses);
  const bodies = await Promise.all(all.map((r) => r.text()));
  return all.map((r, i) => ({ status: r.status, body: bodies[i]!, retryAfter: r.headers.get("Retry-After") }));
}

describe("SECURITY.md 3: password attempts", () => {
  it("throttles one account across IPs after 10 attempts, the right password included, and says when to retry", async () => {
    const clock = fakeClock();
    const agent = await makeAgent();
    const results = await burst(
      Array.from({ length: 14 }, (_, i) =>
        browser({ clock, ip: `203.0.113.${i + 1}` }).post("/agent/login", { email: agent.email, password: "wrong password" }),
      ),
    );
    expect(results.filter((r) => r.status === 401)).toHaveLength(ACCOUNT_LIMITS.unknown.limit);
    const throttled = results.filter((r) => r.status === 429);
    expect(throttled).toHaveLength(4);
    expect(throttled[0]!.body).toContain("Too many sign-in attempts");
    expect(Number(throttled[0]!.retryAfter)).toBeGreaterThan(0);

    const right = await browser({ clock, ip: "203.0.113.99" }).post("/agent/login", { email: agent.email, password: agent.password });
    expect(right.status).toBe(429);
    await right.text();

    clock.advance(15 * MINUTE);
    const later = await browser({ clock, ip: "203.0.113.99" }).post("/agent/login", { email: agent.email, password: agent.password });
    expect(later.status).toBe(303);
    await later.text();
  });

  it("throttles an unknown email exactly like a real one, so a 429 reveals nothing", async () => {
    const clock = fakeClock();
    const results = await burst(
      Array.from({ length: 12 }, (_, i) =>
        browser({ clock, ip: `203.0.114.${i + 1}` }).post("/agent/login", { email: "ghost@example.com", password: "wrong password" }),
      ),
    );
    expect(results.filter((r) => r.status === 401)).toHaveLength(10);
    expect(results.filter((r) => r.status === 429)).toHaveLength(2);
  });

  it("throttles one IP across many accounts", async () => {
    const clock = fakeClock();
    const ip = "198.51.100.200";
    const results = await burst(
      Array.from({ length: LIMITS.passwordPerSource.limit + 5 }, (_, i) =>
        browser({ clock, ip }).post("/support/login", { email: `someone${i}@example.com`, password: "guess" }),
      ),
    );
    expect(results.filter((r) => r.status === 401)).toHaveLength(LIMITS.passwordPerSource.limit);
    expect(results.filter((r) => r.status === 429)).toHaveLength(5);
    // Another address is not affected.
    const elsewhere = await browser({ clock, ip: "198.51.100.201" }).post("/support/login", {
      email: "someone@example.com",
      password: "guess",
    });
    expect(elsewhere.status).toBe(401);
    await elsewhere.text();
  });
});

describe("the account holder hears about throttling", () => {
  it("emails the holder once when a burst of wrong passwords throttles their account", async () => {
    const clock = fakeClock();
    const contact = await makeContact();
    const results = await burst(
      Array.from({ length: 60 }, (_, i) =>
        browser({ clock, ip: `203.0.115.${i + 1}` }).post("/support/login", { email: contact.email, password: "wrong password" }),
      ),
    );
    expect(results.filter((r) => r.status === 429)).toHaveLength(50);
    const notices = await pausedNotices(contact.email);
    expect(notices).toHaveLength(1);
    expect(notices[0]).toContain("too many wrong passwords for your EdgeDesk support portal account");
    expect(notices[0]).toContain("paused for 15 minutes");

    // Next window, throttled again: one more notice.
    clock.advance(15 * MINUTE);
    await burst(
      Array.from({ length: 12 }, (_, i) =>
        browser({ clock, ip: `203.0.116.${i + 1}` }).post("/support/login", { email: contact.email, password: "wrong" }),
      ),
    );
    expect(await pausedNotices(contact.email)).toHaveLength(2);
  });

  for (const when of ["before", "after"] as const) {
    it(`keeps the notice when D1 will not store it after the response (${when} its write): the minute's run stores and sends it, once`, async () => {
      const clock = fakeClock();
      const contact = await makeContact();
      // D1 refuses batches (the pause with its notice); everything the refusals themselves need works.
      const results = await burst(
        Array.from({ length: 12 }, (_, i) =>
          browser({ clock, ip: `203.0.117.${i + 1}`, env: { DB: failingBatches(env.DB, when) } }).post("/support/login", {
            email: contact.email,
            password: "wrong password",
          }),
        ),
      );
      expect(results.filter((r) => r.status === 429)).toHaveLength(2);
      const pauses = () =>
        env.DB.prepare("SELECT count(*) AS n FROM sign_in_pauses WHERE user_id = ?").bind(contact.id).first<{ n: number }>();
      // A write whose answer was lost did commit (its mail waits in the outbox); one refused did not.
      expect(await pausedNotices(contact.email)).toHaveLength(0);
      expect((await pauses())!.n).toBe(when === "after" ? 1 : 0);

      clock.advance(MINUTE);
      await worker.scheduled(createScheduledController({ scheduledTime: clock.now(), cron: OUTBOX_CRON }), env);
      const notices = await pausedNotices(contact.email);
      expect(notices).toHaveLength(1);
      expect(notices[0]).toContain("paused for 15 minutes");
      expect((await pauses())!.n).toBe(1);
      await worker.scheduled(createScheduledController({ scheduledTime: clock.now() + MINUTE, cron: OUTBOX_CRON }), env);
      expect(await pausedNotices(contact.email)).toHaveLength(1);
      const audited = await env.DB.prepare("SELECT count(*) AS n FROM audit_events WHERE event = 'sign_in.paused' AND target_id = ?")
        .bind(contact.id)
        .first<{ n: number }>();
      expect(audited!.n).toBe(1);
    });
  }

  it("drops an owed notice once its pause is over, rather than send it late", async () => {
    const clock = fakeClock();
    const contact = await makeContact();
    await burst(
      Array.from({ length: 12 }, (_, i) =>
        browser({ clock, ip: `203.0.118.${i + 1}`, env: { DB: failingBatches(env.DB) } }).post("/support/login", {
          email: contact.email,
          password: "wrong password",
        }),
      ),
    );
    clock.advance(16 * MINUTE);
    await worker.scheduled(createScheduledController({ scheduledTime: clock.now(), cron: OUTBOX_CRON }), env);
    expect(await pausedNotices(contact.email)).toHaveLength(0);
    expect((await env.OTP_KV.list({ prefix: "owed:throttle-notice:" })).keys).toHaveLength(0);
  });

  it("answers an unknown email exactly as a real one, and mails no one", async () => {
    const clock = fakeClock();
    const real = await makeAgent();
    const ghost = `ghost-${crypto.randomUUID()}@example.com`;
    const attempt = async (email: string, i: number) => {
      const r = await browser({ clock, ip: `203.0.117.${i}` }).post("/agent/login", { email, password: "wrong password" });
      return { status: r.status, retryAfter: r.headers.get("Retry-After"), body: (await r.text()).replaceAll(email, "EMAIL") };
    };
    for (let i = 1; i <= 10; i++) await Promise.all([attempt(real.email, i), attempt(ghost, i)]);
    const [forReal, forGhost] = await Promise.all([attempt(real.email, 11), attempt(ghost, 11)]);
    expect(forReal.status).toBe(429);
    expect(forGhost).toEqual(forReal);
    expect(await pausedNotices(real.email)).toHaveLength(1);
    expect(await pausedNotices(ghost)).toHaveLength(0);
  });
});

describe("windows slide", () => {
  it("let at most 10 guesses at one account through in any 15 minutes, however they straddle a window's end", async () => {
    const clock = fakeClock();
    const agent = await makeAgent();
    const guess = async (i: number) => {
      const r = await browser({ clock, ip: `203.0.118.${i}` }).post("/agent/login", { email: agent.email, password: `guess ${i}` });
      await r.text();
      return r.status;
    };
    const first = await guess(1);
    clock.advance(15 * MINUTE - 1_000);
    const before = await Promise.all(Array.from({ length: 9 }, (_, i) => guess(i + 2)));
    clock.advance(1_000);
    // The first guess is 15 minutes old now: one slot frees, the nine just before still count.
    const after = await Promise.all(Array.from({ length: 10 }, (_, i) => guess(i + 20)));
    expect([first, ...before].every((s) => s === 401)).toBe(true);
    expect(after.filter((s) => s === 401)).toHaveLength(1);
    expect(after.filter((s) => s === 429)).toHaveLength(9);
  });

  it("keep a browser's own guesses at an account to 10 per 15 minutes and 100 a day, known or not", async () => {
    const clock = fakeClock();
    const agent = await makeAgent();
    const laptop = browser({ clock, ip: "203.0.118.200" });
    await signIn(laptop, "agent", agent);
    await (await laptop.post("/agent/logout")).text();
    const statuses: number[] = [];
    // 12 bursts of 10 wrong passwords, one every 15 minutes: three hours, 120 guesses from the known browser.
    for (let round = 0; round < 12; round++) {
      for (let i = 0; i < 10; i++) {
        const r = await laptop.post("/agent/login", { email: agent.email, password: `mine ${round}-${i}` });
        await r.text();
        statuses.push(r.status);
      }
      const eleventh = await laptop.post("/agent/login", { email: agent.email, password: "one more" });
      await eleventh.text();
      expect(eleventh.status, `round ${round}: the known browser's 11th guess in 15 minutes`).toBe(429);
      clock.advance(15 * MINUTE);
    }
    expect(statuses.filter((s) => s === 401)).toHaveLength(ACCOUNT_LIMITS.daily.limit);
  });
});
