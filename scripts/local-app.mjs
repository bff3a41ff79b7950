// Runs EdgeDesk locally under `wrangler dev`: used by `npm start`, the browser journeys
// (test/e2e) and the benchmarks (bench/). Local D1, KV and Durable Objects live in `persist`.
import { execFileSync, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createServer } from "node:net";
import { buildSeed } from "./seed.mjs";
import { DEV_CLIENT_ID, DEV_TENANTS, startDevOidcProvider } from "./dev-oidc-provider.mjs";

import { QUIET, WRANGLER } from "./wrangler.mjs";

export { QUIET, WRANGLER };

/**
 * The Worker `wrangler dev` runs: production's (wrangler.toml's `main`) with the development tools
 * in front (the mailbox, minted sessions, the bench's floor). `wrangler deploy` never builds it.
 */
export const DEVELOPMENT_ENTRY = "src/dev/index.tsx";

const wrangler = (persist, args, options = {}) =>
  execFileSync(WRANGLER[0], [WRANGLER[1], ...args, "--persist-to", persist], {
    env: { ...process.env, ...QUIET, CI: "1" },
    encoding: "utf8",
    ...options,
  });

/** Run a wrangler command against the local state in `persist` (the bench's bulk loads). */
export const wranglerLocal = (persist, args) => wrangler(persist, args, { stdio: ["ignore", "ignore", "inherit"] });

/** Local secrets for a throwaway run: fresh random keys, development mailbox on. */
export function randomDevVars() {
  const key = () => randomBytes(32).toString("base64");
  return { ENVIRONMENT: "development", ENCRYPTION_KEY: key(), HMAC_KEY: key(), ENTRA_CLIENT_SECRET: randomBytes(18).toString("base64url") };
}

/**
 * Applies the pending migrations to the local D1. A database not made yet gets them all as one
 * script, with the bookkeeping `wrangler d1 migrations apply` keeps (its d1_migrations table), so
 * later runs of that command find nothing to do: wrangler starts a local runtime per migration
 * file, about 16 s of CPU for 25 files, against about 2 s for the one script.
 */
export function applyMigrations(persist) {
  if (existsSync(join(persist, "v3", "d1"))) {
    wrangler(persist, ["d1", "migrations", "apply", "DB", "--local"], { stdio: ["ignore", "ignore", "inherit"] });
    return;
  }
  mkdirSync(persist, { recursive: true });
  writeFileSync(join(persist, "migrations.sql"), allMigrationsScript());
  wrangler(persist, ["d1", "execute", "DB", "--local", "--file", join(persist, "migrations.sql")], {
    stdio: ["ignore", "ignore", "inherit"],
  });
}

/** Every migration in order, each followed by the row wrangler records for it (its table as wrangler creates it). */
export function allMigrationsScript(dir = "migrations") {
  const files = readdirSync(dir)
    .filter((f) => /^\d{4}_[\w-]+\.sql$/.test(f))
    .sort();
  const parts = [
    'CREATE TABLE IF NOT EXISTS "d1_migrations"(\n\t\tid         INTEGER PRIMARY KEY AUTOINCREMENT,\n\t\tname       TEXT UNIQUE,\n\t\tapplied_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP NOT NULL\n);',
  ];
  for (const file of files)
    parts.push(readFileSync(join(dir, file), "utf8").trim(), `INSERT INTO d1_migrations (name) VALUES ('${file}');`);
  return `${parts.join("\n")}\n`;
}

/** Rows of one SQL query against the local D1. */
export function queryLocal(persist, sql) {
  return JSON.parse(wrangler(persist, ["d1", "execute", "DB", "--local", "--json", "--command", sql]))[0].results;
}

/**
 * PRAGMA optimize: SQLite gathers the statistics its query planner needs to pick the right index
 * (with two filters, the more selective one) after a large load, as docs/OPERATIONS.md says to
 * do on the deployed database too.
 */
export function optimizeLocal(persist) {
  wrangler(persist, ["d1", "execute", "DB", "--local", "--command", "PRAGMA optimize"], { stdio: ["ignore", "ignore", "inherit"] });
}

export function isSeeded(persist) {
  return queryLocal(persist, "SELECT count(*) AS n FROM app_flags WHERE key = 'demo_seeded'")[0].n > 0;
}

/** Seeds demo data (sizes as in buildSeed) and returns the seed's accounts and counts. */
export function seedDemoData(persist, { password, ...sizes }) {
  const seed = buildSeed({ password, ...sizes });
  mkdirSync(persist, { recursive: true });
  // PRAGMA optimize in the same run (optimizeLocal's reason): one local runtime started, not two.
  writeFileSync(`${persist}/seed.sql`, `${seed.sql}\nPRAGMA optimize;\n`);
  wrangler(persist, ["d1", "execute", "DB", "--local", "--file", `${persist}/seed.sql`], { stdio: ["ignore", "ignore", "inherit"] });
  return seed;
}

export async function freePort() {
  const server = createServer();
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/**
 * Starts the dev OpenID provider and `wrangler dev` on 127.0.0.1:port, and resolves once the
 * Worker answers. `vars` are written to an env file the run owns (never the developer's .dev.vars).
 * @param {{ persist: string, port: number, vars: Record<string, string>, logLevel?: string,
 *   stdio?: import("node:child_process").StdioOptions, readyTimeoutMs?: number }} options
 */
export async function runWorker({ persist, port, vars, logLevel = "info", stdio = "inherit", readyTimeoutMs = 60_000 }) {
  const redirectUris = ["127.0.0.1", "localhost"].flatMap((host) =>
    ["agent", "support"].map((portal) => `http://${host}:${port}/${portal}/sso/callback`),
  );
  const sso = await startDevOidcProvider({ port: await freePort(), clientSecret: vars.ENTRA_CLIENT_SECRET, redirectUris });
  // Multi-tenant, as most helpdesks' Entra apps are: Contoso may sign in, Fabrikam may not.
  const entra = {
    ENTRA_AUTHORITY: sso.authority,
    ENTRA_CLIENT_ID: DEV_CLIENT_ID,
    ENTRA_TENANT_ID: "organizations",
    ENTRA_ALLOWED_TENANT_IDS: DEV_TENANTS.contoso.id,
  };
  const envFile = `${persist}/run.env`;
  const inspectorPort = await freePort();
  mkdirSync(persist, { recursive: true });
  // Passkeys need a domain, not an IP address: locally they work at http://localhost:<port>.
  const local = { WEBAUTHN_RP_ID: "localhost", WEBAUTHN_ORIGINS: `http://localhost:${port}` };
  writeFileSync(
    envFile,
    Object.entries({ ...local, ...vars, ...entra })
      .map(([k, v]) => `${k}=${v}`)
      .join("\n"),
    { mode: 0o600 },
  );
  const child = spawn(
    WRANGLER[0],
    // Its own inspector port too: two copies of the journeys (or npm start beside them) never share 9229.
    [
      WRANGLER[1],
      "dev",
      DEVELOPMENT_ENTRY,
      "--ip",
      "127.0.0.1",
      "--port",
      String(port),
      "--inspector-port",
      String(inspectorPort),
      "--persist-to",
      persist,
      "--env-file",
      envFile,
      "--log-level",
      logLevel,
      "--show-interactive-dev-session=false",
    ],
    { env: { ...process.env, ...QUIET }, stdio, detached: true },
  );
  const url = `http://127.0.0.1:${port}`;
  let exited = null;
  child.on("exit", (code) => (exited = code ?? 0));
  const stop = async () => {
    sso.close();
    if (exited !== null) return;
    const gone = new Promise((resolve) => child.on("exit", resolve));
    try {
      process.kill(-child.pid, "SIGTERM"); // wrangler and the workerd it started
    } catch {}
    await Promise.race([gone, new Promise((resolve) => setTimeout(resolve, 5_000))]);
  };
  const deadline = Date.now() + readyTimeoutMs;
  for (;;) {
    if (exited !== null) {
      sso.close();
      throw new Error(`wrangler dev exited with code ${exited} before answering on ${url}`);
    }
    try {
      const response = await fetch(`${url}/favicon.svg`);
      if (response.ok) break;
    } catch {}
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`wrangler dev did not answer on ${url} within ${readyTimeoutMs / 1000} s`);
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  return { url, inspectorPort, sso, child, stop, done: new Promise((resolve) => child.on("exit", resolve)) };
}
