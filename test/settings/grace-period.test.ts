// An enforcement grace period for the authenticator app, and enrollment coverage.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { portalStub } from "../../src/auth/sessions";
import { DAY, HOUR } from "../../src/lib/clock";
import { browser, fakeClock } from "../helpers/app";
import { signIn } from "../helpers/auth";
import { makeAdmin, makeAgent } from "../helpers/factories";
import { enrollThroughPages, postPassword, setMfa } from "../helpers/mfa";
import { findAll, links, listItems, shown, textIn, textOf } from "../helpers/html";

const PAGE = "/agent/settings/security/agents/mfa";

async function applyGrace(client: ReturnType<typeof browser>, graceDays: string, apply = "next_login") {
  const r = await client.post(`${PAGE}/apply`, { authenticatorApp: "on", issuerName: "EdgeDesk", emailOtp: "", graceDays, apply });
  await r.text();
  return r;
}

describe("the grace period", () => {
  it("lets people skip setting up the app until the deadline, with a reminder, and not after", async () => {
    await setMfa("agent", { authenticatorApp: false, emailOtp: false });
    const clock = fakeClock();
    const admin = await makeAdmin();
    const adminClient = browser({ clock });
    await signIn(adminClient, "agent", admin);
    // From when it was saved (the save answers a few seconds later: src/portal/state-cache.ts).
    const savedAt = clock.now();
    const applied = await applyGrace(adminClient, "7");
    expect(applied.headers.get("Location")).toBe(`${PAGE}?saved=next_login`);
    const deadline = savedAt + 7 * DAY;
    expect((await portalStub(env, "agent").getPolicy()).mfa).toMatchObject({ authenticatorApp: true, graceDays: 7, graceUntil: deadline });

    clock.advance(DAY);
    const agent = await makeAgent();
    const client = browser({ clock });
    expect((await postPassword(client, "agent", agent)).headers.get("Location")).toBe("/agent/login/enroll");
    const enroll = await (await client.get("/agent/login/enroll")).text();
    expect(enroll).toContain("Skip for now");
    expect(enroll).toContain("You can skip this until Sunday, 29 November 2026, 09:00 UTC.");
    const skipped = await client.post("/agent/login/enroll/skip");
    await skipped.text();
    expect(skipped.headers.get("Location")).toBe("/agent");
    const home = await (await client.get("/agent")).text();
    expect(textOf(home, '[data-testid="grace-reminder"]')).toBe(
      "Your administrator requires an authenticator app from Sunday, 29 November 2026, 09:00 UTC. Set up now",
    );
    expect(links(home)).toContainEqual({ text: "Set up now", href: "/agent/account#two-step" });
    const log = await (await client.get("/agent/account")).text();
    expect(log).toContain("Setting up the authenticator app was skipped for now");

    // After the deadline: no Skip, and skipping by hand is refused.
    clock.set(deadline + 60_000);
    const late = browser({ clock });
    expect((await postPassword(late, "agent", agent)).headers.get("Location")).toBe("/agent/login/enroll");
    expect(await (await late.get("/agent/login/enroll")).text()).not.toContain("Skip for now");
    const refused = await late.post("/agent/login/enroll/skip");
    expect(refused.status).toBe(403);
    expect(await shown(refused)).toContain("The time to set up the app has ended");
    expect((await late.get("/agent")).status).toBe(303);
  });

  it("shows no reminder to someone who set the app up, and restarts or ends with the setting", async () => {
    await setMfa("agent", { authenticatorApp: false, emailOtp: false });
    const clock = fakeClock();
    const admin = await makeAdmin();
    const adminClient = browser({ clock });
    await signIn(adminClient, "agent", admin);
    await applyGrace(adminClient, "3");
    const agent = await makeAgent();
    const client = browser({ clock });
    await enrollThroughPages(client, "agent", agent, clock);
    expect(await (await client.get("/agent")).text()).not.toContain("grace-reminder");

    // Changing the length restarts it from now; turning the app off clears it.
    clock.advance(2 * HOUR);
    // Two hours after signing in, a policy change asks the admin to confirm it's them first.
    await (await adminClient.post("/agent/reauth", { current: admin.password, next: PAGE })).text();
    const restartedAt = clock.now();
    const longer = await applyGrace(adminClient, "10");
    expect(longer.headers.get("Location")).toBe(`${PAGE}?saved=next_login`);
    expect((await portalStub(env, "agent").getPolicy()).mfa.graceUntil).toBe(restartedAt + 10 * DAY);
    const r = await adminClient.post(`${PAGE}/apply`, {
      authenticatorApp: "",
      issuerName: "EdgeDesk",
      emailOtp: "",
      graceDays: "10",
      apply: "next_login",
    });
    await r.text();
    expect((await portalStub(env, "agent").getPolicy()).mfa).toMatchObject({ authenticatorApp: false, graceUntil: null });
  });

  it("refuses a grace period outside 0 to 30 days, changing nothing", async () => {
    await setMfa("agent", { authenticatorApp: false, emailOtp: false });
    const admin = await makeAdmin();
    const client = browser();
    await signIn(client, "agent", admin);
    for (const value of ["31", "-1", "two"]) {
      const r = await client.post(PAGE, { authenticatorApp: "on", issuerName: "EdgeDesk", graceDays: value });
      expect(r.status, value).toBe(400);
      expect(await shown(r)).toContain("Grace period must be a whole number from 0 to 30.");
    }
    expect((await portalStub(env, "agent").getPolicy()).mfa.authenticatorApp).toBe(false);
  });
});

describe("enrollment coverage", () => {
  it("counts who has each method and lists who has not set up the app", async () => {
    await setMfa("agent", { authenticatorApp: true, emailOtp: false });
    const clock = fakeClock();
    const enrolled = await makeAgent({ name: "Enid Enrolled" });
    await enrollThroughPages(browser({ clock }), "agent", enrolled, clock);
    const waiting = await makeAgent({ name: "Walter Waiting" });
    await env.DB.prepare("INSERT INTO passkeys (id, user_id, name, public_key, counter, created_at) VALUES (?, ?, 'Laptop', 'pk', 0, 0)")
      .bind(`cred-${enrolled.id}`, enrolled.id)
      .run();
    await setMfa("agent", { authenticatorApp: false });
    const admin = await makeAdmin();
    const client = browser({ clock });
    await signIn(client, "agent", admin);
    const page = await (await client.get(PAGE)).text();
    const counts = await env.DB.prepare(
      "SELECT count(*) AS total, count(t.confirmed_at) AS app FROM users u LEFT JOIN totp_credentials t ON t.user_id = u.id WHERE u.kind = 'agent' AND u.active = 1",
    ).first<{ total: number; app: number }>();
    expect(counts!.app).toBeGreaterThanOrEqual(1);
    const coverage = listItems(page, 'ul[data-testid="coverage"]');
    expect(coverage).toContain(`Authenticator app: ${counts!.app} of ${counts!.total} active agents`);
    expect(coverage).toContain(`Email OTP: ${counts!.total} of ${counts!.total} (every account has an email address)`);
    const withPasskeys = await env.DB.prepare(
      "SELECT count(DISTINCT p.user_id) AS n FROM passkeys p JOIN users u ON u.id = p.user_id WHERE u.kind = 'agent' AND u.active = 1",
    ).first<{ n: number }>();
    expect(withPasskeys!.n).toBeGreaterThanOrEqual(1);
    expect(coverage).toContain(`Passkeys: ${withPasskeys!.n} of ${counts!.total}`);
    // Each count of those set up is in bold.
    expect(findAll(page, 'ul[data-testid="coverage"] > li > strong').map(textIn)).toEqual(
      [counts!.app, withPasskeys!.n, counts!.total].map(String),
    );
    const list = listItems(page, 'ul[data-testid="not-enrolled"]');
    expect(list).toContain(`${waiting.name} · ${waiting.email}`);
    expect(list.join("\n")).not.toContain(enrolled.email);
  });
});
