// Password Requirements set by an admin, met (or not) by a contact changing their password.
import { afterAll, beforeAll, expect, test } from "vitest";
import { type Journey, openSecuritySettings, saveForNextLogin, shown, signInWithPassword, startJourney } from "./harness";

let journey: Journey;
beforeAll(async () => {
  journey = await startJourney();
});
afterAll(async () => {
  await journey?.stop();
});

test("a contact's weak new password is refused with the rule it breaks, and a strong one is accepted", async () => {
  const admin = await journey.newPage();
  await signInWithPassword(admin, "agent", "admin@edgedesk.test", journey.password);
  await openSecuritySettings(admin, "Contact Authentication", "Password Requirements");
  await admin.getByLabel("Minimum length").fill("12");
  await admin.getByLabel("At least one symbol").check();
  await saveForNextLogin(admin, "Symbol: not required → required");

  const page = await journey.newPage();
  await signInWithPassword(page, "support", "contact2@customer.test", journey.password);
  await page.getByRole("banner").getByRole("link", { name: "My account" }).click();
  const form = page.locator("form").filter({ has: page.getByRole("button", { name: "Change password" }) });
  await shown(form.getByText("At least 12 characters"));

  const attempts: [string, string][] = [
    ["short!1", "This password does not meet a rule: at least 12 characters."],
    ["correct horse battery", "This password does not meet a rule: a symbol, such as ! or #."],
    ["Barbara rocks 2026!", "This password does not meet a rule: not your name or email address."],
  ];
  for (const [password, message] of attempts) {
    await form.getByLabel("Current password").fill(journey.password);
    await form.getByLabel("New password", { exact: true }).fill(password);
    await form.getByLabel("Confirm new password").fill(password);
    await form.getByRole("button", { name: "Change password" }).click();
    expect(await page.getByRole("alert").innerText()).toBe(message);
  }

  await form.getByLabel("Current password").fill(journey.password);
  await form.getByLabel("New password", { exact: true }).fill("Plum orchard at dusk #7");
  await form.getByLabel("Confirm new password").fill("Plum orchard at dusk #7");
  await form.getByRole("button", { name: "Change password" }).click();
  await shown(page.getByText("Your password was changed. Your other sessions were signed out."));
});
