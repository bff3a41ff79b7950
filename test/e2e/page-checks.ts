// Every page a journey visits is checked, at the widths people use. At 1280, 1440, 390 and
// 320 px the document must not scroll sideways; at 1280 and 390 px axe-core (someone else's
// reading of WCAG) must report no violation. A journey's pages are checked as it shows them
// (`shown` asks for it), and a journey that visited a page it never checked fails when it stops.
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createRequire } from "node:module";
import type { BrowserContext, Page } from "playwright-core";
import { expect } from "vitest";

const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");
/**
 * The static files (styles, icons) as they are now: part of a checked copy's key, so a copy that
 * passed under older styles (a watch run after an edit to web/) is checked again.
 */
const WEB_VERSION = (() => {
  const hash = createHash("sha256");
  for (const file of readdirSync("web", { recursive: true, withFileTypes: true })
    .filter((f) => f.isFile())
    .map((f) => join(f.parentPath, f.name))
    .sort())
    hash.update(file).update(readFileSync(file));
  return hash.digest("hex");
})();
const AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21aa", "wcag22aa", "best-practice"];
/** Rules not run, each with its reason. */
const AXE_EXCLUDED: Record<string, string> = {};

export const WIDTHS = {
  desktop: { width: 1280, height: 800 },
  wide: { width: 1440, height: 900 },
  phone: { width: 390, height: 844 },
  small: { width: 320, height: 640 },
} as const;
/** Widths axe-core reads too (the others are only checked for sideways scrolling). */
const AXE_WIDTHS: ReadonlySet<string> = new Set(["desktop", "phone"]);

/** A page's route: its path with ids and tokens replaced, so /agent/assets/ast_x and /agent/assets/ast_y are one page. */
export function routeOf(url: string): string {
  const path = new URL(url).pathname;
  return path
    .split("/")
    .map((part) => (/^[a-z]+_[a-z0-9]+$/.test(part) || /^[A-Za-z0-9_-]{20,}$/.test(part) ? ":id" : part))
    .join("/");
}

interface Violation {
  id: string;
  impact: string | null;
  help: string;
  targets: string[];
}

// The functions below run in the page (the project's types have no DOM, so they are sent as text).
async function settled(page: Page) {
  await page.evaluate("new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve)))");
}

async function sidewaysScroll(page: Page): Promise<{ scrollWidth: number; innerWidth: number; widest: string }> {
  return page.evaluate(`(() => {
    const doc = document.scrollingElement ?? document.documentElement;
    // The outermost element that sticks out, to name in the failure.
    let widest = "";
    const name = (e) => e.tagName.toLowerCase() + (e.id ? "#" + e.id : "") + (typeof e.className === "string" && e.className ? "." + e.className.trim().split(/\\s+/).join(".") : "");
    // Inside a box that scrolls, or a closed <details>, an element sticking out moves nothing.
    const scrolls = (e) => {
      for (let a = e.parentElement; a; a = a.parentElement)
        if (/auto|scroll|hidden/.test(getComputedStyle(a).overflowX) || (a.tagName === "DETAILS" && !a.open && !e.closest("summary"))) return true;
      return false;
    };
    for (const element of document.querySelectorAll("body *")) {
      const right = element.getBoundingClientRect().right;
      if (right > innerWidth + 1 && !widest && !scrolls(element)) {
        const path = [];
        for (let e = element; e && e !== document.body; e = e.parentElement) path.unshift(name(e));
        widest = path.join(" > ") + " (right edge " + Math.round(right) + " px)";
      }
    }
    return { scrollWidth: doc.scrollWidth, innerWidth, widest };
  })()`);
}

async function axeViolations(page: Page): Promise<Violation[]> {
  if (!(await page.evaluate('"axe" in window'))) await page.evaluate(AXE_SOURCE);
  const options = {
    runOnly: { type: "tag", values: AXE_TAGS },
    rules: Object.fromEntries(Object.keys(AXE_EXCLUDED).map((id) => [id, { enabled: false }])),
  };
  return page.evaluate(`axe.run(document, ${JSON.stringify(options)}).then((result) =>
    result.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, targets: v.nodes.slice(0, 5).map((n) => n.target.join(" ")) })))`);
}

/** Checks the page as it is now at every width, then gives it back its own size. */
export async function checkPage(page: Page, route = routeOf(page.url())) {
  const original = page.viewportSize();
  try {
    for (const [name, size] of Object.entries(WIDTHS)) {
      await page.setViewportSize(size);
      await settled(page);
      const width = await sidewaysScroll(page);
      expect(width.scrollWidth, `${route} at ${size.width} px scrolls sideways: ${width.widest}`).toBeLessThanOrEqual(width.innerWidth);
      if (!AXE_WIDTHS.has(name)) continue;
      const violations = await axeViolations(page);
      expect(
        violations,
        `${route} at ${size.width} px: axe-core violations: ${violations.map((v) => `${v.id} (${v.help}) at ${v.targets.join(", ")}`).join("; ")}`,
      ).toEqual([]);
    }
  } finally {
    if (original) await page.setViewportSize(original);
  }
}

// Runs in every page of a journey: sends the page's DOM, as it is after each change (50 ms
// quiet), to the ledger. Init scripts and bindings are Playwright's, so the CSP does not apply.
const SNAPSHOT_SCRIPT = `(() => {
  if (window.top !== window) return;
  let timer;
  const send = () => {
    timer = undefined;
    window.__edgedeskSnapshot?.(location.href, "<!DOCTYPE html>" + document.documentElement.outerHTML, document.compatMode)?.catch(() => {});
  };
  addEventListener("load", send);
  new MutationObserver(() => { timer ??= setTimeout(send, 50); }).observe(document, { subtree: true, childList: true, attributes: true, characterData: true });
})();`;

/**
 * The pages one journey visits and checks, by route. Each page's DOM is copied as it changes;
 * once the journey has left a route, its last copy (the page as the person last saw it) is
 * checked on a page of its own: served at the same address with the app's styles and its scripts
 * removed (what they did is in the copy), so the journey is never resized under its feet. Each route
 * is checked once a journey, and a route visited but never copied fails the journey.
 */
export class PageLedger {
  private readonly visited = new Map<string, string>();
  private readonly latest = new Map<string, { url: string; html: string; mode: string }>();
  private readonly checked = new Set<string>();
  private readonly current = new WeakMap<Page, string>();
  private readonly failures: string[] = [];
  private queue: Promise<void> = Promise.resolve();
  private checker: Promise<Page> | undefined;
  constructor(
    private readonly origin: string,
    private readonly newCheckerContext: () => Promise<BrowserContext>,
    /** Where copies that passed are noted for the whole run (global-setup.ts); none: check every copy. */
    private readonly passedDir?: string,
  ) {}

  private ours(url: string) {
    // Development tools (the mailbox) are not pages of the product.
    return url.startsWith(this.origin) && !new URL(url).pathname.startsWith("/dev/");
  }

  async watch(context: BrowserContext) {
    await context.exposeBinding("__edgedeskSnapshot", (_source, url: string, html: string, mode: string) => {
      if (this.ours(url)) this.latest.set(routeOf(url), { url, html, mode });
    });
    await context.addInitScript(SNAPSHOT_SCRIPT);
    context.on("page", (page) =>
      page.on("framenavigated", (frame) => {
        if (frame !== page.mainFrame()) return;
        const left = this.current.get(page);
        const url = frame.url();
        const route = this.ours(url) ? routeOf(url) : "";
        if (left && left !== route) this.checkSoon(left);
        this.current.set(page, route);
        if (route && !this.visited.has(route)) this.visited.set(route, url);
      }),
    );
  }

  private checkSoon(route: string) {
    if (this.checked.has(route) || !this.latest.has(route)) return;
    this.checked.add(route);
    const { url, html, mode } = this.latest.get(route)!;
    // The copy is checked with a doctype of its own, so whether the page itself had one is read here.
    if (mode !== "CSS1Compat")
      this.failures.push(`${route} is laid out in quirks mode (${mode}): the page does not start with <!DOCTYPE html>`);
    this.queue = this.queue.then(() => this.check(url, html));
  }

  private async check(url: string, html: string) {
    // The copy without its script tags: what the scripts did is already in it, and they must not run twice.
    const body = html.replace(/<script\b[^>]*>[\s\S]*?<\/script>/gi, "");
    // The same copy at the same address, with the same styles and browser, checks the same: one
    // that passed in an earlier journey of this run (a sign-in page, the home page) is not checked again.
    const passed =
      this.passedDir &&
      join(
        this.passedDir,
        createHash("sha256")
          .update(`${WEB_VERSION}\n${new URL(url).pathname}${new URL(url).search}\n${body}`)
          .digest("hex"),
      );
    if (passed && existsSync(passed)) return;
    try {
      const page = await this.openCopy(url, body);
      await checkPage(page, routeOf(url));
      if (passed) writeFileSync(passed, url);
    } catch (error) {
      if (process.env.EDGEDESK_KEEP_FAILED_PAGES)
        (await import("node:fs")).writeFileSync(`/tmp/failed-${routeOf(url).replaceAll("/", "_")}.html`, html);
      this.failures.push((error as Error).message);
    }
  }

  /**
   * The copy, loaded with the app's styles from the journey's Worker. A load that stalls (a
   * stylesheet request lost on a busy machine) gets one more try on a fresh page, so what fails
   * the journey is the page itself, not the checker's tab.
   */
  private async openCopy(url: string, body: string): Promise<Page> {
    for (let attempt = 1; ; attempt++) {
      this.checker ??= this.newCheckerContext().then((context) => context.newPage());
      const page = await this.checker;
      try {
        // Once the checker's tab is at the app's origin, each copy is written into its document
        // (document.open, so the window and the axe-core loaded in it stay): the same styles,
        // fetched from the same origin, without a navigation and axe-core's 0.5 MB parsed again.
        if (page.url().startsWith(this.origin)) {
          await page.setContent(body);
          return page;
        }
        await page.route(url, (route) => route.fulfill({ status: 200, contentType: "text/html; charset=utf-8", body }));
        await page.goto(url);
        await page.unroute(url);
        return page;
      } catch (error) {
        if (attempt === 2 || !/Timeout/.test((error as Error).message)) throw error;
        this.checker = page.context().newPage();
        await page.close();
      }
    }
  }

  /** Checks what is left, then fails the journey with every check that failed and every page never copied. */
  async assertAllChecked() {
    // The last copies of the pages still open (sent 50 ms after their last change).
    await new Promise((resolve) => setTimeout(resolve, 150));
    for (const route of this.visited.keys()) this.checkSoon(route);
    await this.queue;
    const unchecked = [...this.visited.entries()].filter(([route]) => !this.checked.has(route)).map(([route, url]) => `${route} (${url})`);
    expect(
      this.failures,
      `pages that scroll sideways, have axe-core violations or are laid out in quirks mode:\n${this.failures.join("\n")}`,
    ).toEqual([]);
    expect(unchecked, "pages visited but never copied for their check").toEqual([]);
  }
}
