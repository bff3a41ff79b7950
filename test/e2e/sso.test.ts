// Microsoft sign-in in Chromium against panva's oidc-provider configured as Entra ID v2.0
// (scripts/dev-oidc-provider.mjs: two tenants, RS256, PKCE S256, tid/oid/email/xms_edov/auth_time,
// prompt=login and max_age). An allowed and a refused tenant, re-authentication that
// makes Microsoft ask again, and an invitation that links an account Microsoft gives no email.
import type { Page } from "playwright-core";
import { afterAll, beforeAll, expect, test } from "vitest";
import { DEV_TENANTS } from "../../scripts/dev-oidc-provider.mjs";
import {
  emailedMessage,
  type Journey,
  openSecuritySettings,
  saveForNextLogin,
  shown,
  signInWithPassword,
  signOut,
  startJourney,
} from "./harness";

let journey: Journey;
beforeAll(async () => {
  journey = await startJourney();
});
afterAll(async () => {
  await journey?.stop();
});

/** At the local Microsoft: choose the organisation (the multi-tenant endpoint asks), then sign in. */
async function microsoftSignIn(page: Page, tenant: "Contoso" | "Fabrikam", email: string, { name = "", noMailbox = false } = {}) {
  await shown(page.getByRole("heading", { name: "Choose your organisation" }));
  await page.getByRole("link", { name: new RegExp(`^${tenant} `) }).click();
  await shown(page.getByRole("heading", { name: `Sign in to ${tenant}` }));
  await page.getByLabel("Email", { exact: true }).fill(email);
  if (name) await page.getByLabel("Name", { exact: true }).fill(name);
  if (noMailbox) await page.getByLabel("This account has no mailbox").check();
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.waitForURL((url) => url.origin === journey.url);
  await page.waitForLoadState("load");
}

async function allowMicrosoft(admin: Page, audience: "Agent Authentication" | "Contact Authentication", mode: string) {
  await openSecuritySettings(admin, audience, "Portal Access");
  await admin.getByLabel(mode).check();
  await saveForNextLogin(admin, `→ ${mode}`);
}

test("a contact signs in with Microsoft: Contoso is let in, Fabrikam is not, and confirming it's them makes Microsoft ask again", async () => {
  const admin = await journey.newPage();
  await signInWithPassword(admin, "agent", "admin@edgedesk.test", journey.password);
  await allowMicrosoft(admin, "Contact Authentication", "Both Microsoft 365 and email login");

  const page = await journey.newPage();
  await page.goto("/support/login");
  await page.getByRole("link", { name: "Sign in with Microsoft" }).click();
  await microsoftSignIn(page, "Contoso", "nia.customer@contoso.test", { name: "Nia Customer" });
  await shown(page.getByRole("heading", { name: "Hello, Nia Customer" }));

  // No password: "Confirm it's you" goes to Microsoft with prompt=login, which asks again.
  await page.goto(`/support/reauth?next=${encodeURIComponent("/support/account")}`);
  await page.getByRole("link", { name: "Confirm with Microsoft" }).click();
  await microsoftSignIn(page, "Contoso", "nia.customer@contoso.test");
  expect(new URL(page.url()).pathname).toBe("/support/account");
  await signOut(page);

  await page.getByRole("link", { name: "Sign in with Microsoft" }).click();
  await microsoftSignIn(page, "Fabrikam", "someone@fabrikam.test", { name: "Fay Fabrikam" });
  await shown(page.getByRole("alert").getByText("Your organisation is not allowed to sign in here."));
  await shown(page.getByRole("link", { name: "Sign in with Microsoft" }));
});

test("an admin invites an agent whose Microsoft account has no mailbox, and the link signs them in with it", async () => {
  const admin = await journey.newPage();
  await signInWithPassword(admin, "agent", "admin@edgedesk.test", journey.password);
  await allowMicrosoft(admin, "Agent Authentication", "Email and password, and Microsoft Entra SSO");
  await admin.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Settings" }).click();
  await admin.getByRole("main").getByRole("link", { name: "Agents" }).click();
  await admin.getByRole("link", { name: "Grace Hamilton" }).click();
  await shown(admin.getByText("Not linked to a Microsoft account."));
  await admin.getByRole("link", { name: "Invite to sign in with Microsoft" }).click();
  if (await admin.getByRole("heading", { name: "Confirm it's you" }).isVisible()) {
    await admin.getByLabel("Password").fill(journey.password);
    await admin.getByRole("button", { name: "Confirm" }).click();
  }
  await admin.getByRole("button", { name: "Create invitation" }).click();
  const link = await admin.getByLabel("Invitation link").inputValue();
  expect(link).toMatch(new RegExp(`^${journey.url}/agent/sso/invitation/[a-z2-7]{32}$`));
  // Also mailed to the agent, as a link in both parts.
  const { parsed } = await emailedMessage(admin.context(), "agent2@edgedesk.test");
  expect(parsed.subject).toBe("Sign in to EdgeDesk with your Microsoft account");
  expect(parsed.text).toContain(link);
  expect(parsed.html).toContain(`<a href="${link}">`);

  const agent = await journey.newPage();
  await agent.goto(link);
  await shown(agent.getByRole("heading", { name: "Link your Microsoft account" }));
  await shown(agent.getByText("Hello Grace Hamilton. Ada Admin invited you to sign in to the EdgeDesk agent portal"));
  await agent.getByRole("link", { name: "Sign in with Microsoft" }).click();
  await microsoftSignIn(agent, "Contoso", "grace.field@contoso.test", { name: "Grace Field", noMailbox: true });
  await shown(agent.getByRole("heading", { name: "Welcome, Grace Hamilton" }));

  await admin.goto(admin.url().replace(/\/agent\/admin\/people\/.*/, "/agent/admin/agents"));
  await admin.getByRole("link", { name: "Grace Hamilton" }).click();
  const linked = admin.getByTestId("sso-link");
  await shown(linked);
  expect(await linked.locator("dt").allInnerTexts()).toEqual(["Tenant ID", "Object ID", "Linked"]);
  expect(await linked.locator("dd").first().innerText()).toBe(DEV_TENANTS.contoso.id);

  // From now on the plain "Sign in with Microsoft" finds them by tenant and object id.
  await signOut(agent);
  await agent.getByRole("link", { name: "Sign in with Microsoft" }).click();
  await microsoftSignIn(agent, "Contoso", "grace.field@contoso.test", { noMailbox: true });
  await shown(agent.getByRole("heading", { name: "Welcome, Grace Hamilton" }));
  // The link works once.
  await agent.goto(link);
  await shown(agent.getByText("This invitation has expired or was already used."));
});
