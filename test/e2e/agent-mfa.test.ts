// Agent portal journeys, in order: roles and the reset permission, MFA applied Immediately,
// enrollment and recovery codes, the email fallback, and an admin resetting an agent's MFA.
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import {
  absent,
  type Authenticator,
  emailedCode,
  enroll,
  eventually,
  finishEnrollment,
  type Journey,
  openSecuritySettings,
  readDownload,
  saveForNextLogin,
  scanQrCode,
  screenshot,
  shown,
  signInWithPassword,
  signInWithRecoveryCode,
  signOut,
  startJourney,
} from "./harness";

const ADMIN = "admin@edgedesk.test";
const AGENT = "agent1@edgedesk.test";
const LEAD = "lead@edgedesk.test";

let journey: Journey;

/** Settings > Agents, from any page. */
async function openAgents(page: Page) {
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Settings" }).click();
  await page.getByRole("main").getByRole("link", { name: "Agents", exact: true }).click();
}
let admin: Page;
let lead: Page;
let agentApp: Authenticator;
let savedRecoveryCodes: string[] = [];

beforeAll(async () => {
  journey = await startJourney();
});
afterAll(async () => {
  await journey?.stop();
});

describe("agent portal", () => {
  test("an admin gives a role the agent-management permission but not recovery; its holder sees no Reset MFA", async () => {
    admin = await journey.newPage();
    await signInWithPassword(admin, "agent", ADMIN, journey.password);
    await shown(admin.getByRole("heading", { name: "Welcome, Ada Admin" }));

    await openAgents(admin);
    await admin.getByRole("navigation", { name: "Administration" }).getByRole("link", { name: "Roles" }).click();
    await admin.getByRole("link", { name: "New role" }).click();
    await admin.getByLabel("Role name").fill("Team Lead");
    await admin.getByLabel("Manage Agents, Groups and Roles").check();
    await admin.getByLabel("View Assets").check();
    await admin.getByRole("button", { name: "Create role" }).click();
    await shown(admin.getByRole("link", { name: "Team Lead" }));

    await admin.getByRole("navigation", { name: "Administration" }).getByRole("link", { name: "Agents" }).click();
    await admin.getByRole("link", { name: "New agent" }).click();
    await admin.getByLabel("Name").fill("Terry Lead");
    await admin.getByLabel("Email").fill(LEAD);
    await admin.getByLabel("Role").selectOption({ label: "Team Lead" });
    await admin.getByLabel("First password").fill(journey.password);
    await admin.getByRole("button", { name: "Create agent" }).click();
    await shown(admin.getByText("Agent created."));

    // The admin sees the agent's two-step verification panel; with nothing set up, there is nothing to reset.
    await admin.getByRole("row").filter({ hasText: AGENT }).getByRole("link").click();
    await shown(admin.getByRole("heading", { name: "Two-step verification" }));
    await shown(admin.getByText("Reset MFA is not needed: Ada Torvalds has no authenticator app, passkey or recovery codes."));
    await absent(admin.getByRole("link", { name: "Reset MFA" }));

    // The team lead manages agents but holds no recovery permission: no panel, no button, and the URL is refused.
    lead = await journey.newPage();
    await signInWithPassword(lead, "agent", LEAD, journey.password);
    await shown(lead.getByRole("heading", { name: "Welcome, Terry Lead" }));
    await openAgents(lead);
    await lead.getByRole("row").filter({ hasText: AGENT }).getByRole("link").click();
    expect(await lead.getByLabel("Email").inputValue()).toBe(AGENT);
    await absent(lead.getByRole("link", { name: "Reset MFA" }));
    await absent(lead.getByRole("heading", { name: "Two-step verification" }));
    const resetUrl = `${new URL(admin.url()).pathname.replace("/agents/", "/people/")}/reset-mfa`;
    const refused = await lead.goto(resetUrl);
    expect(refused?.status()).toBe(403);
  });

  test("the team lead sees no Administrator option to give and cannot raise themselves", async () => {
    await lead.goto("/agent");
    await openAgents(lead);
    await lead.getByRole("link", { name: "New agent" }).click();
    const administrator = lead.getByLabel("Role").getByRole("option", { name: "Administrator (not yours to give)" });
    expect(await administrator.isDisabled()).toBe(true);
    await shown(lead.getByText("Only an Administrator can make someone an Administrator."));
    await expect(
      lead.getByLabel("Role").selectOption({ label: "Administrator (not yours to give)" }, { timeout: 1_000 }),
    ).rejects.toThrow();

    // Their own record: the role cannot be changed, and a hand-made post is refused.
    await lead.getByRole("navigation", { name: "Administration" }).getByRole("link", { name: "Agents" }).click();
    await lead.getByRole("row").filter({ hasText: LEAD }).getByRole("link").click();
    expect(await lead.getByLabel("Role").isDisabled()).toBe(true);
    await shown(lead.getByText("You cannot change your own role. Ask another administrator."));
    const url = new URL(lead.url());
    const forged = await lead.request.post(url.pathname, {
      form: { name: "Terry Lead", email: LEAD, roleId: "role_administrator", active: "on" },
      headers: { Origin: url.origin },
    });
    expect(forged.status()).toBe(403);
    expect(await forged.text()).toContain("You cannot change your own role");
    await lead.reload();
    expect(await lead.getByLabel("Role").locator("option:checked").innerText()).toBe("Team Lead");
  });

  test("the admin turns on the authenticator app Immediately: the lead's open session ends on its next click", async () => {
    await admin.goto("/agent");
    await openSecuritySettings(admin, "Agent Authentication", "Multi-Factor Authentication");
    await admin.getByLabel("Authenticator App").check();
    await admin.getByLabel("Issuer Name").fill("RTX Solutions – Agent App");
    await admin.getByRole("button", { name: "Save" }).click();
    await shown(admin.getByRole("heading", { name: "When should this apply?" }));
    await shown(admin.getByText("Authenticator App: off → on"));
    await screenshot(admin, "mfa-settings-apply-choice");
    await admin.getByRole("button", { name: "Immediately (all users will be logged out)" }).click();
    // The admin's own session ended with everyone else's.
    await shown(admin.getByText("Your administrator changed the sign-in settings, so you need to sign in again."));

    // The lead's page is still on screen; the next click lands on the sign-in page.
    await lead.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Home" }).click();
    await shown(lead.getByRole("heading", { name: "Sign in to the agent portal" }));
    await shown(lead.getByText("Your administrator changed the sign-in settings, so you need to sign in again."));

    // Signing in again now requires the app: the admin enrolls.
    await signInWithPassword(admin, "agent", ADMIN, journey.password);
    await enroll(admin, "RTX Solutions – Agent App");
    await finishEnrollment(admin);
  });

  test("an agent enrolls with the manual key, keeps the recovery codes, and signs in with a code and then a recovery code", async () => {
    const page = await journey.newPage();
    await signInWithPassword(page, "agent", AGENT, journey.password);
    // The page names, in text a person reads, the entry the app will show: exactly what the QR code adds.
    await shown(page.getByRole("heading", { name: "Set up your authenticator app" }));
    const { totp } = await scanQrCode(page);
    expect([totp.issuer, totp.label]).toEqual(["RTX Solutions – Agent App", AGENT]);
    const named = page.getByText("It will appear in the app as");
    expect(await named.innerText()).toBe(`It will appear in the app as ${totp.issuer} (${totp.label}).`);
    expect(await named.locator("strong").innerText()).toBe(totp.issuer);
    await shown(page.getByRole("img", { name: `QR code for ${totp.issuer} (${totp.label})`, exact: true }));
    // The code box says how long a code is, where a screen reader reads it with the label.
    const codeBox = page.getByLabel("Authentication code");
    expect([
      await codeBox.getAttribute("inputmode"),
      await codeBox.getAttribute("pattern"),
      await codeBox.getAttribute("maxlength"),
    ]).toEqual(["numeric", "[0-9]{6}", "6"]);
    expect(await page.locator(`[id="${await codeBox.getAttribute("aria-describedby")}"]`).innerText()).toBe("The code has 6 digits.");
    agentApp = await enroll(page, "RTX Solutions – Agent App", "enroll-authenticator");
    savedRecoveryCodes = await page.getByTestId("recovery-codes").getByRole("listitem").allInnerTexts();
    expect(savedRecoveryCodes).toHaveLength(10);
    await screenshot(page, "recovery-codes");

    const [download] = await Promise.all([page.waitForEvent("download"), page.getByRole("link", { name: "Download" }).click()]);
    expect(download.suggestedFilename()).toBe("edgedesk-recovery-codes.txt");
    const file = await readDownload(download);
    for (const code of savedRecoveryCodes) expect(file).toContain(code.trim());

    await finishEnrollment(page);
    await signOut(page);

    // A fresh code from the app.
    await signInWithPassword(page, "agent", AGENT, journey.password);
    await shown(page.getByRole("heading", { name: "Verify it's you" }));
    await page.getByLabel("Authentication code").fill(agentApp.nextCode());
    await page.getByRole("button", { name: "Verify" }).click();
    await shown(page.getByRole("heading", { name: "Welcome, Ada Torvalds" }));
    await signOut(page);

    // A recovery code works once.
    const recoveryCode = savedRecoveryCodes[0]!.trim();
    await signInWithRecoveryCode(page, "agent", AGENT, journey.password, recoveryCode);
    await shown(page.getByRole("heading", { name: "Welcome, Ada Torvalds" }));
    await signOut(page);
    await signInWithRecoveryCode(page, "agent", AGENT, journey.password, recoveryCode);
    await shown(page.getByRole("heading", { name: "Use a recovery code" }));
    expect(await page.getByRole("alert").innerText()).toMatch(/code/i);
    await page.context().close();
  });

  test("with Email OTP on as well, 'Enter OTP received via email' signs the agent in with the mailed code", async () => {
    await openSecuritySettings(admin, "Agent Authentication", "Multi-Factor Authentication");
    await admin.getByLabel("Email OTP").check();
    await saveForNextLogin(admin, "Email OTP: off → on");

    const context = await journey.newContext();
    const page = await context.newPage();
    await page.clock.install();
    await signInWithPassword(page, "agent", AGENT, journey.password);
    // The app comes first; the email is the fallback.
    await shown(page.getByRole("heading", { name: "Verify it's you" }));
    await page.getByRole("button", { name: "Enter OTP received via email" }).click();
    // A popup, as the help article describes; the page behind it stays.
    const popup = page.getByRole("dialog", { name: "Check your email" });
    await shown(popup);
    await shown(page.getByRole("heading", { name: "Verify it's you" }));

    // Resend waits 30 seconds (the browser's clock runs fast-forwarded here; the server enforces it too).
    const resend = popup.getByRole("button", { name: "Resend OTP" });
    await eventually(() => resend.isDisabled()).toBe(true);
    await shown(page.getByText(/You can resend in (30|29) s\./));
    await page.clock.runFor(15_000);
    await eventually(() => resend.isDisabled()).toBe(true);
    await page.clock.runFor(16_000);
    await eventually(() => resend.isEnabled()).toBe(true);

    await popup.getByLabel("One-time password").fill(await emailedCode(context, AGENT));
    await popup.getByRole("button", { name: "Verify" }).click();
    await shown(page.getByRole("heading", { name: "Welcome, Ada Torvalds" }));
    await context.close();
  });

  test("an admin with the recovery permission resets the agent's MFA; the agent enrolls again", async () => {
    await admin.goto("/agent/admin/agents");
    await admin.getByRole("row").filter({ hasText: AGENT }).getByRole("link").click();
    expect(await admin.getByTestId("admin-mfa-status").innerText()).toContain("Authenticator app set up; 9 of 10 recovery codes unused.");
    await admin.getByRole("link", { name: "Reset MFA" }).click();

    // The admin signed in (password and app) minutes ago, which counts as confirming it's them for 5 minutes.
    await shown(admin.getByRole("heading", { name: "Reset MFA of Ada Torvalds?" }));
    await admin.getByRole("button", { name: "Reset MFA" }).click();
    expect(await admin.getByTestId("admin-mfa-status").innerText()).toBe("No authenticator app set up.");

    const page = await journey.newPage();
    await signInWithPassword(page, "agent", AGENT, journey.password);
    const fresh = await enroll(page, "RTX Solutions – Agent App");
    // A new secret: the old app's codes are worthless now.
    expect(fresh.manualKey).not.toBe(agentApp.manualKey);
    await finishEnrollment(page);
  });
});
