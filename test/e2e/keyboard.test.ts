// The asset workflow with the keyboard alone (search, filter, select rows, a bulk
// action, confirm, Undo; an inline change), with the focus where the next step starts, and the
// phone layouts the README shows.
import type { Locator, Page } from "playwright-core";
import { afterAll, beforeAll, expect, test } from "vitest";
import { type Journey, screenshot, shown, signInWithPassword, startJourney } from "./harness";

let journey: Journey;
let page: Page;
beforeAll(async () => {
  journey = await startJourney();
  page = await journey.newPage();
  await signInWithPassword(page, "agent", "admin@edgedesk.test", journey.password);
});
afterAll(async () => {
  await journey?.stop();
});

const focused = (locator: Locator) =>
  locator.evaluate((element) => element === (element.ownerDocument as unknown as { activeElement: unknown }).activeElement);

/** Presses Tab until the locator has the focus, as a person would; fails past `limit` presses. */
async function tabTo(locator: Locator, limit = 80) {
  for (let i = 0; i < limit; i++) {
    if (await focused(locator)) return;
    await page.keyboard.press("Tab");
  }
  throw new Error(`Tab never reached ${locator}`);
}

const row = (tag: string) => page.getByTestId("inventory-row").filter({ has: page.getByRole("cell", { name: tag, exact: true }) });

test("an agent searches, filters, selects rows, changes them in bulk, confirms and undoes it with the keyboard alone", async () => {
  await page.goto("/agent/assets");
  await shown(page.getByRole("heading", { name: "Assets", level: 1 }));
  await tabTo(page.getByLabel("Search"));
  await page.keyboard.type("AST-0002");
  await tabTo(page.getByRole("search").getByLabel("Status", { exact: true }));
  // A closed select takes the arrow keys: In use is the first choice after Any.
  await page.keyboard.press("ArrowDown");
  await tabTo(page.getByRole("button", { name: "Filter", exact: true }));
  await page.keyboard.press("Enter");
  await page.waitForURL((url) => url.searchParams.get("q") === "AST-0002" && url.searchParams.get("status") === "in_use");
  await shown(page.getByTestId("inventory-row"));
  const tags = await page.getByTestId("inventory-row").locator("td:nth-child(3)").allInnerTexts();
  expect(tags.length).toBeGreaterThan(1);

  const [first, second] = tags;
  for (const tag of [first!, second!]) {
    await tabTo(row(tag).getByRole("checkbox"));
    await page.keyboard.press("Space");
  }
  const bulk = page.getByRole("form", { name: "Bulk change" });
  await shown(bulk.getByText("2 selected", { exact: true }));
  await tabTo(bulk.getByLabel("Action"));
  // Assign Group is chosen; its Group field follows.
  await tabTo(bulk.getByLabel("Group", { exact: true }));
  await page.keyboard.type("Security");
  await tabTo(bulk.getByRole("button", { name: "Review change" }));
  await page.keyboard.press("Enter");

  // Each answer page puts the focus on its answer, and the next step is the next Tab away.
  await shown(page.getByTestId("bulk-summary"));
  expect(await focused(page.getByTestId("bulk-summary"))).toBe(true);
  // The focus is there for a screen reader to read the answer; a sentence gets no outline box.
  expect(
    await page
      .getByTestId("bulk-summary")
      .evaluate(
        (element) =>
          (globalThis as unknown as { getComputedStyle(e: unknown): { outlineStyle: string } }).getComputedStyle(element).outlineStyle,
      ),
  ).toBe("none");
  const change = page.getByRole("button", { name: /^Change \d+ records?$/ });
  await tabTo(change);
  await page.keyboard.press("Enter");
  await shown(page.getByTestId("bulk-result"));
  expect(await focused(page.getByTestId("bulk-result"))).toBe(true);
  expect(await page.getByTestId("bulk-result").innerText()).toMatch(/^Changed \d of 2 assets\./);
  await tabTo(page.getByRole("button", { name: "Undo" }));
  await page.keyboard.press("Enter");
  await shown(page.getByTestId("undo-result"));
  expect(await focused(page.getByTestId("undo-result"))).toBe(true);
  expect(await page.getByTestId("undo-result").innerText()).toMatch(/^Undone: \d restored\.$/);
});

test("arrowing through an inline dropdown saves once, on Enter, and the focus stays on the field", async () => {
  await page.goto("/agent/assets?q=AST-00031&sort=tag");
  const impact = row("AST-00031").getByRole("combobox", { name: /^Impact of / });
  const status = row("AST-00031").getByRole("status");
  const before = await impact.inputValue();
  await tabTo(impact);
  await page.keyboard.press(before === "high" ? "ArrowUp" : "ArrowDown");
  await page.keyboard.press(before === "low" ? "ArrowDown" : before === "high" ? "ArrowUp" : "ArrowDown");
  // Two key presses, two values passed through: nothing saved yet.
  await page.waitForTimeout(300);
  expect(await status.innerText()).toBe("");
  await page.keyboard.press("Enter");
  await shown(status.getByText("Saved Impact", { exact: true }));
  await page.waitForFunction(
    () =>
      !(globalThis as unknown as { document: { querySelector(s: string): unknown } }).document.querySelector(
        ".htmx-added, .htmx-settling, .htmx-request",
      ),
  );
  expect(await focused(row("AST-00031").getByRole("combobox", { name: /^Impact of / }))).toBe(true);

  // One save, one history entry.
  const name = await row("AST-00031").getByRole("link").first().innerText();
  await page.getByRole("link", { name, exact: true }).click();
  await shown(page.getByRole("heading", { name: "History" }));
  expect(await page.locator(".history li").filter({ hasText: "Impact" }).count()).toBe(1);
});

test("the phone layouts: the asset list as a card per row, and the menu", async () => {
  await page.setViewportSize({ width: 390, height: 844 });
  await page.goto("/agent/assets?q=AST-0001&sort=tag");
  await shown(page.getByTestId("inventory-row").first());
  // Each cell is shown under its column's name, and the fields stay editable.
  // (A cell's accessible name now starts with its column's name, shown before it.)
  const card = page.getByTestId("inventory-row").filter({ hasText: "AST-00010" });
  expect(await card.locator("td[data-label='Managed By Group'] select").isVisible()).toBe(true);
  await page
    .getByText("10 records match.")
    .evaluate((element) => (element as unknown as { scrollIntoView(options: object): void }).scrollIntoView({ block: "start" }));
  await screenshot(page, "phone-asset-list", { fullPage: false });
  await page.getByRole("banner").getByText("Menu", { exact: true }).click();
  await shown(page.getByRole("banner").getByRole("button", { name: "Sign out" }));
  await page.setViewportSize({ width: 1280, height: 800 });
});
