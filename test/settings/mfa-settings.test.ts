import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { portalStub } from "../../src/auth/sessions";
import { browser, fakeClock, statusOf } from "../helpers/app";
import { signIn } from "../helpers/auth";
import { makeAdmin, makeAgent, makeContact } from "../helpers/factories";
import { postPassword, setMfa } from "../helpers/mfa";
import { openSession } from "../helpers/sessions";
import { shown, cellText } from "../helpers/html";

const PAGE = "/agent/settings/security/agents/mfa";

describe("the MFA settings page", () => {
  it("refuses an agent without “Access to Agent & Contact Authentication”, and hides the link", async () => {
    const agent = await makeAgent();
    const client = browser();
    await signIn(client, "agent", agent);
    const home = await (await client.get("/agent")).text();
    expect(home).not.toContain("/agent/settings/security");
    for (const path of ["/agent/settings/security", PAGE, "/agent/settings/security/contacts/mfa"]) {
      const response = await client.get(path);
      expect(response.status, path).toBe(403);
      expect(await shown(response)).toContain("Access to Agent & Contact Authentication");
    }
    const post = await client.post(`${PAGE}/apply`, { authenticatorApp: "on", issuerName: "X", apply: "immediately" });
    expect(post.status).toBe(403);
    await post.text();
    expect((await portalStub(env, "agent").getPolicy()).mfa.authenticatorApp).toBe(false);
  });

  it("asks for an Issuer Name when the app is turned on, and changes nothing without it", async () => {
    const admin = await makeAdmin();
    const client = browser();
    await signIn(client, "agent", admin);
    const page = await (await client.get("/agent/settings/security/contacts/mfa")).text();
    for (const label of ["Authenticator App", "Email OTP", "Issuer Name"]) expect(page).toContain(label);
    const response = await client.post("/agent/settings/security/contacts/mfa", { authenticatorApp: "on", issuerName: "   " });
    expect(response.status).toBe(400);
    expect(await shown(response)).toContain("Enter an Issuer Name");
    const bad = await client.post("/agent/settings/security/contacts/mfa/apply", { authenticatorApp: "maybe", apply: "immediately" });
    expect(bad.status).toBe(400);
    await bad.text();
    expect((await portalStub(env, "support").getPolicy()).mfa.authenticatorApp).toBe(false);
  });

  it("“On next login” keeps current sessions alive and applies at the next sign-in", async () => {
    await setMfa("support", { authenticatorApp: false, emailOtp: false });
    const clock = fakeClock();
    const admin = await makeAdmin();
    const contact = await makeContact();
    const contactCookie = await openSession("support", contact.id, clock.now());
    const client = browser({ clock });
    await signIn(client, "agent", admin);

    const confirm = await client.post("/agent/settings/security/contacts/mfa", { emailOtp: "on", issuerName: "Acme Support" });
    const confirmPage = await confirm.text();
    expect(confirm.status).toBe(200);
    expect(cellText(confirmPage)).toContain("Immediately (all users will be logged out)");
    expect(cellText(confirmPage)).toContain("On next login");
    expect(cellText(confirmPage)).toContain("Email OTP: off → on");
    // Nothing is saved until the choice is made.
    expect((await portalStub(env, "support").getPolicy()).mfa.emailOtp).toBe(false);

    const apply = await client.post("/agent/settings/security/contacts/mfa/apply", {
      emailOtp: "on",
      issuerName: "Acme Support",
      apply: "next_login",
    });
    await apply.text();
    expect(apply.headers.get("Location")).toBe("/agent/settings/security/contacts/mfa?saved=next_login");
    expect((await portalStub(env, "support").getPolicy()).mfa.emailOtp).toBe(true);

    expect(await statusOf(browser({ clock }), "/support", contactCookie)).toBe(200);
    const signingIn = browser({ clock });
    expect((await postPassword(signingIn, "support", contact)).headers.get("Location")).toBe("/support/login/verify?method=email&sent=1");
  });

  it("“Immediately” ends every earlier session of that portal on its next request, the admin's own included", async () => {
    await setMfa("agent", { authenticatorApp: false, emailOtp: false });
    const clock = fakeClock();
    const admin = await makeAdmin();
    const agents = await Promise.all([1, 2, 3].map(() => makeAgent()));
    const agentCookies = await Promise.all(agents.map((a) => openSession("agent", a.id, clock.now())));
    const contact = await makeContact();
    const contactCookie = await openSession("support", contact.id, clock.now());
    const client = browser({ clock });
    await signIn(client, "agent", admin);
    const other = browser({ clock });
    for (const cookie of agentCookies) expect(await statusOf(other, "/agent", cookie)).toBe(200);

    const apply = await client.post(`${PAGE}/apply`, {
      authenticatorApp: "on",
      issuerName: "RTX Solutions – Agent App",
      apply: "immediately",
    });
    await apply.text();
    expect(apply.headers.get("Location")).toBe("/agent/login?policy_applied=1");

    for (const cookie of agentCookies) expect(await statusOf(other, "/agent", cookie)).toBe(303);
    // The person signed out is told why, and nothing more.
    const ended = await other.get("/agent/assets", { headers: { Cookie: agentCookies[0]! } });
    await ended.text();
    const again = await other.get("/agent/assets", { headers: { Cookie: agentCookies[1]! } });
    await again.text();
    expect(again.headers.get("Location")).toBe(`/agent/login?next=${encodeURIComponent("/agent/assets")}&policy_applied=1`);
    const loginPage = await (await other.get(again.headers.get("Location")!)).text();
    expect(cellText(loginPage)).toContain("Your administrator changed the sign-in settings, so you need to sign in again.");
    // A session that simply ran out says nothing of the kind.
    const plain = await browser({ clock }).get("/agent/assets");
    await plain.text();
    expect(plain.headers.get("Location")).toBe(`/agent/login?next=${encodeURIComponent("/agent/assets")}`);
    expect((await client.get("/agent")).status).toBe(303);
    expect(await statusOf(other, "/support", contactCookie)).toBe(200);
    const policy = await portalStub(env, "agent").getPolicy();
    expect(policy.mfa).toEqual({
      authenticatorApp: true,
      emailOtp: false,
      issuerName: "RTX Solutions – Agent App",
      graceDays: 0,
      graceUntil: null,
      rememberDays: 0,
      passkeys: false,
      passwordlessPasskeys: false,
    });

    // Signing in again now means enrolling.
    expect((await postPassword(browser({ clock }), "agent", agents[0]!)).headers.get("Location")).toBe("/agent/login/enroll");
  });
});
