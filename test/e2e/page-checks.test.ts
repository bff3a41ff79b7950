// The page checks of issue 23 fail where they should: a page that scrolls sideways at 390 px, one
// axe-core finds a violation on, and one a browser lays out in quirks mode. Served from
// Playwright's routing; no Worker needed.
import { type Browser, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, expect, test } from "vitest";
import { CHROMIUM_ARGS, chromiumPath } from "./chromium";
import { checkPage, PageLedger } from "./page-checks";

let browser: Browser;
let page: Page;
beforeAll(async () => {
  browser = await chromium.launch({ executablePath: chromiumPath(), headless: true, args: CHROMIUM_ARGS });
  page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
});
afterAll(async () => {
  await browser?.close();
});

async function serve(body: string) {
  await page.route("https://checks.test/page", (route) => route.fulfill({ status: 200, contentType: "text/html; charset=utf-8", body }));
  await page.goto("https://checks.test/page");
}

const frame = (main: string) => `<!DOCTYPE html><html lang="en"><head><title>A page</title><meta name="viewport" content="width=device-width, initial-scale=1"></head><body><main><h1>A page</h1>${main}</main></body></html>`;

test("a clean page passes at every width", async () => {
  await serve(frame("<p>Fine at any width.</p>"));
  await checkPage(page);
  expect(page.viewportSize()).toEqual({ width: 1280, height: 800 });
});

test("a page wider than a phone fails, naming what sticks out", async () => {
  await serve(frame('<div class="wide" style="width: 600px">Too wide</div>'));
  await expect(checkPage(page)).rejects.toThrow(/scrolls sideways: main > div\.wide \(right edge \d+ px\)/);
  expect(page.viewportSize()).toEqual({ width: 1280, height: 800 });
});

test("a wide table inside a scrolling box passes", async () => {
  // Focusable, as a box that scrolls must be for the keyboard (axe-core: scrollable-region-focusable).
  await serve(frame('<div style="overflow-x: auto" tabindex="0"><table><tr><th scope="col" style="min-width: 900px">Wide</th></tr><tr><td>cell</td></tr></table></div>'));
  await checkPage(page);
});

test("an axe-core violation fails: an image without a text alternative, a field without a label", async () => {
  await serve(frame('<img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=" width="10" height="10"><input type="text">'));
  const failure = await checkPage(page).then(() => null, (error: Error) => error.message);
  expect(failure).toContain("axe-core violations");
  expect(failure).toContain("image-alt (Images must have alternative text)");
  expect(failure).toMatch(/label \(.*\) at input/);
});

test("a journey's page without a doctype fails the journey: the browser lays it out in quirks mode", async () => {
  const journey = async (pages: Record<string, string>) => {
    const context = await browser.newContext();
    const ledger = new PageLedger("https://checks.test", () => browser.newContext());
    await ledger.watch(context);
    await context.route("https://checks.test/**", (route) => route.fulfill({ status: 200, contentType: "text/html; charset=utf-8", body: pages[new URL(route.request().url()).pathname] ?? "" }));
    const tab = await context.newPage();
    for (const path of Object.keys(pages)) await tab.goto(`https://checks.test${path}`, { waitUntil: "load" });
    return ledger.assertAllChecked().then(() => null, (error: Error) => error.message).finally(() => context.close());
  };
  const fine = frame("<p>Standards mode.</p>");
  expect(await journey({ "/first": fine, "/second": fine })).toBeNull();
  const failure = await journey({ "/first": fine, "/second": fine.replace("<!DOCTYPE html>", "") });
  expect(failure).toContain("/second is laid out in quirks mode (BackCompat)");
  expect(failure).not.toContain("/first");
});
