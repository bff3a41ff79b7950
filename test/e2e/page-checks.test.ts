// The page checks (page-checks.ts) fail where they should: a page that scrolls sideways at 390 px, one
// axe-core finds a violation on, and one a browser lays out in quirks mode. Served from
// Playwright's routing; no Worker needed.
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Browser, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, expect, inject, test } from "vitest";
import { checkPage, PageLedger } from "./page-checks";

let browser: Browser;
let page: Page;
beforeAll(async () => {
  browser = await chromium.connect(inject("chromiumEndpoint"));
  page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
});
afterAll(async () => {
  await browser?.close();
});

async function serve(body: string) {
  await page.route("https://checks.test/page", (route) => route.fulfill({ status: 200, contentType: "text/html; charset=utf-8", body }));
  await page.goto("https://checks.test/page");
}

const frame = (main: string) =>
  `<!DOCTYPE html><html lang="en"><head><title>A page</title><meta name="viewport" content="width=device-width, initial-scale=1"></head><body><main><h1>A page</h1>${main}</main></body></html>`;

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
  await serve(
    frame(
      '<div style="overflow-x: auto" tabindex="0"><table><tr><th scope="col" style="min-width: 900px">Wide</th></tr><tr><td>cell</td></tr></table></div>',
    ),
  );
  await checkPage(page);
});

test("an axe-core violation fails: an image without a text alternative, a field without a label", async () => {
  await serve(frame('<img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=" width="10" height="10"><input type="text">'));
  const failure = await checkPage(page).then(
    () => null,
    (error: Error) => error.message,
  );
  expect(failure).toContain("axe-core violations");
  expect(failure).toContain("image-alt (Images must have alternative text)");
  expect(failure).toMatch(/label \(.*\) at input/);
});

/** A journey over `pages` (path → markup); its ledger's failure message, or null. */
async function journey(pages: Record<string, string>, passedDir?: string, checkers = { opened: 0 }) {
  const context = await browser.newContext();
  const ledger = new PageLedger(
    "https://checks.test",
    () => {
      checkers.opened++;
      return browser.newContext();
    },
    passedDir,
  );
  await ledger.watch(context);
  await context.route("https://checks.test/**", (route) =>
    route.fulfill({ status: 200, contentType: "text/html; charset=utf-8", body: pages[new URL(route.request().url()).pathname] ?? "" }),
  );
  const tab = await context.newPage();
  for (const path of Object.keys(pages)) await tab.goto(`https://checks.test${path}`, { waitUntil: "load" });
  return ledger
    .assertAllChecked()
    .then(
      () => null,
      (error: Error) => error.message,
    )
    .finally(() => context.close());
}

test("a journey's page without a doctype fails the journey: the browser lays it out in quirks mode", async () => {
  const fine = frame("<p>Standards mode.</p>");
  expect(await journey({ "/first": fine, "/second": fine })).toBeNull();
  const failure = await journey({ "/first": fine, "/second": fine.replace("<!DOCTYPE html>", "") });
  expect(failure).toContain("/second is laid out in quirks mode (BackCompat)");
  expect(failure).not.toContain("/first");
  // A later copy is written into the checker's tab, where axe-core is already loaded: it still reads it.
  const unlabelled = await journey({ "/first": fine, "/form": frame('<input type="text">') });
  expect(unlabelled).toMatch(/\/form at 1280 px: axe-core violations: label \(/);
  expect(unlabelled).not.toContain("/first");
});

test("a copy that passed in an earlier journey is not checked again; one that failed is, and fails again", async () => {
  const passedDir = mkdtempSync(join(tmpdir(), "edgedesk-checked-test-"));
  try {
    const fine = frame("<p>Checked once.</p>");
    const first = { opened: 0 };
    expect(await journey({ "/home": fine }, passedDir, first)).toBeNull();
    expect(first.opened).toBe(1);
    expect(readdirSync(passedDir)).toHaveLength(1);
    // The same copy at the same address: nothing to check, so no checker is opened.
    const again = { opened: 0 };
    expect(await journey({ "/home": fine }, passedDir, again)).toBeNull();
    expect(again.opened).toBe(0);
    // The same markup at another address, or other markup at the same one, is checked.
    const elsewhere = { opened: 0 };
    expect(await journey({ "/other": fine, "/home": frame("<p>Changed.</p>") }, passedDir, elsewhere)).toBeNull();
    expect(readdirSync(passedDir)).toHaveLength(3);
    const wide = frame('<div class="wide" style="width: 600px">Too wide</div>');
    // Met again, first in a journey and after another page (written into the checker's open tab).
    const journeys: Record<string, string>[] = [{ "/wide": wide }, { "/another": frame("<p>Another.</p>"), "/wide": wide }];
    for (const pages of journeys) {
      expect(await journey(pages, passedDir)).toMatch(/\/wide at 390 px scrolls sideways/);
    }
    expect(readdirSync(passedDir)).toHaveLength(4);
  } finally {
    rmSync(passedDir, { recursive: true, force: true });
  }
});
