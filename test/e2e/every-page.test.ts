// Every page of both portals, reached the way a person would, by following the links each page
// offers (an admin on the agent portal, a contact on the support portal). Each route is checked at
// every width and with axe-core as the journey leaves it (page-checks.ts); at 390 px the menu's
// every link and button is on screen. Every name the pages show is at its field's maximum length
// without a space (long-names.ts), so a page that a long name would widen fails here.
import type { Page } from "playwright-core";
import { afterAll, beforeAll, expect, test } from "vitest";
import { routeOf } from "./page-checks";
import { LONG_ISSUER, LONG_NAMES_SQL } from "./long-names";
import { type Journey, openSecuritySettings, saveForNextLogin, shown, signInWithPassword, startJourney } from "./harness";

let journey: Journey;
beforeAll(async () => {
  journey = await startJourney({ seedChanges: LONG_NAMES_SQL });
});
afterAll(async () => {
  await journey?.stop();
});

/** The same-origin links of a page a person could follow to another page (no downloads, no dev tools). */
async function linksOf(page: Page): Promise<string[]> {
  const hrefs = await page
    .locator("a[href]:not([download])")
    .evaluateAll((links) => links.map((a) => (a as unknown as { href: string }).href));
  return hrefs.filter((href) => href.startsWith(journey.url) && !/\/dev\/|\.csv|\/export|\/download|#/.test(href));
}

/** Follows links breadth-first from `start`, one page per route, and returns the routes reached. */
async function crawl(page: Page, start: string, prefix: string, limit = 80): Promise<string[]> {
  const seen = new Set<string>();
  const queue = [new URL(start, journey.url).href];
  while (queue.length > 0 && seen.size < limit) {
    const url = queue.shift()!;
    const route = routeOf(url);
    if (seen.has(route) || !new URL(url).pathname.startsWith(prefix)) continue;
    seen.add(route);
    const response = await page.goto(url);
    expect(response?.status(), url).toBeLessThan(400);
    await shown(page.locator("main"));
    for (const link of await linksOf(page)) if (!seen.has(routeOf(link))) queue.push(link);
  }
  return [...seen];
}

async function menuFitsAPhone(page: Page) {
  await page.setViewportSize({ width: 390, height: 844 });
  await page.getByRole("banner").getByText("Menu", { exact: true }).click();
  const items = page.getByRole("banner").locator("details[open] a, details[open] button");
  expect(await items.count()).toBeGreaterThan(1);
  for (const item of await items.all()) {
    const box = (await item.boundingBox())!;
    expect(box.x + box.width, await item.innerText()).toBeLessThanOrEqual(390);
  }
  await page.setViewportSize({ width: 1280, height: 800 });
}

test("an admin reaches every page of the agent portal by its links", async () => {
  const page = await journey.newPage();
  await signInWithPassword(page, "agent", "admin@edgedesk.test", journey.password);
  await menuFitsAPhone(page);
  const routes = await crawl(page, "/agent", "/agent");
  // 40 routes when this was written: a drop means a page lost the links to the others.
  expect(routes.length, routes.join(" ")).toBeGreaterThanOrEqual(38);
  // The areas a person finds from the home page, each with its pages.
  for (const route of [
    "/agent/assets",
    "/agent/assets/:id",
    "/agent/assets/new",
    "/agent/software",
    "/agent/settings/security",
    "/agent/admin/agents",
    "/agent/admin/roles",
    "/agent/settings/security/audit",
    "/agent/settings/security/api-tokens",
    "/agent/settings/security/streaming",
    "/agent/account",
  ])
    expect(routes).toContain(route);
});

test("a contact reaches every page of the support portal by its links", async () => {
  const page = await journey.newPage();
  await signInWithPassword(page, "support", "contact2@customer.test", journey.password);
  await menuFitsAPhone(page);
  const routes = await crawl(page, "/support", "/support");
  expect(routes.sort()).toEqual(["/support", "/support/account", "/support/assets"]);
});

test("the issuer name at its longest, unbroken, where a contact setting up the app reads it", async () => {
  const admin = await journey.newPage();
  await signInWithPassword(admin, "agent", "admin@edgedesk.test", journey.password);
  await openSecuritySettings(admin, "Contact Authentication", "Multi-Factor Authentication");
  await admin.getByLabel("Authenticator App").check();
  await admin.getByLabel("Issuer Name").fill(LONG_ISSUER);
  await saveForNextLogin(admin, "Authenticator App: off → on");
  // The enrollment page (QR code, manual key, the name the app will show) is checked at every width as the journey leaves it.
  const page = await journey.newPage();
  await signInWithPassword(page, "support", "contact2@customer.test", journey.password);
  await shown(page.getByRole("img", { name: new RegExp(`^QR code for ${LONG_ISSUER}`) }));
});
