// `npm start`: run EdgeDesk locally with local D1, KV and Durable Objects.
// 1. .dev.vars with fresh random keys (first run only)  2. migrations applied to the local D1
// 3. demo data seeded once, the demo admin printed every time  4. wrangler dev.
import { execFileSync, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { buildSeed } from "./seed.mjs";
import { DEV_CLIENT_ID, DEV_TENANT, startDevOidcProvider } from "./dev-oidc-provider.mjs";

const quiet = { WRANGLER_SEND_METRICS: "false", WRANGLER_HIDE_BANNER: "true", CLOUDFLARE_CF_FETCH_ENABLED: "false" };
const env = { ...process.env, ...quiet, CI: "1" };
const persist = process.env.EDGEDESK_STATE ?? ".wrangler/state";
const port = process.env.PORT ?? "8787";
const ssoPort = Number(process.env.SSO_PORT ?? Number(port) + 3);
const wrangler = (args, options = {}) => execFileSync("npx", ["wrangler", ...args, "--persist-to", persist], { env, encoding: "utf8", ...options });

if (!existsSync(".dev.vars")) {
  const key = () => randomBytes(32).toString("base64");
  const example = readFileSync(".dev.vars.example", "utf8");
  writeFileSync(
    ".dev.vars",
    example
      .replace(/^ENCRYPTION_KEY=$/m, `ENCRYPTION_KEY=${key()}`)
      .replace(/^HMAC_KEY=$/m, `HMAC_KEY=${key()}`)
      .replace(/^ENTRA_CLIENT_SECRET=$/m, `ENTRA_CLIENT_SECRET=${randomBytes(18).toString("base64url")}`),
  );
  console.log("Created .dev.vars with fresh random keys.");
}
const devVars = Object.fromEntries(readFileSync(".dev.vars", "utf8").split("\n").filter((l) => /^[A-Z_]+=/.test(l)).map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]));

console.log("Applying migrations to the local D1 database…");
wrangler(["d1", "migrations", "apply", "DB", "--local"], { stdio: ["ignore", "ignore", "inherit"] });

const credentialsFile = `${persist}/demo-credentials.json`;
const seeded = JSON.parse(wrangler(["d1", "execute", "DB", "--local", "--json", "--command", "SELECT count(*) AS n FROM app_flags WHERE key = 'demo_seeded'"]))[0].results[0].n > 0;
if (!seeded) {
  const password = `demo-${randomBytes(9).toString("base64url")}`;
  const seed = buildSeed({ password });
  mkdirSync(`${persist}`, { recursive: true });
  writeFileSync(`${persist}/seed.sql`, seed.sql);
  wrangler(["d1", "execute", "DB", "--local", "--file", `${persist}/seed.sql`], { stdio: ["ignore", "ignore", "inherit"] });
  writeFileSync(credentialsFile, JSON.stringify({ email: seed.admin.email, password, agents: seed.agents.map((a) => a.email), contacts: seed.contacts.map((c) => c.email) }, null, 2));
  console.log(`Seeded demo data: ${Object.entries(seed.counts).map(([k, v]) => `${v} ${k}`).join(", ")}.`);
}
const demo = existsSync(credentialsFile) ? JSON.parse(readFileSync(credentialsFile, "utf8")) : null;

// Single sign-on locally goes to a small stand-in for Microsoft Entra ID (scripts/dev-oidc-provider.mjs).
const sso = devVars.ENTRA_CLIENT_SECRET ? await startDevOidcProvider({ port: ssoPort, clientSecret: devVars.ENTRA_CLIENT_SECRET }) : null;
const ssoVars = sso ? ["--var", `ENTRA_AUTHORITY:${sso.authority}`, "--var", `ENTRA_CLIENT_ID:${DEV_CLIENT_ID}`, "--var", `ENTRA_TENANT_ID:${DEV_TENANT}`] : [];

const url = `http://127.0.0.1:${port}`;
console.log(`
EdgeDesk is starting at ${url}
  Agent portal:    ${url}/agent
  Support portal:  ${url}/support
  Dev mailbox:     ${url}/dev/mailbox  (one-time passwords and notices land here)
  Local SSO:       ${sso ? `${sso.authority} stands in for Microsoft Entra ID (turn SSO on under Settings > Security and Compliance > Portal Access)` : "off (no ENTRA_CLIENT_SECRET in .dev.vars)"}
${demo ? `  Demo admin:      ${demo.email}  password: ${demo.password}
  Other demo users (same password): ${demo.agents.slice(1, 3).join(", ")}, ${demo.contacts[0]} (support portal)` : ""}
`);

const dev = spawn("npx", ["wrangler", "dev", "--ip", "127.0.0.1", "--port", port, "--persist-to", persist, "--log-level", process.env.LOG_LEVEL ?? "info", ...ssoVars], { env: { ...process.env, ...quiet }, stdio: "inherit" });
for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => dev.kill(signal));
dev.on("exit", (code) => {
  sso?.close();
  process.exit(code ?? 0);
});
