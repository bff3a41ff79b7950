import { describe, expect, it } from "vitest";
import { MINUTE } from "../../src/lib/clock";
import { browser, fakeClock } from "../helpers/app";
import { signIn } from "../helpers/auth";
import { makeAgent } from "../helpers/factories";
import { enrollThroughPages, extract, postPassword, recoveryCodesIn, setMfa, totpCode } from "../helpers/mfa";
import { shown, cellText } from "../helpers/html";

describe("regenerating one's recovery codes", () => {
  it("needs the password and app code, kills the old set, and is allowed once every two hours", async () => {
    await setMfa("agent", { authenticatorApp: true, emailOtp: false });
    const clock = fakeClock();
    const agent = await makeAgent();
    const client = browser({ clock });
    const { manualKey, recoveryCodes: oldCodes } = await enrollThroughPages(client, "agent", agent, clock);
    const account = await (await client.get("/agent/account")).text();
    expect(extract(account, "recovery-codes-left")).toContain("10 of 10 recovery codes left.");

    const noCode = await client.post("/agent/account/recovery-codes", { current: agent.password });
    expect(noCode.status).toBe(401);
    await noCode.text();

    clock.advance(30_000);
    const ok = await client.post("/agent/account/recovery-codes", { current: agent.password, code: totpCode(manualKey, clock.now()) });
    expect(ok.status).toBe(200);
    const newCodes = recoveryCodesIn(await ok.text());
    expect(newCodes).toHaveLength(10);
    const file = await (await client.get("/agent/account/recovery-codes.txt")).text();
    for (const code of newCodes) expect(file).toContain(code);

    clock.advance(30_000);
    const again = await client.post("/agent/account/recovery-codes", { current: agent.password, code: totpCode(manualKey, clock.now()) });
    expect(again.status).toBe(429);
    expect(await shown(again)).toContain("once every two hours");
    expect(Number(again.headers.get("Retry-After"))).toBeGreaterThan(115 * 60);

    // After 5 minutes the download needs a fresh confirmation.
    clock.advance(5 * MINUTE);
    expect((await client.get("/agent/account/recovery-codes.txt")).status).toBe(400);

    clock.advance(2 * 60 * MINUTE);
    const later = await client.post("/agent/account/recovery-codes", { current: agent.password, code: totpCode(manualKey, clock.now()) });
    expect(later.status).toBe(200);
    await later.text();

    const signing = browser({ clock });
    await postPassword(signing, "agent", agent);
    const old = await signing.post("/agent/login/verify/recovery", { code: oldCodes[5]! });
    expect(old.status).toBe(401);
    await old.text();
  });

  // Exactly one wins here already at the app code (each code step is accepted once, in order);
  // the two-hour limit's own race is proven on the limiter below.
  it("lets exactly one of several parallel regenerations through", async () => {
    await setMfa("agent", { authenticatorApp: true, emailOtp: false });
    const clock = fakeClock();
    const agent = await makeAgent();
    const client = browser({ clock });
    const { manualKey } = await enrollThroughPages(client, "agent", agent, clock);
    // Each request needs its own code step, so spread them over steps T-1, T, T+1 of a later time.
    clock.advance(5 * MINUTE);
    const codes = [-1, 0, 1].map((o) => totpCode(manualKey, clock.now(), o));
    const responses = await Promise.all(
      codes.map((code) => client.post("/agent/account/recovery-codes", { current: agent.password, code })),
    );
    await Promise.all(responses.map((r) => r.text()));
    expect(responses.filter((r) => r.status === 200)).toHaveLength(1);
  });
});

describe("the two-hour limit under a burst", () => {
  it("allows exactly one of 50 parallel attempts", async () => {
    const { env } = await import("cloudflare:workers");
    const { countAttempt, LIMITS, limitKeys } = await import("../../src/limits/limits");
    const now = fakeClock().now();
    const results = await Promise.all(
      Array.from({ length: 50 }, () => countAttempt(env, limitKeys.recoveryCodes("agt_burstburstburst"), LIMITS.recoveryCodesPerUser, now)),
    );
    expect(results.filter((r) => r.allowed)).toHaveLength(1);
  });
});

describe("setting up the authenticator app from My account", () => {
  it("is offered once the portal uses the app, and walks through enrollment back to the portal", async () => {
    await setMfa("agent", { authenticatorApp: false, emailOtp: false });
    const clock = fakeClock();
    const agent = await makeAgent();
    const client = browser({ clock });
    await signIn(client, "agent", agent);
    expect(await (await client.get("/agent/account")).text()).not.toContain("Set up authenticator app");

    await setMfa("agent", { authenticatorApp: true }); // "On next login": this session lives on
    clock.advance(3 * 60 * MINUTE); // long after sign-in: the part-way stage counts from this confirmation
    const page = await (await client.get("/agent/account")).text();
    expect(cellText(page)).toContain("Set up authenticator app");
    const start = await client.post("/agent/account/mfa/enroll", { current: agent.password });
    await start.text();
    expect(start.headers.get("Location")).toBe("/agent/login/enroll");
    const enroll = await (await client.get("/agent/login/enroll")).text();
    const key = extract(enroll, "totp-secret");
    await (await client.post("/agent/login/enroll", { code: totpCode(key, clock.now()) })).text();
    expect(recoveryCodesIn(await (await client.get("/agent/login/recovery-codes")).text())).toHaveLength(10);
    const finish = await client.post("/agent/login/finish");
    await finish.text();
    expect(finish.headers.get("Location")).toBe("/agent");
    expect(await shown(await client.get("/agent/account"))).toContain("Authenticator app: set up.");
    await setMfa("agent", { authenticatorApp: false });
  });
});
