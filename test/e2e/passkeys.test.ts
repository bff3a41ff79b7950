// Passkeys in real Chromium, with its virtual authenticator (the DevTools WebAuthn domain): a
// contact adds one on My account and signs in with it. This drives web/passkeys.js and the vendored
// @simplewebauthn/browser end to end; the server-side refusals are tested in test/mfa/passkeys.test.ts.
import type { Page } from "playwright-core";
import { afterAll, beforeAll, expect, test } from "vitest";
import { type Journey, openSecuritySettings, saveForNextLogin, screenshot, shown, signInWithPassword, signOut, startJourney } from "./harness";

const CONTACT = "contact3@customer.test";
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
    options: { protocol: "ctap2", transport: "internal", hasResidentKey: true, hasUserVerification: true, isUserVerified: true, automaticPresenceSimulation: true },
  });
}

test("a contact adds a passkey on My account and signs in with it", async () => {
  const admin = await journey.newPage();
  await signInWithPassword(admin, "agent", "admin@edgedesk.test", journey.password);
  await openSecuritySettings(admin, "Contact Authentication", "Multi-Factor Authentication");
  await admin.getByLabel("Passkeys").check();
  await saveForNextLogin(admin, "Passkeys: off → on");

  const page = await journey.newPage();
  await withVirtualAuthenticator(page);
  await signInWithPassword(page, "support", CONTACT, journey.password);
  await page.getByRole("banner").getByRole("link", { name: "My account" }).click();
  await page.getByLabel("Passkey name").fill("Work laptop");
  await page.getByRole("button", { name: "Add a passkey" }).click();
  await shown(page.getByText("Passkey added."));
  await shown(page.getByTestId("passkeys").getByText("Work laptop"));
  await signOut(page);

  await signInWithPassword(page, "support", CONTACT, journey.password);
  await shown(page.getByRole("heading", { name: "Use a passkey" }));
  await screenshot(page, "passkey-sign-in");
  await page.getByRole("button", { name: "Use a passkey" }).click();
  await shown(page.getByRole("heading", { name: /^Hello, / }));
  expect(new URL(page.url()).pathname).toBe("/support");
});
