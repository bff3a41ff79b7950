// SECURITY.md 44-46: what a stranger's requests leave behind. Each case sends a bounded loop of
// unauthenticated requests and reads storage afterwards: audit rows, D1 rows, Durable Objects.
import { env } from "cloudflare:workers";
import { listDurableObjectIds, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { and, eq, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sessionCookieName } from "../../src/request/session-cookie";
import { auditEvents, passkeyChallenges } from "../../src/db/schema";
import { MINUTE } from "../../src/lib/clock";
import { randomToken } from "../../src/lib/crypto";
import { LIMITS, limitKeys } from "../../src/limits/limits";
import { browser, type Browser, fakeClock } from "../helpers/app";
import { db, makeAdmin } from "../helpers/factories";
import { setMfa } from "../helpers/mfa";
import { softwareAuthenticator } from "../helpers/webauthn";
import { type Provider, setAccess, signInThrough, startProvider } from "../helpers/oidc-provider";

async function statusOf(response: Promise<Response>): Promise<number> {
  const r = await response;
  await r.text();
  return r.status;
}

const tally = (statuses: number[]) => {
  const counts: Record<number, number> = {};
  for (const s of statuses) counts[s] = (counts[s] ?? 0) + 1;
  return counts;
};

async function inBatches(count: number, perBatch: number, request: (i: number) => Promise<number>): Promise<number[]> {
  const statuses: number[] = [];
  for (let start = 0; start < count; start += perBatch)
    statuses.push(...(await Promise.all(Array.from({ length: Math.min(perBatch, count - start) }, (_, j) => request(start + j)))));
  return statuses;
}

const auditRows = async (event: string, email: string) =>
  (
    await db()
      .select()
      .from(auditEvents)
      .where(and(eq(auditEvents.event, event), sql`json_extract(${auditEvents.details}, '$.email') = ${email}`))
  ).length;

let provider: Provider;
beforeAll(async () => {
  provider = await startProvider();
  await setMfa("support", { authenticatorApp: false, emailOtp: false, passkeys: true, passwordlessPasskeys: true });
});
afterAll(async () => {
  provider.stop();
  await setMfa("support", { authenticatorApp: false, emailOtp: false, passkeys: false, passwordlessPasskeys: false });
  await setAccess("support", "password");
});

describe("refused requests write no row of their own", () => {
  it("400 sign-ins at one made-up email from one address leave one throttled row, nothing per attempt", async () => {
    const clock = fakeClock();
    const email = `nobody-${crypto.randomUUID()}@example.com`;
    const statuses = await inBatches(400, 40, () =>
      statusOf(browser({ clock, ip: "203.0.120.1", userAgent: "x".repeat(512) }).post("/agent/login", { email, password: "guess" })),
    );
    expect(tally(statuses)).toEqual({ 401: 10, 429: 390 });
    expect(await auditRows("sign_in.throttled", email)).toBe(1);
    // The ten evaluated failures were at no account: they are the throttled row's, not rows of their own.
    expect(await auditRows("sign_in.failed", email)).toBe(0);
  });

  it("made-up emails from a throttled source reach no account's object, so make none", async () => {
    const clock = fakeClock();
    const ip = "203.0.120.6";
    const spray = (i: number) =>
      statusOf(browser({ clock, ip }).post("/support/login", { email: `spray-${i}@example.com`, password: "guess" }));
    expect(tally(await inBatches(LIMITS.passwordPerSource.limit, 25, spray))).toEqual({ 401: LIMITS.passwordPerSource.limit });
    const objects = (await listDurableObjectIds(env.LIMITER_DO)).length;
    expect(tally(await inBatches(100, 25, (i) => spray(1000 + i)))).toEqual({ 429: 100 });
    expect((await listDurableObjectIds(env.LIMITER_DO)).length).toBe(objects);
  });

  it("made-up browser cookies, and made-up word that a browser is known, from a throttled source make none either", async () => {
    const clock = fakeClock();
    const ip = "203.0.120.9";
    const spray = (i: number, cookie?: string) =>
      statusOf(
        browser({ clock, ip }).post(
          "/support/login",
          { email: `cookie-${i}@example.com`, password: "guess" },
          cookie ? { headers: { Cookie: cookie } } : undefined,
        ),
      );
    expect(tally(await inBatches(LIMITS.passwordPerSource.limit, 25, spray))).toEqual({ 401: LIMITS.passwordPerSource.limit });
    const objects = (await listDurableObjectIds(env.LIMITER_DO)).length;
    const forged = (i: number) =>
      `__Host-edgedesk_browser=${randomToken()}; __Host-edgedesk_support_known=${i.toString(16).padStart(8, "0")}.${"ab".repeat(32)}`;
    expect(tally(await inBatches(100, 25, (i) => spray(1000 + i, forged(i))))).toEqual({ 429: 100 });
    expect((await listDurableObjectIds(env.LIMITER_DO)).length).toBe(objects);
  });

  it("reset links asked for made-up emails from a throttled source make no objects either", async () => {
    const ip = "203.0.120.7";
    const ask = (i: number) => statusOf(browser({ ip }).post("/support/login/forgot", { email: `forgot-${i}@example.com` }));
    expect(tally(await inBatches(LIMITS.passwordResetPerSource.limit, 10, ask))).toEqual({ 200: LIMITS.passwordResetPerSource.limit });
    const objects = (await listDurableObjectIds(env.LIMITER_DO)).length;
    expect(tally(await inBatches(50, 25, (i) => ask(1000 + i)))).toEqual({ 429: 50 });
    expect((await listDurableObjectIds(env.LIMITER_DO)).length).toBe(objects);
  });

  it("a Microsoft callback for a flow nobody started writes nothing and calls nobody", async () => {
    await setAccess("support", "both");
    const before = (await db().select().from(auditEvents)).length;
    const limitersBefore = (await listDurableObjectIds(env.LIMITER_DO)).length;
    const tokenRequests = provider.tokenRequests();
    const stranger = browser({ ip: "203.0.120.2" });
    const forgedFlow = btoa(
      JSON.stringify({ state: "s".repeat(30), codeVerifier: "v".repeat(50), nonce: "n".repeat(30), next: "/support" }),
    )
      .replace(/\+/g, "-")
      .replace(/\//g, "_");
    const statuses = await inBatches(100, 20, (i) =>
      statusOf(
        i % 2
          ? stranger.get("/support/sso/callback?error=access_denied&error_description=AADSTS50105")
          : stranger.get(`/support/sso/callback?code=made-up-${i}&state=${"s".repeat(30)}`, {
              headers: { Cookie: `__Host-edgedesk_sso_support=${forgedFlow}` },
            }),
      ),
    );
    expect(tally(statuses)).toEqual({ 400: 100 });
    expect((await db().select().from(auditEvents)).length).toBe(before);
    expect((await listDurableObjectIds(env.LIMITER_DO)).length).toBe(limitersBefore);
    expect(provider.tokenRequests()).toBe(tokenRequests);
  });
});

describe("Microsoft sign-ins a stranger starts", () => {
  it("count each callback against its source: 60 flows from one address reach Microsoft and the audit log 50 times, then nothing", async () => {
    await setAccess("support", "both");
    const clock = fakeClock();
    const ip = "203.0.120.8";
    const before = (await db().select().from(auditEvents)).length;
    const tokenRequests = provider.tokenRequests();
    const statuses: number[] = [];
    for (let i = 0; i < 60; i++) {
      const stranger = browser({ clock, ip });
      const start = await stranger.get("/support/sso/start");
      await start.text();
      const state = new URL(start.headers.get("Location")!).searchParams.get("state")!;
      statuses.push(
        await statusOf(
          stranger.get(
            i % 2 ? `/support/sso/callback?error=access_denied&state=${state}` : `/support/sso/callback?code=made-up-${i}&state=${state}`,
          ),
        ),
      );
    }
    expect(tally(statuses)).toEqual({ 400: LIMITS.ssoCallbacksPerSource.limit, 429: 60 - LIMITS.ssoCallbacksPerSource.limit });
    expect(provider.tokenRequests() - tokenRequests).toBe(LIMITS.ssoCallbacksPerSource.limit / 2);
    expect((await db().select().from(auditEvents)).length - before).toBe(LIMITS.ssoCallbacksPerSource.limit / 2);
  });
});

describe("Microsoft callbacks, more", () => {
  it("an error callback replayed with its flow is refused as used: one audit row, however often it comes", async () => {
    await setAccess("support", "both");
    const clock = fakeClock();
    const stranger = browser({ clock, ip: "203.0.120.10" });
    const start = await stranger.get("/support/sso/start");
    await start.text();
    const state = new URL(start.headers.get("Location")!).searchParams.get("state")!;
    const flow = `__Host-edgedesk_sso_support=${stranger.cookie("__Host-edgedesk_sso_support")}`;
    const before = (await db().select().from(auditEvents)).length;
    const statuses: number[] = [];
    for (let i = 0; i < 10; i++)
      statuses.push(
        await statusOf(stranger.get(`/support/sso/callback?error=access_denied&state=${state}`, { headers: { Cookie: flow } })),
      );
    expect(tally(statuses)).toEqual({ 400: 10 });
    expect((await db().select().from(auditEvents)).length - before).toBe(1);
  });

  it("count one site's /64s together: 250 flows from five /64s in one /48 reach the callback 200 times, then none makes an object", async () => {
    await setAccess("support", "both");
    const clock = fakeClock();
    const flowFrom = async (ip: string) => {
      const stranger = browser({ clock, ip });
      const start = await stranger.get("/support/sso/start");
      await start.text();
      const state = new URL(start.headers.get("Location")!).searchParams.get("state")!;
      return statusOf(stranger.get(`/support/sso/callback?error=access_denied&state=${state}`));
    };
    const statuses = await inBatches(250, 25, (i) => flowFrom(`2001:db8:99:${Math.floor(i / 50) + 1}::${(i % 50) + 1}`));
    expect(tally(statuses)).toEqual({ 400: LIMITS.ssoCallbacksPerWiderSource.limit, 429: 250 - LIMITS.ssoCallbacksPerWiderSource.limit });
    const objects = (await listDurableObjectIds(env.LIMITER_DO)).length;
    expect(tally(await inBatches(20, 10, (i) => flowFrom(`2001:db8:99:${100 + i}::1`)))).toEqual({ 429: 20 });
    expect((await listDurableObjectIds(env.LIMITER_DO)).length).toBe(objects);
  });

  it("give a re-authentication's count back: 60 confirmations with Microsoft from one address all go through", async () => {
    await setAccess("support", "both");
    const clock = fakeClock();
    const client = browser({ clock, ip: "203.0.120.11" });
    const oid = `oid-${crypto.randomUUID()}`;
    const email = `again-${crypto.randomUUID().slice(0, 8)}@tenant-a.example`;
    expect((await signInThrough(provider, client, "support", clock.now(), { oid, email, xms_edov: true })).response.status).toBe(303);
    const statuses: number[] = [];
    for (let i = 0; i < 60; i++) {
      const again = await signInThrough(
        provider,
        client,
        "support",
        clock.now(),
        { oid, email, xms_edov: true, auth_time: Math.floor(clock.now() / 1000) },
        "/support/sso/start?reauth=1&next=/support/account",
      );
      statuses.push(again.response.status);
    }
    expect(tally(statuses)).toEqual({ 303: 60 });
  });
});

describe("sources", () => {
  it("count an IPv6 client by its /64: 200 guesses from 200 addresses in one /64 get 50", async () => {
    const clock = fakeClock();
    // Ten guesses at each of 20 made-up emails, each from an address of its own.
    const statuses = await inBatches(200, 25, (i) =>
      statusOf(
        browser({ clock, ip: `2001:db8:77:1::${(i + 1).toString(16)}` }).post("/support/login", {
          email: `v6-${i % 20}@example.com`,
          password: `guess ${i}`,
        }),
      ),
    );
    expect(tally(statuses)).toEqual({ 401: LIMITS.passwordPerSource.limit, 429: 200 - LIMITS.passwordPerSource.limit });
  });

  it("once one site's /48 is refused, guesses from its other /64s make no object", async () => {
    const clock = fakeClock();
    const guess = (prefix: string, i: number) =>
      statusOf(
        browser({ clock, ip: `${prefix}::${(i % 40) + 1}` }).post("/support/login", {
          email: `w48-${i % 50}@example.com`,
          password: `guess ${i}`,
        }),
      );
    expect(
      tally(await inBatches(LIMITS.passwordPerWiderSource.limit, 25, (i) => guess(`2001:db8:98:${Math.floor(i / 40) + 1}`, i))),
    ).toEqual({ 401: LIMITS.passwordPerWiderSource.limit });
    const objects = (await listDurableObjectIds(env.LIMITER_DO)).length;
    expect(tally(await inBatches(30, 10, (i) => guess(`2001:db8:98:${100 + i}`, 1000 + i)))).toEqual({ 429: 30 });
    expect((await listDurableObjectIds(env.LIMITER_DO)).length).toBe(objects);
  });

  it("count one site's /64s together too: 300 guesses from ten /64s inside one /48 get 200", async () => {
    const clock = fakeClock();
    const statuses = await inBatches(300, 25, (i) =>
      statusOf(
        browser({ clock, ip: `2001:db8:78:${(i % 10) + 1}::${i + 1}` }).post("/support/login", {
          email: `wide-${i % 30}@example.com`,
          password: `guess ${i}`,
        }),
      ),
    );
    expect(tally(statuses)).toEqual({ 401: LIMITS.passwordPerWiderSource.limit, 429: 300 - LIMITS.passwordPerWiderSource.limit });
  });

  it("share a ceiling on password hashes a minute per portal, however many sources join in", async () => {
    // A minute of its own: the earlier cases' failures also counted against the portal.
    const clock = fakeClock(Date.UTC(2026, 10, 23, 9, 0, 0));
    const over = LIMITS.hashesPerPortal.limit + 40;
    // Within every source's and every account's limit: 16 sources, 64 made-up emails.
    const statuses = await inBatches(over, 40, (i) =>
      statusOf(
        browser({ clock, ip: `198.18.0.${(i % 16) + 1}` }).post("/agent/login", {
          email: `many-${i % 64}@example.com`,
          password: `guess ${i}`,
        }),
      ),
    );
    expect(tally(statuses)).toEqual({ 401: LIMITS.hashesPerPortal.limit, 429: 40 });
    // A minute later the portal hashes again; the other portal was never held back.
    expect(
      await statusOf(browser({ clock, ip: "198.19.0.1" }).post("/support/login", { email: "other-portal@example.com", password: "guess" })),
    ).toBe(401);
    clock.advance(MINUTE);
    expect(
      await statusOf(browser({ clock, ip: "198.19.0.2" }).post("/agent/login", { email: "later@example.com", password: "guess" })),
    ).toBe(401);
  });
});

describe("objects", () => {
  it("a forged session cookie reaches no object: 300 of them, made-up ids and the admin's, create none", async () => {
    const admin = await makeAdmin();
    const stranger: Browser = browser({ ip: "203.0.120.3" });
    const before = (await listDurableObjectIds(env.USER_DO)).length;
    const statuses = await inBatches(300, 30, (i) => {
      const id = i % 3 === 0 ? admin.id : `agt_${randomToken(10).slice(0, 16)}`;
      return statusOf(stranger.get("/agent/login", { headers: { Cookie: `${sessionCookieName("agent")}=${id}.${randomToken()}` } }));
    });
    expect(tally(statuses)).toEqual({ 200: 300 });
    expect((await listDurableObjectIds(env.USER_DO)).length).toBe(before);
    // Nor does one shaped like ours, with a MAC made up.
    const shaped = `${admin.id}.${randomToken()}.0123abcd.${"0".repeat(64)}`;
    expect(await statusOf(stranger.get("/agent", { headers: { Cookie: `${sessionCookieName("agent")}=${shaped}` } }))).toBe(303);
  });

  it("passkey sign-in options store nothing: 1,000 calls leave the challenge table as it was", async () => {
    const rows = async () => (await db().select().from(passkeyChallenges)).length;
    const before = await rows();
    const statuses = await inBatches(1000, 50, () =>
      statusOf(
        browser({ ip: "203.0.120.4" }).request("/support/login/passkey/options", {
          method: "POST",
          body: "{}",
          headers: { "Content-Type": "application/json" },
        }),
      ),
    );
    expect(tally(statuses)).toEqual({ 200: 1000 });
    expect(await rows()).toBe(before);
  });

  it("answers naming a passkey nobody registered store nothing either", async () => {
    const rows = async () => (await db().select().from(passkeyChallenges)).length;
    const before = await rows();
    const key = await softwareAuthenticator();
    const answer = async () => {
      const stranger = browser({ ip: "203.0.120.12" });
      const options = (await (
        await stranger.request("/support/login/passkey/options", {
          method: "POST",
          body: "{}",
          headers: { "Content-Type": "application/json" },
        })
      ).json()) as { challenge: string };
      return statusOf(
        stranger.request("/support/login/passkey", {
          method: "POST",
          body: JSON.stringify({ response: await key.assert(options) }),
          headers: { "Content-Type": "application/json" },
        }),
      );
    };
    expect(tally(await inBatches(30, 10, answer))).toEqual({ 401: 30 });
    expect(await rows()).toBe(before);
  });

  it("a limiter with nothing left to count deletes its storage", async () => {
    const clock = fakeClock(Date.now());
    const email = `passing-${crypto.randomUUID()}@example.com`;
    await statusOf(browser({ clock, ip: "203.0.120.5" }).post("/agent/login", { email, password: "guess" }));
    const keys = [limitKeys.account("agent", email), limitKeys.source("203.0.120.5")];
    const stubs = keys.map((key) => env.LIMITER_DO.get(env.LIMITER_DO.idFromName(key)));
    const stored = (stub: (typeof stubs)[number]) =>
      runInDurableObject(
        stub,
        (_instance, state) =>
          state.storage.sql
            .exec<{ n: number }>("SELECT count(*) AS n FROM sqlite_master WHERE type = 'table' AND name NOT LIKE '\\_cf\\_%' ESCAPE '\\'")
            .one().n,
      );
    for (const stub of stubs) expect(await stored(stub)).toBeGreaterThan(0);
    // Its alarm comes once its windows have ended (the day's, for the account); here, it comes at once.
    await runInDurableObject(stubs[0]!, async (_instance, state) => {
      state.storage.sql.exec("UPDATE hits SET at = at - 2 * 86400000");
    });
    await runInDurableObject(stubs[1]!, async (_instance, state) => {
      state.storage.sql.exec("UPDATE hits SET at = at - 2 * 86400000");
    });
    for (const stub of stubs) {
      expect(await runDurableObjectAlarm(stub)).toBe(true);
      expect(await stored(stub)).toBe(0);
    }
  });
});
