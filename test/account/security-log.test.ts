// Each person's own security activity on My account, and the prompt when recovery codes run low.
import { describe, expect, it } from "vitest";
import { browser, fakeClock } from "../helpers/app";
import { signIn } from "../helpers/auth";
import { makeAdmin, makeAgent } from "../helpers/factories";
import { tableRows, cellText } from "../helpers/html";
import { enrollThroughPages, postPassword, setMfa, totpCode } from "../helpers/mfa";

const FIREFOX = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:140.0) Gecko/20100101 Firefox/140.0";

/** The log's rows, each cell under its heading as the person reads it. */
const logRows = (html: string) => tableRows(html, "security-log");

describe("the personal security log", () => {
  it("shows sign-ins with device and IP, failed codes, MFA changes, recovery codes used and viewed, and sessions revoked, newest first", async () => {
    await setMfa("agent", { authenticatorApp: true, emailOtp: false });
    const clock = fakeClock();
    const agent = await makeAgent();
    const own = { clock, ip: "203.0.113.50", userAgent: FIREFOX };
    const { manualKey, recoveryCodes } = await enrollThroughPages(browser(own), "agent", agent, clock);

    clock.advance(60_000);
    const wrong = browser(own);
    await postPassword(wrong, "agent", agent);
    const right = totpCode(manualKey, clock.now());
    await (await wrong.post("/agent/login/verify/app", { code: right === "000000" ? "111111" : "000000" })).text();

    clock.advance(60_000);
    const withCode = browser(own);
    await postPassword(withCode, "agent", agent);
    await (await withCode.post("/agent/login/verify/recovery", { code: recoveryCodes[0]! })).text();
    const other = browser({ ...own, ip: "203.0.113.51" });
    await postPassword(other, "agent", agent);
    await (await other.post("/agent/login/verify/app", { code: totpCode(manualKey, clock.now()) })).text();
    clock.advance(60_000);
    await (await withCode.post("/agent/account/sessions/others/revoke")).text();

    clock.advance(60_000);
    await setMfa("agent", { authenticatorApp: false });
    const admin = await makeAdmin({ name: "Ada Admin" });
    const adminClient = browser({ clock });
    await signIn(adminClient, "agent", admin);
    expect((await adminClient.get(`/agent/admin/people/${agent.id}/recovery-codes`)).status).toBe(200);
    clock.advance(60_000);
    await (await adminClient.post(`/agent/admin/people/${agent.id}/reset-mfa`)).text();

    clock.advance(60_000);
    const later = browser({ ...own, ip: "203.0.113.52" });
    await signIn(later, "agent", agent);
    const rows = logRows(await (await later.get("/agent/account")).text());
    // Each sign-in here is from a browser the person had not used, so each is told.
    expect(rows.map((r) => r["What happened"])).toEqual([
      "Signed in from a new browser (Firefox on Windows): you were emailed",
      "Signed in with a password",
      "Two-step verification reset by Ada Admin",
      "Your recovery codes were viewed by Ada Admin",
      "All other sessions were signed out",
      "Signed in from a new browser (Firefox on Windows): you were emailed",
      "Signed in (password and authenticator app)",
      "Signed in from a new browser (Firefox on Windows): you were emailed",
      "Signed in (password and recovery code)",
      "A recovery code was used to sign in",
      "A wrong code was entered while signing in",
      "Signed in (password and app set-up)",
      "Authenticator app set up",
    ]);
    expect(rows[1]).toMatchObject({ Device: "Firefox on Windows", "IP address": "203.0.113.52" });
    expect(rows[2]).toMatchObject({ Device: "—", "IP address": "—" }); // an admin's action: not the person's device
    expect(rows[6]).toMatchObject({ Device: "Firefox on Windows", "IP address": "203.0.113.51" });
    expect(rows[0]!["When (UTC)"]).toMatch(/^2026-11-22 09:0\d$/);

    // Someone else's log holds none of it.
    const stranger = await makeAgent();
    const strangerClient = browser({ clock });
    await signIn(strangerClient, "agent", stranger);
    expect(logRows(await (await strangerClient.get("/agent/account")).text()).map((r) => r["What happened"])).toEqual([
      "Signed in with a password",
    ]);
  });
});

describe("running low on recovery codes", () => {
  it("after a sign-in with a recovery code that leaves 3 or fewer, My account asks for new ones", async () => {
    await setMfa("agent", { authenticatorApp: true, emailOtp: false });
    const clock = fakeClock();
    const agent = await makeAgent();
    const { recoveryCodes } = await enrollThroughPages(browser({ clock }), "agent", agent, clock);
    const landings: string[] = [];
    for (const code of recoveryCodes.slice(0, 7)) {
      const client = browser({ clock });
      await postPassword(client, "agent", agent);
      const r = await client.post("/agent/login/verify/recovery", { code });
      await r.text();
      landings.push(r.headers.get("Location")!);
    }
    expect(landings.slice(0, 6)).toEqual(Array(6).fill("/agent"));
    expect(landings[6]).toBe("/agent/account?done=low_codes");

    const client = browser({ clock });
    await postPassword(client, "agent", agent);
    await (await client.post("/agent/login/verify/recovery", { code: recoveryCodes[7]! })).text();
    const page = await (await client.get("/agent/account?done=low_codes")).text();
    expect(cellText(page)).toContain("You signed in with a recovery code and have 3 or fewer left.");
    expect(cellText(page)).toContain("2 of 10 recovery codes left. Generate new ones so you are not locked out.");
  });
});
