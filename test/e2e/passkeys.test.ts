// Passkeys in real Chromium, with its virtual authenticator (the DevTools WebAuthn domain): a
// contact adds one on My account and signs in with it; where passkeys may sign in alone,
// another signs in with one and no password. This drives web/passkeys.js and the vendored
// @simplewebauthn/browser end to end; the server-side refusals are tested in test/sign-in/passkeys.test.ts.
import type { Page } from "playwright-core";
import { afterAll, beforeAll, expect, test } from "vitest";
import {
  type Journey,
  openSecuritySettings,
  saveForNextLogin,
  screenshot,
  shown,
  signInWithPassword,
  signOut,
  startJourney,
} from "./harness";

const CONTACT = "contact3@customer.test";
const OTHER_CONTACT = "contact4@customer.test";
let journey: Journey;
beforeAll(async () => {
  journey = await startJourney({ host: "localhost" });
});
afterAll(async () => {
  await journey?.stop();
});

async function withVirtualAuthenticator(page: Page) {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send("WebAuthn.enable");
  await cdp.send("WebAuthn.addVirtualAuthenticator", {
    options: {
      protocol: "ctap2",
      transport: "internal",
      hasResidentKey: true,
      hasUserVerification: true,
      isUserVerified: true,
      automaticPresenceSimulation: true,
    },
  });
}

/** Sign out, and wait until the page is at `path` (the sign-in page may move on by itself). */
async function signOutTo(page: Page, path: string) {
  await page.getByRole("banner").getByRole("button", { name: "Sign out" }).click();
  await page.waitForURL((url) => url.pathname === path);
}

/** A contact signs in with their password in a browser with a virtual authenticator and adds a passkey on My account. */
async function contactAddsPasskey(email: string, name: string): Promise<Page> {
  const page = await journey.newPage();
  await withVirtualAuthenticator(page);
  await signInWithPassword(page, "support", email, journey.password);
  await page.getByRole("banner").getByRole("link", { name: "My account" }).click();
  // Loaded, scripts and all: a click before web/passkeys.js listens would do nothing.
  await page.waitForURL((url) => url.pathname === "/support/account", { waitUntil: "load" });
  await page.getByLabel("Passkey name").fill(name);
  await page.getByRole("button", { name: "Add a passkey" }).click();
  await shown(page.getByText("Passkey added."));
  await shown(page.getByTestId("passkeys").getByText(name));
  return page;
}

test("a contact adds a passkey on My account and signs in with it", async () => {
  const admin = await journey.newPage();
  await signInWithPassword(admin, "agent", "admin@edgedesk.test", journey.password);
  await openSecuritySettings(admin, "Contact Authentication", "Multi-Factor Authentication");
  await admin.getByLabel("Passkeys", { exact: true }).check();
  await saveForNextLogin(admin, "Passkeys: off → on");

  const page = await contactAddsPasskey(CONTACT, "Work laptop");
  await signOut(page);

  await signInWithPassword(page, "support", CONTACT, journey.password);
  await shown(page.getByRole("heading", { name: "Use a passkey" }));
  await screenshot(page, "passkey-sign-in");
  await page.getByRole("button", { name: "Use a passkey" }).click();
  await shown(page.getByRole("heading", { name: /^Hello, / }));
  expect(new URL(page.url()).pathname).toBe("/support");
});

test("where passkeys may sign in alone, a contact signs in with one and no password", async () => {
  const admin = await journey.newPage();
  await signInWithPassword(admin, "agent", "admin@edgedesk.test", journey.password);
  await openSecuritySettings(admin, "Contact Authentication", "Multi-Factor Authentication");
  await admin.getByLabel("Passkeys", { exact: true }).check();
  await admin.getByLabel("Passkeys can sign in without a password").check();
  await saveForNextLogin(admin, "Passkeys can sign in without a password: off → on");

  const page = await contactAddsPasskey(OTHER_CONTACT, "Phone");
  await shown(page.getByText("This is your only passkey."));

  // The Email field's autofill (conditional mediation): the virtual authenticator answers it at
  // once, as a person picking the passkey from the list would, and the portal opens.
  await signOutTo(page, "/support");
  await shown(page.getByRole("heading", { name: /^Hello, / }));

  // The button, as in a browser without passkey autofill (nothing else then asks the authenticator).
  await page.addInitScript("PublicKeyCredential.isConditionalMediationAvailable = async () => false;");
  await signOut(page);
  expect(await page.getByLabel("Email").getAttribute("autocomplete")).toBe("username webauthn");
  await screenshot(page, "passkey-sign-in-alone");
  await page.getByRole("button", { name: "Sign in with a passkey" }).click();
  await shown(page.getByRole("heading", { name: /^Hello, / }));
  expect(new URL(page.url()).pathname).toBe("/support");
  // No password was typed: the session began with the passkey alone.
  await page.getByRole("banner").getByRole("link", { name: "My account" }).click();
  await shown(page.getByText("Signed in with a passkey, no password"));
});
