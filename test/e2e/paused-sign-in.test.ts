// SECURITY.md 43 in the browser: a stranger's wrong passwords pause a contact's sign-in from new
// browsers only. The contact's own browser still signs in; the mail says what is paused, where the
// attempts came from and how to reset; an admin sees the pause on Paused sign-ins, the values under
// their column headings, and lifts it.
import { afterAll, beforeAll, expect, test } from "vitest";
import { emailedMessage, type Journey, shown, signInWithPassword, signOut, startJourney } from "./harness";

const CONTACT = "contact8@customer.test";

let journey: Journey;
beforeAll(async () => {
  journey = await startJourney();
});
afterAll(async () => {
  await journey?.stop();
});

/** The cell of `row` under the column headed `heading`, as a person reads it. */
async function cellUnder(
  table: import("playwright-core").Locator,
  row: import("playwright-core").Locator,
  heading: string,
): Promise<string> {
  const headings = (await table.getByRole("columnheader").allInnerTexts()).map((h) => h.trim());
  const column = headings.indexOf(heading);
  expect(column, `no column headed ${heading}: ${headings.join(" | ")}`).toBeGreaterThanOrEqual(0);
  return (await row.getByRole("cell").nth(column).innerText()).trim();
}

test("a stranger's wrong passwords pause new browsers only; the contact is emailed and an admin lifts the pause", async () => {
  // The contact's own browser: signed in before.
  const own = await journey.newContext();
  const ownPage = await own.newPage();
  await signInWithPassword(ownPage, "support", CONTACT, journey.password);
  const name = (await ownPage.getByRole("heading", { level: 1 }).innerText()).replace(/^Hello, /, "");
  await signOut(ownPage);

  // A stranger's browser: ten wrong passwords, then even the right one is refused there.
  const stranger = await (await journey.newContext()).newPage();
  await stranger.goto("/support/login");
  for (let i = 0; i < 11; i++) {
    await stranger.getByLabel("Email").fill(CONTACT);
    await stranger.getByLabel("Password").fill(`Winter2026-${i}`);
    await stranger.getByRole("button", { name: "Sign in", exact: true }).click();
    await shown(stranger.getByRole("alert"));
  }
  expect(await stranger.getByRole("alert").innerText()).toMatch(
    /^Too many sign-in attempts\. For your security, try again in \d+ minutes\.$/,
  );
  await stranger.getByLabel("Password").fill(journey.password);
  await stranger.getByRole("button", { name: "Sign in", exact: true }).click();
  await shown(stranger.getByRole("alert").getByText(/Too many sign-in attempts/));

  // The contact's own browser is not paused.
  await signInWithPassword(ownPage, "support", CONTACT, journey.password);
  await shown(ownPage.getByRole("heading", { name: `Hello, ${name}` }));

  const { parsed } = await emailedMessage(own, CONTACT);
  expect(parsed.subject).toBe("Sign-in to your EdgeDesk account was paused");
  expect(parsed.text).toContain(
    "so signing in from new browsers is paused for 15 minutes. Browsers you have signed in with before keep working.",
  );
  // Where they came from: the address (all this journey's browsers share one) and its country, as Cloudflare says.
  expect(parsed.text).toMatch(/10 attempts came from:\n {4}127\.0\.0\.1( \([A-Z]{2}\))?: 10\n/);
  expect(parsed.text).toContain(`${journey.url}/support/login/forgot`);

  // An admin sees the pause and lifts it.
  const admin = await journey.newPage();
  await signInWithPassword(admin, "agent", "admin@edgedesk.test", journey.password);
  await admin.goto("/agent/admin/agents");
  await admin.getByRole("navigation", { name: "Administration" }).getByRole("link", { name: "Paused sign-ins" }).click();
  await shown(admin.getByRole("heading", { name: "Paused sign-ins" }));
  const table = admin.getByTestId("pauses");
  const row = table.getByRole("row").filter({ hasText: CONTACT });
  expect(await cellUnder(table, row, "Person")).toBe(`${name} (${CONTACT})`);
  expect(await cellUnder(table, row, "Way in")).toBe("Password");
  expect(await cellUnder(table, row, "Wrong attempts")).toBe("10");
  expect(await cellUnder(table, row, "From")).toMatch(/^127\.0\.0\.1( \([A-Z]{2}\))?: 10$/);
  await row.getByRole("button", { name: "Let them sign in" }).click();
  await shown(admin.getByText("The pause is lifted: they can sign in from any browser again."));
  expect(await admin.getByTestId("pauses").count()).toBe(0);

  // The stranger's browser may try again; so would the contact on a new computer.
  await signInWithPassword(stranger, "support", CONTACT, journey.password);
  await shown(stranger.getByRole("heading", { name: `Hello, ${name}` }));
});
