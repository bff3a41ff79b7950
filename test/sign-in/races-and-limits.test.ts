import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { userStub } from "../../src/auth/user-object";
import { MINUTE } from "../../src/lib/clock";
import { browser, fakeClock, type Browser } from "../helpers/app";
import { makeAgent, makeContact } from "../helpers/factories";
import { enrollThroughPages, latestEmailCode, mailCount, postPassword, setMfa, totpCode } from "../helpers/mfa";
import { shown } from "../helpers/html";

async function statuses(responses: Promise<Response>[]) {
  const all = await Promise.all(responses);
  await Promise.all(all.map((r) => r.text()));
  return all.map((r) => r.status);
}

const count = (list: number[], status: number) => list.filter((s) => s === status).length;

/** A code issued and its mail accepted, as sendEmailOtp does: only then is it the code that works. */
async function issueAndConfirm(stub: ReturnType<typeof userStub>, userId: string, flowId: string, now: number) {
  const issued = await stub.issueEmailOtp(userId, flowId, now);
  if (!issued.ok) throw new Error("no code issued");
  expect(await stub.confirmEmailOtp(userId, issued.challengeId, now)).toBe(true);
  return issued;
}

describe("SECURITY.md 1: guessing one email code", () => {
  it("evaluates at most 5 of 200 parallel guesses, then burns the code", async () => {
    const contact = await makeContact();
    const stub = userStub(env, contact.id);
    const now = fakeClock().now();
    const issued = await issueAndConfirm(stub, contact.id, "flow-1", now);
    const wrong = issued.code === "000000" ? "111111" : "000000";
    const results = await Promise.all(Array.from({ length: 200 }, () => stub.verifyEmailOtp(contact.id, "flow-1", wrong, now)));
    expect(results.filter((r) => r === "wrong")).toHaveLength(5);
    expect(results.filter((r) => r === "burned")).toHaveLength(195);
    expect(await stub.verifyEmailOtp(contact.id, "flow-1", issued.code, now)).toBe("burned");
  });

  it("over HTTP: 200 parallel guesses get no success, and the right code fails afterwards", async () => {
    await setMfa("support", { authenticatorApp: false, emailOtp: true });
    const clock = fakeClock();
    const contact = await makeContact();
    const client = browser({ clock });
    await postPassword(client, "support", contact);
    const code = await latestEmailCode(contact.email);
    const wrong = code === "000000" ? "111111" : "000000";
    const results = await statuses(Array.from({ length: 200 }, () => client.post("/support/login/verify/email", { code: wrong })));
    expect(count(results, 303)).toBe(0);
    expect(count(results, 401)).toBe(10); // the account limit lets 10 through; the code burns after 5
    expect(count(results, 429)).toBe(190);
    const right = await client.post("/support/login/verify/email", { code });
    expect(right.status).toBe(429);
    await right.text();
    // The part-way sign-in itself ends after 15 minutes; the code dies with it.
    clock.advance(15 * MINUTE);
    const later = await client.post("/support/login/verify/email", { code });
    expect(later.status).toBe(401);
    expect(await shown(later)).toContain("Your session has ended");
  });

  it("keeps the failure count across a resend", async () => {
    const contact = await makeContact();
    const stub = userStub(env, contact.id);
    let now = fakeClock().now();
    const first = await issueAndConfirm(stub, contact.id, "flow-2", now);
    for (let i = 0; i < 4; i++) await stub.verifyEmailOtp(contact.id, "flow-2", "999999" === first.code ? "888888" : "999999", now);
    now += 31_000;
    const second = await issueAndConfirm(stub, contact.id, "flow-2", now);
    await stub.verifyEmailOtp(contact.id, "flow-2", "999999" === second.code ? "888888" : "999999", now);
    expect(await stub.verifyEmailOtp(contact.id, "flow-2", second.code, now)).toBe("burned");
  });
});

describe("SECURITY.md 2: second-factor failures are counted per account, across sign-in flows", () => {
  it("throttles after 10 failures from fresh flows; a missing code counts; even the right code waits", async () => {
    await setMfa("agent", { authenticatorApp: true, emailOtp: false });
    const clock = fakeClock();
    const agent = await makeAgent();
    const { manualKey } = await enrollThroughPages(browser({ clock }), "agent", agent, clock);
    clock.advance(30_000);
    const right = () => totpCode(manualKey, clock.now());
    const wrong = () => (right() === "123456" ? "654321" : "123456");

    const seen: number[] = [];
    for (let flow = 0; flow < 4; flow++) {
      const client = browser({ clock });
      await postPassword(client, "agent", agent);
      seen.push(...(await statuses([client.post("/agent/login/verify/app", { code: wrong() })])));
      seen.push(...(await statuses([client.post("/agent/login/verify/app", {})])));
      seen.push(...(await statuses([client.post("/agent/login/verify/recovery", { code: "aaaa-bbbb-cccc" })])));
    }
    expect(seen.slice(0, 10)).toEqual(Array(10).fill(401));
    expect(seen.slice(10)).toEqual([429, 429]);

    const fresh = browser({ clock });
    await postPassword(fresh, "agent", agent);
    const blocked = await fresh.post("/agent/login/verify/app", { code: right() });
    expect(blocked.status).toBe(429);
    expect(Number(blocked.headers.get("Retry-After"))).toBeGreaterThan(0);
    expect(await shown(blocked)).toContain("Too many wrong codes");
    // The holder is told once; whoever tried knew the password.
    const notices = await env.DB.prepare(
      "SELECT body FROM dev_mailbox WHERE to_address = ? AND subject = 'Sign-in to your EdgeDesk account was paused'",
    )
      .bind(agent.email)
      .all<{ body: string }>();
    expect(notices.results).toHaveLength(1);
    expect(notices.results[0]!.body).toContain("too many wrong verification codes");
    expect(notices.results[0]!.body).toContain("Whoever tried knew your password");

    clock.advance(15 * MINUTE);
    const again = browser({ clock });
    await postPassword(again, "agent", agent);
    const later = await again.post("/agent/login/verify/app", { code: right() });
    await later.text();
    expect(later.headers.get("Location")).toBe("/agent");
  });
});

describe("SECURITY.md 5-6: each code works exactly once", () => {
  async function pendingFlows(
    n: number,
    user: { email: string; password: string },
    clock: ReturnType<typeof fakeClock>,
  ): Promise<Browser[]> {
    const flows = Array.from({ length: n }, () => browser({ clock }));
    for (const flow of flows) await postPassword(flow, "agent", user);
    return flows;
  }

  it("one TOTP code submitted 50 times from 10 sign-ins in parallel: exactly one succeeds", async () => {
    await setMfa("agent", { authenticatorApp: true, emailOtp: false });
    const clock = fakeClock();
    const agent = await makeAgent();
    const { manualKey } = await enrollThroughPages(browser({ clock }), "agent", agent, clock);
    clock.advance(30_000);
    const flows = await pendingFlows(10, agent, clock);
    const code = totpCode(manualKey, clock.now());
    const results = await statuses(flows.flatMap((f) => Array.from({ length: 5 }, () => f.post("/agent/login/verify/app", { code }))));
    expect(count(results, 303)).toBe(1);
    // The rest are refused: as reused (401) or, past 10 counted attempts, throttled (429).
    expect(count(results, 401) + count(results, 429)).toBe(49);
    expect(count(results, 401)).toBeGreaterThanOrEqual(9);
  });

  it("one recovery code submitted 50 times from 10 sign-ins in parallel: exactly one succeeds", async () => {
    await setMfa("agent", { authenticatorApp: true, emailOtp: false });
    const clock = fakeClock();
    const agent = await makeAgent();
    const { recoveryCodes } = await enrollThroughPages(browser({ clock }), "agent", agent, clock);
    const flows = await pendingFlows(10, agent, clock);
    const results = await statuses(
      flows.flatMap((f) => Array.from({ length: 5 }, () => f.post("/agent/login/verify/recovery", { code: recoveryCodes[0]! }))),
    );
    expect(count(results, 303)).toBe(1);
    expect(count(results, 401) + count(results, 429)).toBe(49);
    expect(count(results, 401)).toBeGreaterThanOrEqual(9);
  });

  it("one email code submitted 50 times in parallel: exactly one succeeds", async () => {
    await setMfa("support", { authenticatorApp: false, emailOtp: true });
    const clock = fakeClock();
    const contact = await makeContact();
    const client = browser({ clock });
    await postPassword(client, "support", contact);
    const code = await latestEmailCode(contact.email);
    const results = await statuses(Array.from({ length: 50 }, () => client.post("/support/login/verify/email", { code })));
    expect(count(results, 303)).toBe(1);
    expect(results.filter((s) => s !== 303).every((s) => s === 401 || s === 429)).toBe(true);
  });
});

describe("bursts against counted things", () => {
  it("50 parallel Resend OTP after the cooldown: exactly one code goes out, the rest wait with Retry-After", async () => {
    await setMfa("support", { authenticatorApp: false, emailOtp: true });
    const clock = fakeClock();
    const contact = await makeContact();
    const client = browser({ clock });
    await postPassword(client, "support", contact);
    expect(await mailCount(contact.email)).toBe(1);
    clock.advance(31_000);
    const all = await Promise.all(Array.from({ length: 50 }, () => client.post("/support/login/verify/email/send")));
    await Promise.all(all.map((r) => r.text()));
    expect(all.filter((r) => r.status === 303)).toHaveLength(1);
    const waiting = all.filter((r) => r.status === 429);
    expect(waiting).toHaveLength(49);
    expect(waiting.every((r) => Number(r.headers.get("Retry-After")) >= 29)).toBe(true);
    expect(await mailCount(contact.email)).toBe(2);
  });

  it("50 parallel requests for new recovery codes: exactly one request is filed", async () => {
    await setMfa("agent", { authenticatorApp: true, emailOtp: false });
    const clock = fakeClock();
    const agent = await makeAgent();
    await enrollThroughPages(browser({ clock }), "agent", agent, clock);
    const client = browser({ clock });
    await postPassword(client, "agent", agent);
    const results = await statuses(Array.from({ length: 50 }, () => client.post("/agent/login/verify/request-codes")));
    expect(results.filter((s) => s === 429)).toHaveLength(49);
    expect(results.filter((s) => s !== 429)).toHaveLength(1);
    const filed = await env.DB.prepare("SELECT count(*) AS n FROM recovery_code_requests WHERE user_id = ?")
      .bind(agent.id)
      .first<{ n: number }>();
    expect(filed!.n).toBe(1);
  });
});
