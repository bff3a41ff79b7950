// Builds one seeded local state (migrations + demo data) that every journey file copies, so each
// file starts from the same fresh data without paying for migrations and seeding again; and
// starts the one Chromium every journey connects to (each in browser contexts of its own, so no
// cookie or storage crosses from one journey to the next), rather than a browser per file.
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";
import type { TestProject } from "vitest/node";
import { applyMigrations, seedDemoData } from "../../scripts/local-app.mjs";
import { CHROMIUM_ARGS, chromiumPath } from "./chromium";
import { JOURNEY_HASH_PARAMS } from "./hash-params";

declare module "vitest" {
  export interface ProvidedContext {
    templateState: string;
    demoPassword: string;
    /** The HMAC_KEY every journey's Worker uses, so the seed's password history matches. */
    hmacKey: string;
    /** Where the page checks note each page copy that passed, so a copy met again in a later journey is not checked twice. */
    checkedPages: string;
    /** The shared Chromium's address, for `chromium.connect`. */
    chromiumEndpoint: string;
  }
}

export default async function setup(project: TestProject) {
  const executable = chromiumPath();
  if (!existsSync(executable)) {
    throw new Error(
      `The browser journeys need Chromium at ${executable}, and it is not there.\n` +
        "Install Debian's Chromium with: sudo apt-get install -y --no-install-recommends chromium\n" +
        "(or point CHROMIUM_PATH at a Chromium binary). .ci/run installs it on CI machines.",
    );
  }
  const template = mkdtempSync(join(tmpdir(), "edgedesk-e2e-template-"));
  const password = `Journey-${randomBytes(9).toString("base64url")}`;
  applyMigrations(template);
  // 600 assets, so a filter such as "Singapore, in use" matches more than one page of 50.
  const hmacKey = randomBytes(32).toString("base64");
  seedDemoData(template, { password, hmacKey, assetCount: 600, hashParams: JOURNEY_HASH_PARAMS });
  project.provide("hmacKey", hmacKey);
  project.provide("templateState", template);
  project.provide("demoPassword", password);
  const checkedPages = mkdtempSync(join(tmpdir(), "edgedesk-e2e-checked-"));
  project.provide("checkedPages", checkedPages);
  const browser = await chromium.launchServer({ executablePath: executable, headless: true, args: CHROMIUM_ARGS });
  project.provide("chromiumEndpoint", browser.wsEndpoint());
  return async () => {
    await browser.close();
    rmSync(template, { recursive: true, force: true });
    rmSync(checkedPages, { recursive: true, force: true });
  };
}
