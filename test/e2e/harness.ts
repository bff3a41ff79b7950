// Browser journeys: each test file runs its own `wrangler dev` over a copy of the seeded state
// (global-setup.ts) and drives the run's one Debian Chromium through the labels a person reads.
import { type ParsedMail, simpleParser } from "mailparser";
import { cpSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { DatabaseSync } from "node:sqlite";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { decodeBase32IgnorePadding } from "@oslojs/encoding";
import { generateHOTP } from "@oslojs/otp";
import jsQR from "jsqr";
import * as OTPAuth from "otpauth";
import { type Browser, type BrowserContext, chromium, type Download, type Locator, type Page } from "playwright-core";
import { PNG } from "pngjs";
import { expect, inject } from "vitest";
import { freePort, randomDevVars, runWorker } from "../../scripts/local-app.mjs";
import { CHROMIUM_ARGS, chromiumPath } from "./chromium";
import { JOURNEY_HASH_PARAMS } from "./hash-params";
import { PageLedger } from "./page-checks";

export type Portal = "agent" | "support";

/**
 * Waits until the locator is on screen (playwright-core has no `expect`; these are its waits),
 * and until the page has loaded: its scripts (htmx, the popups) are wired only then, and on a busy
 * machine a click can otherwise land in between, where a person would be no faster.
 */
export async function shown(locator: Locator) {
  await locator.first().waitFor({ state: "visible" });
  await locator.page().waitForLoadState("load");
}

/** Asserts that nothing matches the locator on the page as it is now. */
export async function absent(locator: Locator) {
  expect(await locator.count()).toBe(0);
}

/** Polls a property of the page until it holds (for changes made by the page's own script). */
export function eventually<T>(read: () => Promise<T>) {
  return expect.poll(read, { timeout: 10_000 });
}

export interface Journey {
  url: string;
  /** Every seeded account's password. */
  password: string;
  /** A new browser context (its own cookies: another person, or another browser of the same one); `javaScriptEnabled: false` for one that runs no script. */
  newContext(options?: { javaScriptEnabled?: boolean }): Promise<BrowserContext>;
  newPage(): Promise<Page>;
  stop(): Promise<void>;
}

/**
 * `wrangler dev` on a free port. A free port is only free when it was looked up: with another
 * copy of the suite running beside this one, the port (or one wrangler takes for itself) can be
 * gone a moment later and wrangler exits at once. That start is retried on fresh ports; a Worker
 * that started and then failed is not.
 */
async function startWorker(persist: string) {
  // PORTAL_STATE_TTL_SECONDS: saves wait for every isolate's copy of a portal's state to expire;
  // 1 second keeps that cache in play while the journeys stay quick.
  const vars = {
    ...randomDevVars(),
    HMAC_KEY: inject("hmacKey"),
    PASSWORD_HASH_PARAMS: `N=${JOURNEY_HASH_PARAMS.N},r=${JOURNEY_HASH_PARAMS.r},p=${JOURNEY_HASH_PARAMS.p}`,
    PORTAL_STATE_TTL_SECONDS: "1",
  };
  for (let attempt = 1; ; attempt++) {
    try {
      return await runWorker({ persist, port: await freePort(), vars, logLevel: "warn", stdio: ["ignore", "ignore", "inherit"] });
    } catch (error) {
      if (attempt >= 3 || !(error instanceof Error) || !/exited with code/.test(error.message)) throw error;
      console.warn(`${error.message}; starting it again on another port`);
    }
  }
}

/**
 * Runs SQL on the journey's copy of the seeded D1 database before its Worker opens it (the copy
 * is SQLite, as D1 is; miniflare keeps it under v3/d1).
 */
function changeSeed(persist: string, statements: readonly string[]) {
  const dir = join(persist, "v3", "d1", "miniflare-D1DatabaseObject");
  const files = readdirSync(dir).filter((f) => f.endsWith(".sqlite") && f !== "metadata.sqlite");
  if (files.length !== 1) throw new Error(`expected one D1 database in ${dir}, found ${files.join(", ") || "none"}`);
  const db = new DatabaseSync(join(dir, files[0]!));
  try {
    for (const sql of statements) db.exec(sql);
  } finally {
    db.close();
  }
}

/**
 * The run's shared Chromium, or, if it is gone (an earlier journey crashed it), a browser of this
 * journey's own, said in the log: one crash then fails the journey that caused it, not every
 * journey after it with a bare ECONNREFUSED.
 */
async function connectOrLaunch(): Promise<Browser> {
  try {
    return await chromium.connect(inject("chromiumEndpoint"), { timeout: 15_000 });
  } catch (error) {
    console.warn(`The run's shared Chromium did not answer (${(error as Error).message.split("\n")[0]}); this journey launches its own.`);
    return chromium.launch({ executablePath: chromiumPath(), headless: true, args: CHROMIUM_ARGS });
  }
}

/**
 * `host: "localhost"` for passkeys: browsers refuse WebAuthn on an IP address. `seedChanges`:
 * SQL run on this journey's copy of the seeded data before its Worker starts.
 */
export async function startJourney({
  host = "127.0.0.1",
  seedChanges = [],
}: {
  host?: "127.0.0.1" | "localhost";
  seedChanges?: readonly string[];
} = {}): Promise<Journey> {
  const persist = mkdtempSync(join(tmpdir(), "edgedesk-e2e-"));
  cpSync(inject("templateState"), persist, { recursive: true });
  if (seedChanges.length) changeSeed(persist, seedChanges);
  const app = await startWorker(persist);
  // The run's one Chromium (global-setup.ts); closing this connection closes the journey's contexts.
  let browser: Browser;
  try {
    browser = await connectOrLaunch();
  } catch (error) {
    await app.stop();
    throw error;
  }
  const contexts: BrowserContext[] = [];
  const url = app.url.replace("127.0.0.1", host);
  // The checks' own browser context, without the journey's cookies (page-checks.ts).
  const ledger = new PageLedger(
    url,
    () => browser.newContext({ baseURL: url, viewport: { width: 1280, height: 800 } }),
    inject("checkedPages"),
  );
  const newContext = async ({ javaScriptEnabled = true } = {}) => {
    const context = await browser.newContext({
      baseURL: url,
      acceptDownloads: true,
      viewport: { width: 1280, height: 800 },
      javaScriptEnabled,
    });
    context.setDefaultTimeout(10_000);
    contexts.push(context);
    await ledger.watch(context);
    return context;
  };
  return {
    url,
    password: inject("demoPassword"),
    newContext,
    newPage: async () => (await newContext()).newPage(),
    async stop() {
      const checked = ledger.assertAllChecked();
      await checked.catch(() => {});
      await browser.close();
      await app.stop();
      rmSync(persist, { recursive: true, force: true });
      await checked;
    },
  };
}

export async function signInWithPassword(page: Page, portal: Portal, email: string, password: string) {
  await page.goto(`/${portal}/login`);
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  await page.waitForURL((url) => !url.pathname.endsWith("/login"));
  await page.waitForLoadState("load");
}

export async function signOut(page: Page) {
  await page.getByRole("banner").getByRole("button", { name: "Sign out" }).click();
  await shown(page.getByRole("heading", { name: /^Sign in to the/ }));
}

/**
 * A person's authenticator app. Each time step is accepted once, and the server accepts the next
 * step's code too, so a person gets two codes without waiting: the current step's, then the
 * next one's. A journey never waits for the wall clock: asking for a third code inside one step
 * fails here, naming the fix (spread the codes over two people, or use recovery codes).
 */
export class Authenticator {
  private readonly key: Uint8Array;
  private lastStep = 0;
  /** The key as the set-up page showed it (spaces removed). */
  readonly manualKey: string;
  constructor(shown: string) {
    this.manualKey = shown.replace(/\s+/g, "");
    this.key = decodeBase32IgnorePadding(this.manualKey);
  }
  nextCode(): string {
    const now = Math.floor(Date.now() / 30_000);
    const step = Math.max(now, this.lastStep + 1);
    if (step > now + 1)
      throw new Error(
        "A third authenticator code within one 30-second step would mean waiting for the clock: this journey needs fewer codes per person.",
      );
    this.lastStep = step;
    return generateHOTP(this.key, BigInt(step), 6);
  }
}

/** The newest one-time password mailed to `email`, read from the development mailbox page. */
export async function emailedCode(context: BrowserContext, email: string): Promise<string> {
  const mailbox = await context.newPage();
  await mailbox.goto("/dev/mailbox");
  const mail = mailbox
    .getByTestId("mail")
    .filter({ has: mailbox.getByTestId("mail-to").getByText(email, { exact: true }) })
    .first();
  const body = await mail.getByTestId("mail-body").innerText();
  await mailbox.close();
  const code = body.match(/\b(\d{6})\b/)?.[1];
  if (!code) throw new Error(`No 6-digit code in the newest mail to ${email}:\n${body}`);
  return code;
}

/** The first link in the newest mail to `email` whose path matches `path`, read from the development mailbox page. */
export async function emailedLink(context: BrowserContext, email: string, path: RegExp): Promise<URL> {
  const mailbox = await context.newPage();
  await mailbox.goto("/dev/mailbox");
  const mail = mailbox
    .getByTestId("mail")
    .filter({ has: mailbox.getByTestId("mail-to").getByText(email, { exact: true }) })
    .first();
  const body = await mail.getByTestId("mail-body").innerText();
  await mailbox.close();
  const link = [...body.matchAll(/https?:\/\/\S+/g)].map((m) => new URL(m[0])).find((url) => path.test(url.pathname));
  if (!link) throw new Error(`No link to ${path} in the newest mail to ${email}:\n${body}`);
  return link;
}

/** The newest mail to `email` as its .eml download, read back by mailparser (someone else's MIME parser). */
export async function emailedMessage(context: BrowserContext, email: string): Promise<{ raw: string; parsed: ParsedMail }> {
  const mailbox = await context.newPage();
  await mailbox.goto("/dev/mailbox");
  const mail = mailbox
    .getByTestId("mail")
    .filter({ has: mailbox.getByTestId("mail-to").getByText(email, { exact: true }) })
    .first();
  const href = await mail.getByRole("link", { name: "Download .eml" }).getAttribute("href");
  const response = await context.request.get(href!);
  await mailbox.close();
  const raw = await response.text();
  return { raw, parsed: await simpleParser(raw) };
}

/** Saves a screenshot for the README (docs/screenshots/<name>.png): the whole page, or what a 1280×720 window shows. */
export async function screenshot(page: Page, name: string, { fullPage = true } = {}) {
  mkdirSync("docs/screenshots", { recursive: true });
  await page.screenshot({ path: `docs/screenshots/${name}.png`, fullPage });
}

/** A download's text, as the browser saved it (streamed: the browser is the run's shared one, so its files are not on a path of ours). */
export async function readDownload(download: Download): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of await download.createReadStream()) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

/**
 * The enrollment QR code as an authenticator app reads it: a screenshot decoded by jsQR (not our
 * encoder), its otpauth:// URI parsed by the otpauth library (not our code).
 */
export async function scanQrCode(page: Page): Promise<{ raw: string; totp: OTPAuth.TOTP }> {
  const png = PNG.sync.read(await page.getByRole("img", { name: /^QR code for / }).screenshot());
  const decoded = jsQR(new Uint8ClampedArray(png.data), png.width, png.height);
  if (!decoded) throw new Error("The QR code on the page could not be decoded");
  return { raw: decoded.data, totp: OTPAuth.URI.parse(decoded.data) as OTPAuth.TOTP };
}

/**
 * No code breaks inside itself, at a phone's width or a desktop's: each recovery code
 * and each group of four of the manual key stays on one line.
 */
export async function expectCodesUnbroken(page: Page, selector: string) {
  const before = page.viewportSize();
  for (const width of [320, 390, 768, 1280]) {
    await page.setViewportSize({ width, height: 800 });
    const broken = await page.evaluate((sel) => {
      const doc = (
        globalThis as unknown as {
          document: {
            querySelectorAll(s: string): ArrayLike<{ firstChild: unknown; textContent: string | null }>;
            createRange(): {
              setStart(n: unknown, o: number): void;
              setEnd(n: unknown, o: number): void;
              getClientRects(): { length: number };
            };
          };
        }
      ).document;
      const out: string[] = [];
      for (const element of Array.from(doc.querySelectorAll(sel))) {
        const text = element.textContent ?? "";
        // Every run of characters without a space must sit on one line box.
        for (const match of text.matchAll(/\S+/g)) {
          const range = doc.createRange();
          range.setStart(element.firstChild, match.index!);
          range.setEnd(element.firstChild, match.index! + match[0].length);
          if (range.getClientRects().length !== 1) out.push(match[0]);
        }
      }
      return out;
    }, selector);
    expect(broken, `broken at ${width} px`).toEqual([]);
  }
  if (before) await page.setViewportSize(before);
}

/** Sign-in up to an enrollment page; returns the person's authenticator after verifying its first code. */
export async function enroll(page: Page, issuer: string, screenshotName?: string) {
  await shown(page.getByRole("heading", { name: "Set up your authenticator app" }));
  await shown(page.getByRole("img", { name: `QR code for ${issuer}` }));
  if (screenshotName) await screenshot(page, screenshotName);
  const manualKey = (await page.getByTestId("totp-secret").innerText()).replace(/\s+/g, "");
  // What the person's app reads from the QR code is what the page says.
  const { raw, totp } = await scanQrCode(page);
  expect(raw).not.toContain("+");
  expect(totp.issuer).toBe(issuer);
  expect(totp.label).toMatch(/^[^@\s]+@[^@\s]+$/);
  expect([totp.algorithm, totp.digits, totp.period]).toEqual(["SHA1", 6, 30]);
  expect(totp.secret.base32).toBe(manualKey);
  await expectCodesUnbroken(page, '[data-testid="totp-secret"]');
  const app = new Authenticator(manualKey);
  await page.getByLabel("Authentication code").fill(app.nextCode());
  await page.getByRole("button", { name: "Verify" }).click();
  await shown(page.getByRole("heading", { name: "Save your recovery codes" }));
  await expectCodesUnbroken(page, '[data-testid="recovery-codes"] code');
  return app;
}

export async function finishEnrollment(page: Page) {
  await page.getByRole("button", { name: "Finish" }).click();
  await shown(page.getByRole("heading", { name: /^(Welcome|Hello), / }));
}

/** Sign in with the password, then choose "Use a recovery code" and enter `code`. */
export async function signInWithRecoveryCode(page: Page, portal: Portal, email: string, password: string, code: string) {
  await signInWithPassword(page, portal, email, password);
  await page.getByRole("link", { name: "Use a recovery code" }).click();
  await page.getByLabel("Recovery code").fill(code);
  await page.getByRole("button", { name: "Verify" }).click();
}

/** Save the settings form, see `change` listed in "When should this apply?", and choose On next login. */
export async function saveForNextLogin(page: Page, change: string) {
  await page.getByRole("button", { name: "Save" }).click();
  // A popup over the settings page, with the server's list of changes.
  const popup = page.getByRole("dialog", { name: "When should this apply?" });
  await shown(popup);
  await shown(popup.getByText(change));
  await popup.getByRole("button", { name: "On next login" }).click();
  await shown(page.getByText("Saved. The new policy applies as people next sign in."));
}

export async function openSecuritySettings(page: Page, audience: "Agent Authentication" | "Contact Authentication", tab: string) {
  // The help article's path, as written: Settings > Security and Compliance > Agent Authentication.
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Settings" }).click();
  await page.getByRole("main").getByRole("link", { name: "Security and Compliance" }).click();
  await page.getByRole("link", { name: audience }).first().click();
  await page.getByRole("navigation", { name: "Settings" }).getByRole("link", { name: tab }).click();
  await shown(page.getByRole("heading", { name: tab, level: 1 }));
}
