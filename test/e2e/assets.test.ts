// The asset list: inline dropdowns that save on change and survive a reload, and a bulk
// "all matching this filter" group assignment that is then undone.
import { readdirSync } from "node:fs";
import type { Locator, Page } from "playwright-core";
import { afterAll, beforeAll, expect, test } from "vitest";
import { eventually, type Journey, screenshot, shown, signInWithPassword, startJourney } from "./harness";

const ASSET = "OptiPlex 7010 00002";

let journey: Journey;
let page: Page;
beforeAll(async () => {
  journey = await startJourney();
  page = await journey.newPage();
  await signInWithPassword(page, "agent", "admin@edgedesk.test", journey.password);
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Assets" }).click();
  await shown(page.getByRole("heading", { name: "Assets", level: 1 }));
});
afterAll(async () => {
  await journey?.stop();
});

const selected = (select: Locator) => select.locator("option:checked").innerText();
const row = (name: string) => page.getByTestId("inventory-row").filter({ has: page.getByRole("link", { name, exact: true }) });

test("an agent changes Impact, Location, Group and Agent inline, and a reload shows them kept", async () => {
  await page.getByLabel("Search").fill(ASSET);
  await page.getByRole("button", { name: "Filter" }).click();
  await shown(row(ASSET));

  const edits: [string, string, string][] = [
    ["Impact", "High", "Saved Impact"],
    ["Location", "Berlin", "Saved Location"],
    // The seeded agent is not in Service Desk, so the group change clears it.
    ["Managed By Group", "Service Desk", "Saved Managed By Group; cleared Managed By Agent, who is not in Service Desk"],
    ["Managed By Agent", "Ada Torvalds", "Saved Managed By Agent"],
  ];
  for (const [field, value, status] of edits) {
    await row(ASSET).getByLabel(`${field} of ${ASSET}`).selectOption({ label: value });
    await shown(row(ASSET).getByRole("status").getByText(status, { exact: true }));
    // The saved row replaced the old one: htmx wires its dropdowns once the swap settles (20 ms).
    await page.waitForFunction(
      () =>
        !(globalThis as unknown as { document: { querySelector(s: string): unknown } }).document.querySelector(
          ".htmx-added, .htmx-settling, .htmx-request",
        ),
    );
  }

  await page.reload();
  for (const [field, value] of edits) expect(await selected(row(ASSET).getByLabel(`${field} of ${ASSET}`))).toBe(value);
});

test("an agent assigns a group to all assets matching a filter, then undoes it", async () => {
  await page.goto("/agent/assets");
  const filters = page.getByRole("search");
  await filters.getByLabel("Location", { exact: true }).selectOption({ label: "Singapore" });
  await filters.getByLabel("Status", { exact: true }).selectOption({ label: "In use" });
  await page.getByRole("button", { name: "Filter" }).click();
  // The count arrives after the rows (htmx), and fills in the bulk bar's "All N matching".
  await shown(page.getByTestId("match-count").getByText(/^\d+ records match\.$/));
  const count = Number((await page.getByTestId("match-count").innerText()).match(/^(\d+)/)![1]);
  expect(count).toBeGreaterThan(50); // more than one page: "all matching" reaches past what is on screen
  const first = page.getByTestId("inventory-row").first();
  const firstName = await first.getByRole("link").first().innerText();
  const groupBefore = await selected(first.getByLabel(`Managed By Group of ${firstName}`));

  await page.getByLabel("Select all rows on this page").check();
  const bulk = page.getByRole("form", { name: "Bulk change" });
  await bulk.getByLabel(`All ${count} matching this filter`).check();
  await bulk.getByLabel("Action").selectOption({ label: "Assign Group" });
  await bulk.getByLabel("Group", { exact: true }).selectOption({ label: "Security" });
  await screenshot(page, "asset-list-bulk-selection", { fullPage: false });
  await page.getByRole("button", { name: "Review change" }).click();

  // Some matches may be in Security already: the summary says how many change, and why the rest do not.
  const summary = await page.getByTestId("bulk-summary").innerText();
  const changing = Number(new RegExp(`^Managed By Group will be set to Security on (\\d+) of ${count} assets\\.$`).exec(summary)![1]);
  await page.getByRole("button", { name: `Change ${changing} ${changing === 1 ? "record" : "records"}` }).click();
  expect(await page.getByTestId("bulk-result").innerText()).toMatch(new RegExp(`^Changed ${changing} of ${count} assets\\.`));

  // The filtered list, in another tab, shows every match in Security (the page of results stays open for Undo).
  const list = await page.context().newPage();
  await list.goto((await page.getByRole("link", { name: "Back to Assets" }).getAttribute("href"))!);
  await shown(list.getByTestId("match-count").getByText(`${count} records match.`, { exact: true }));
  for (const r of await list.getByTestId("inventory-row").all()) {
    const name = await r.getByRole("link").first().innerText();
    expect(await selected(r.getByLabel(`Managed By Group of ${name}`))).toBe("Security");
  }
  await list.close();

  await page.getByRole("button", { name: "Undo" }).click();
  await shown(page.getByRole("heading", { name: "Undone" }));
  await page.goto("/agent/assets");
  await page.getByLabel("Search").fill(firstName);
  await page.getByRole("button", { name: "Filter" }).click();
  expect(await selected(row(firstName).getByLabel(`Managed By Group of ${firstName}`))).toBe(groupBefore);
});

/** Every dropdown of the list's rows as the browser has it: its name, chosen value and options. */
const rowDropdowns = (on: Page) =>
  on.locator("table.inventory-table tbody select").evaluateAll((selects) =>
    (selects as unknown as { ariaLabel: string; value: string; options: ArrayLike<{ value: string; text: string }> }[]).map((s) => ({
      name: s.ariaLabel,
      value: s.value,
      options: Array.from(s.options, (o) => `${o.value}=${o.text}`),
    })),
  );

test("the rows' dropdowns, filled in by the page's script, offer what whole ones do; without JavaScript the list sends whole ones, saved with Save", async () => {
  const list = "/agent/assets?q=ThinkPad";
  await page.goto(list);
  await shown(page.getByTestId("inventory-row"));
  // The page came with lean dropdowns, and its script has filled every one.
  expect(await page.locator("template[id^=choices-]").count()).toBeGreaterThan(3);
  expect(await page.locator("select[data-choices]").count()).toBe(0);
  const filled = await rowDropdowns(page);
  expect(filled.length).toBe(200); // 50 rows, four dropdowns each
  expect(new Set(filled.map((d) => d.options.length)).size).toBeGreaterThan(2);

  const context = await journey.newContext({ javaScriptEnabled: false });
  const noScript = await context.newPage();
  await signInWithPassword(noScript, "agent", "admin@edgedesk.test", journey.password);
  // The lean page's <noscript> sends the browser once by /without-script, which remembers it
  // (a cookie), and back: from then on the list comes with whole dropdowns.
  let arrivals = 0;
  noScript.on("framenavigated", (frame) => void (frame === noScript.mainFrame() && arrivals++));
  // (The refresh starts before the first page has loaded: only its start is waited for.)
  await noScript.goto(list, { waitUntil: "commit" });
  await eventually(async () => arrivals).toBe(2);
  await noScript.waitForLoadState("load");
  expect(noScript.url()).toBe(`${journey.url}${list}`);
  expect((await context.cookies()).map((c) => c.name)).toContain("__Host-edgedesk_no_script");
  await shown(noScript.getByTestId("inventory-row"));
  expect(await noScript.locator("select[data-choices], template").count()).toBe(0);
  expect(await rowDropdowns(noScript)).toEqual(filled);

  // A change saved with the row's Save button, as a plain form post, comes back to the same list.
  const first = noScript.getByTestId("inventory-row").first();
  const name = await first.getByRole("link").first().innerText();
  const location = first.getByLabel(`Location of ${name}`);
  const before = await selected(location);
  const choice = (await location.locator("option").allInnerTexts()).find((text) => text !== "—" && text !== before)!;
  await location.selectOption({ label: choice });
  await first.getByRole("button", { name: "Save" }).click();
  await noScript.waitForURL((url) => url.search === "?q=ThinkPad");
  const saved = noScript.getByTestId("inventory-row").filter({ has: noScript.getByRole("link", { name, exact: true }) });
  expect(await selected(saved.getByLabel(`Location of ${name}`))).toBe(choice);
  await page.reload();
  expect(await selected(row(name).getByLabel(`Location of ${name}`))).toBe(choice);
});

test("every static file is served with the security headers a page gets", async () => {
  const SECURITY = [
    "content-security-policy",
    "cross-origin-opener-policy",
    "cross-origin-resource-policy",
    "referrer-policy",
    "strict-transport-security",
    "x-content-type-options",
    "x-frame-options",
    "x-permitted-cross-domain-policies",
  ];
  const pick = (headers: Headers) => Object.fromEntries(SECURITY.map((h) => [h, headers.get(h)]));
  const page = await fetch(`${journey.url}/agent/login`);
  await page.text();
  expect(pick(page.headers)["x-content-type-options"]).toBe("nosniff");
  const files = readdirSync("web", { recursive: true, withFileTypes: true }).filter((f) => f.isFile() && f.name !== "_headers");
  expect(files.length).toBeGreaterThanOrEqual(6);
  for (const file of files) {
    const path = `${file.parentPath.replace(/^web\/?/, "")}/${file.name}`.replace(/^\//, "");
    const response = await fetch(`${journey.url}/${path}`);
    await response.arrayBuffer();
    expect(response.status, path).toBe(200);
    expect(pick(response.headers), path).toEqual(pick(page.headers));
  }
  // The rules file itself is not served.
  expect((await fetch(`${journey.url}/_headers`)).status).not.toBe(200);
});

/**
 * What a person sees of each list at a common desktop width, read from element sizes: every
 * inline dropdown wide enough for the text of its chosen option (measured in the dropdown's own
 * font, plus its padding and arrow), the search box wide enough for its placeholder, and the
 * table's edges on the filter bar's and bulk bar's, with nothing to scroll sideways in between.
 */
async function listLayout(page: Page) {
  return page.evaluate(`(() => {
    const canvas = document.createElement("canvas").getContext("2d");
    const textWidth = (text, element) => { canvas.font = getComputedStyle(element).font; return canvas.measureText(text).width; };
    const px = (element, property) => parseFloat(getComputedStyle(element)[property]);
    // Chromium draws a dropdown's arrow in about 16 px beside the text, inside its padding.
    const ARROW = 16;
    const cut = [];
    for (const select of document.querySelectorAll("table.inventory-table select")) {
      const chosen = select.options[select.selectedIndex]?.text ?? "";
      const needs = textWidth(chosen, select) + px(select, "paddingLeft") + px(select, "paddingRight") + ARROW;
      if (needs > select.clientWidth + 0.5) cut.push(select.getAttribute("aria-label") + ": " + chosen + " needs " + Math.ceil(needs) + " px, has " + select.clientWidth);
    }
    const search = document.querySelector("input[type=search]");
    const placeholder = textWidth(search.placeholder, search) + px(search, "paddingLeft") + px(search, "paddingRight");
    const edges = (selector) => { const r = document.querySelector(selector).getBoundingClientRect(); return [Math.round(r.left), Math.round(r.right)]; };
    const scroller = document.querySelector(".table-scroll");
    return {
      dropdowns: document.querySelectorAll("table.inventory-table select").length,
      cut,
      searchFits: placeholder <= search.clientWidth + 0.5,
      filters: edges("form.filters"),
      bulk: edges(".bulk-bar"),
      table: edges("table.inventory-table"),
      scrolls: scroller.scrollWidth > scroller.clientWidth,
      page: document.documentElement.scrollWidth > innerWidth,
    };
  })()`) as Promise<{
    dropdowns: number;
    cut: string[];
    searchFits: boolean;
    filters: number[];
    bulk: number[];
    table: number[];
    scrolls: boolean;
    page: boolean;
  }>;
}

test("at 1280, 1440 and 1920 px a chosen value reads in full, and the table lines up with the bars above it; at 390 and 320 px too, a card per row", async () => {
  for (const list of ["/agent/assets", "/agent/software"]) {
    await page.goto(list);
    await shown(page.getByTestId("inventory-row"));
    // A ticked row shows the bulk bar, whose edges the table's should meet.
    await page.getByTestId("inventory-row").first().getByRole("checkbox").check();
    await shown(page.locator(".bulk-bar"));
    for (const width of [1280, 1440, 1920]) {
      await page.setViewportSize({ width, height: 900 });
      const layout = await listLayout(page);
      expect(layout.dropdowns, `${list} at ${width} px: dropdowns measured`).toBeGreaterThan(10);
      expect(layout.cut, `${list} at ${width} px`).toEqual([]);
      expect(layout.searchFits, `${list} at ${width} px: the search box cuts its placeholder`).toBe(true);
      expect(layout.table, `${list} at ${width} px: table edges against the filter bar's`).toEqual(layout.filters);
      expect(layout.table, `${list} at ${width} px: table edges against the bulk bar's`).toEqual(layout.bulk);
      expect({ scrolls: layout.scrolls, page: layout.page }, `${list} at ${width} px`).toEqual({ scrolls: false, page: false });
    }
    // On a phone each row is a card, its dropdowns as wide as the card: a chosen value still reads in full.
    for (const width of [390, 320]) {
      await page.setViewportSize({ width, height: 844 });
      const layout = await listLayout(page);
      expect(layout.dropdowns, `${list} at ${width} px: dropdowns measured`).toBeGreaterThan(10);
      expect(layout.cut, `${list} at ${width} px`).toEqual([]);
      expect(layout.searchFits, `${list} at ${width} px: the search box cuts its placeholder`).toBe(true);
      expect(layout.page, `${list} at ${width} px: the page scrolls sideways`).toBe(false);
    }
    await page.setViewportSize({ width: 1280, height: 800 });
    await page.getByTestId("inventory-row").first().getByRole("checkbox").uncheck();
  }
});
