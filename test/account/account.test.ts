import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { portalStub } from "../../src/auth/sessions";
import { sessionCookieName } from "../../src/request/session-cookie";
import { DAY, HOUR, MINUTE } from "../../src/lib/clock";
import type { PasswordPolicy, Portal } from "../../src/portal/policy";
import { browser, fakeClock, statusOf } from "../helpers/app";
import { signIn } from "../helpers/auth";
import { makeAgent, makeContact } from "../helpers/factories";
import { enrollThroughPages, postPassword, setMfa, totpCode } from "../helpers/mfa";
import { writePortalPolicy } from "../helpers/portal";
import { fieldErrors, findAll, labelled, shown, textIn, cellText } from "../helpers/html";

async function setPasswordPolicy(portal: Portal, change: Partial<PasswordPolicy>) {
  const current = await portalStub(env, portal).getPolicy();
  await writePortalPolicy(portal, { password: { ...current.password, ...change } }, false);
}

describe("changing one's own password on My account", () => {
  it("needs the current password, checks the rules, rotates this session and ends the others", async () => {
    const clock = fakeClock();
    const contact = await makeContact();
    const [laptop, phone] = [
      browser({ clock }),
      browser({ clock, userAgent: "Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) Safari/604.1" }),
    ];
    await signIn(laptop, "support", contact);
    await signIn(phone, "support", contact);
    const before = laptop.cookie(sessionCookieName("support"));

    const wrongCurrent = await laptop.post("/support/account/password", {
      current: "not it",
      password: "new sturdy phrase",
      confirm: "new sturdy phrase",
    });
    expect(wrongCurrent.status).toBe(401);
    expect(await shown(wrongCurrent)).toContain("Your current password is not right.");
    // Every field's problem at once, beside its field in the password form.
    const empty = await laptop.post("/support/account/password", { current: "", password: "", confirm: "" });
    expect(empty.status).toBe(400);
    expect(Object.keys(fieldErrors(await empty.text())).sort()).toEqual(["confirm", "current", "password"]);
    const weak = await laptop.post("/support/account/password", { current: contact.password, password: "football", confirm: "football" });
    expect(weak.status).toBe(400);
    expect(await shown(weak)).toContain("most commonly used");

    const ok = await laptop.post("/support/account/password", {
      current: contact.password,
      password: "new sturdy phrase",
      confirm: "new sturdy phrase",
    });
    await ok.text();
    expect(ok.headers.get("Location")).toBe("/support/account?done=password");
    expect(laptop.cookie(sessionCookieName("support"))).not.toBe(before);
    expect(await statusOf(laptop, "/support")).toBe(200);
    expect(await statusOf(phone, "/support")).toBe(303);
    const stale = await browser({ clock }).get("/support", { headers: { Cookie: `${sessionCookieName("support")}=${before}` } });
    await stale.text();
    expect(stale.status).toBe(303);

    await signIn(browser({ clock }), "support", { email: contact.email, password: "new sturdy phrase" });
  });

  it("also needs the authenticator code when the user has one (SECURITY.md 18)", async () => {
    await setMfa("agent", { authenticatorApp: true, emailOtp: false });
    const clock = fakeClock();
    const agent = await makeAgent();
    const client = browser({ clock });
    const { manualKey } = await enrollThroughPages(client, "agent", agent, clock);
    const page = await (await client.get("/agent/account")).text();
    expect(labelled(page, "Authentication code")?.getAttribute("id")).toBe("field-code");
    const noCode = await client.post("/agent/account/password", {
      current: agent.password,
      password: "another sturdy phrase",
      confirm: "another sturdy phrase",
    });
    expect(noCode.status).toBe(401);
    await noCode.text();
    clock.advance(30_000);
    const ok = await client.post("/agent/account/password", {
      current: agent.password,
      code: totpCode(manualKey, clock.now()),
      password: "another sturdy phrase",
      confirm: "another sturdy phrase",
    });
    await ok.text();
    expect(ok.status).toBe(303);
    await setMfa("agent", { authenticatorApp: false });
  });

  it("refuses the last N passwords when the reuse restriction is on", async () => {
    await setPasswordPolicy("support", { reuseCount: 2 });
    const contact = await makeContact();
    const client = browser();
    await signIn(client, "support", contact);
    let current = contact.password;
    const change = async (next: string) => {
      const r = await client.post("/support/account/password", { current, password: next, confirm: next });
      const body = await r.text();
      if (r.status === 303) current = next;
      return { status: r.status, body };
    };
    expect((await change("first fresh phrase")).status).toBe(303);
    expect((await change("second fresh phrase")).status).toBe(303);
    const reused = await change("first fresh phrase");
    expect(reused.status).toBe(400);
    expect(cellText(reused.body)).toContain("You used this password recently");
    expect((await change("third fresh phrase")).status).toBe(303);
    expect((await change("first fresh phrase")).status).toBe(303); // now three back: allowed
    await setPasswordPolicy("support", { reuseCount: 0 });
  });
});

describe("password expiry", () => {
  it("sends a user with an expired password to Change password, and nowhere else until it is changed", async () => {
    await setPasswordPolicy("agent", { expiryDays: 90 });
    await setMfa("agent", { authenticatorApp: false, emailOtp: false });
    const clock = fakeClock(Date.UTC(2026, 0, 1) + 91 * DAY); // the factory sets passwords on 2026-01-01
    const agent = await makeAgent();
    const client = browser({ clock });
    const login = await postPassword(client, "agent", agent);
    expect(login.headers.get("Location")).toBe("/agent/login/change-password");
    const home = await client.get("/agent");
    await home.text();
    expect(home.headers.get("Location")).toBe("/agent/login/verify");
    expect((await client.get("/agent/login/verify")).headers.get("Location")).toBe("/agent/login/change-password");
    const page = await (await client.get("/agent/login/change-password")).text();
    expect(cellText(page)).toContain("Your password has expired");
    const same = await client.post("/agent/login/change-password", { password: agent.password, confirm: agent.password });
    expect(same.status).toBe(400);
    expect(await shown(same)).toContain("Choose a password different from your current one.");
    const ok = await client.post("/agent/login/change-password", { password: "a brand new phrase", confirm: "a brand new phrase" });
    await ok.text();
    expect(ok.headers.get("Location")).toBe("/agent");
    expect(await statusOf(client, "/agent")).toBe(200);
    // A fresh sign-in 89 days later goes straight in.
    clock.advance(89 * DAY);
    expect(
      (await postPassword(browser({ clock }), "agent", { email: agent.email, password: "a brand new phrase" })).headers.get("Location"),
    ).toBe("/agent");
    await setPasswordPolicy("agent", { expiryDays: 0 });
  });
});

describe("session configuration", () => {
  it("applies a shorter inactivity timeout and lifetime to existing sessions at their next request", async () => {
    const clock = fakeClock();
    const contact = await makeContact();
    const client = browser({ clock });
    await signIn(client, "support", contact);
    await writePortalPolicy("support", { session: { idleTimeoutMs: 15 * MINUTE, absoluteLifetimeMs: 2 * HOUR } }, false);
    clock.advance(14 * MINUTE);
    expect(await statusOf(client, "/support")).toBe(200);
    clock.advance(15 * MINUTE);
    expect(await statusOf(client, "/support")).toBe(303);

    const other = browser({ clock });
    await signIn(other, "support", contact);
    for (let i = 0; i < 8; i++) {
      clock.advance(14 * MINUTE);
      expect(await statusOf(other, "/support")).toBe(200);
    }
    clock.advance(14 * MINUTE); // 126 minutes after sign-in
    expect(await statusOf(other, "/support")).toBe(303);
    await writePortalPolicy("support", { session: { idleTimeoutMs: 8 * HOUR, absoluteLifetimeMs: 7 * DAY } }, false);
  });
});

describe("active sessions", () => {
  it("lists each session's device and IP, and signs out one or all others", async () => {
    await setMfa("agent", { authenticatorApp: false, emailOtp: false });
    const clock = fakeClock();
    const agent = await makeAgent();
    const here = browser({
      clock,
      ip: "203.0.113.10",
      userAgent: "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/156.0 Safari/537.36 Edg/156.0",
    });
    const phone = browser({ clock, ip: "203.0.113.11", userAgent: "Mozilla/5.0 (Linux; Android 15) Chrome/156.0 Mobile Safari/537.36" });
    const tablet = browser({ clock, ip: "203.0.113.12", userAgent: "Mozilla/5.0 (iPad; CPU OS 18_0 like Mac OS X) Safari/604.1" });
    for (const b of [here, phone, tablet]) await signIn(b, "agent", agent);

    const page = await (await here.get("/agent/account")).text();
    const rows = findAll(page, 'tr[data-testid="session-row"]');
    expect(rows).toHaveLength(3);
    for (const text of ["Edge on Windows", "Chrome on Android", "Safari on iOS", "203.0.113.11", "This device"])
      expect(page).toContain(text);

    // Each row's Sign out posts to that session's own address.
    const revokeIds = rows.map(
      (row) => /^\/agent\/account\/sessions\/(ses_[a-z2-7]+)\/revoke$/.exec(row.querySelector("form")?.getAttribute("action") ?? "")?.[1],
    );
    expect(new Set(revokeIds.filter(Boolean)).size).toBe(3);
    // Find the phone's row and sign it out.
    const id = revokeIds[rows.findIndex((row) => textIn(row).includes("203.0.113.11"))]!;
    const one = await here.post(`/agent/account/sessions/${id}/revoke`);
    await one.text();
    expect(one.headers.get("Location")).toBe("/agent/account?done=one");
    expect(await statusOf(phone, "/agent")).toBe(303);
    expect(await statusOf(tablet, "/agent")).toBe(200);

    const others = await here.post("/agent/account/sessions/others/revoke");
    await others.text();
    expect(await statusOf(tablet, "/agent")).toBe(303);
    expect(await statusOf(here, "/agent")).toBe(200);

    // Another user's session id changes nothing.
    const bad = await here.post("/agent/account/sessions/not-an-id/revoke");
    expect(bad.status).toBe(400);
    await bad.text();
  });
});
