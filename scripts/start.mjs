// `npm start`: run EdgeDesk locally with local D1, KV and Durable Objects.
// 1. .dev.vars with fresh random keys (first run only)  2. migrations applied to the local D1
// 3. demo data seeded once, the demo admin printed every time  4. wrangler dev.
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { applyMigrations, isSeeded, randomDevVars, runWorker, seedDemoData } from "./local-app.mjs";

const persist = process.env.EDGEDESK_STATE ?? ".wrangler/state";
const port = Number(process.env.PORT ?? 8787);

if (!existsSync(".dev.vars")) {
  const fresh = randomDevVars();
  const example = readFileSync(".dev.vars.example", "utf8");
  writeFileSync(
    ".dev.vars",
    example.replace(/^(ENCRYPTION_KEY|HMAC_KEY|ENTRA_CLIENT_SECRET)=$/gm, (_, name) => `${name}=${fresh[name]}`),
    { mode: 0o600 },
  );
  console.log("Created .dev.vars with fresh random keys.");
}
const devVars = Object.fromEntries(
  readFileSync(".dev.vars", "utf8")
    .split("\n")
    .filter((l) => /^[A-Z_]+=/.test(l))
    .map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]),
);

console.log("Applying migrations to the local D1 database…");
applyMigrations(persist);

const credentialsFile = `${persist}/demo-credentials.json`;
if (!isSeeded(persist)) {
  const password = `demo-${randomBytes(9).toString("base64url")}`;
  const seed = seedDemoData(persist, { password, hmacKey: devVars.HMAC_KEY });
  writeFileSync(
    credentialsFile,
    JSON.stringify(
      { email: seed.admin.email, password, agents: seed.agents.map((a) => a.email), contacts: seed.contacts.map((c) => c.email) },
      null,
      2,
    ),
  );
  console.log(
    `Seeded demo data: ${Object.entries(seed.counts)
      .map(([k, v]) => `${v} ${k}`)
      .join(", ")}.`,
  );
}
const demo = existsSync(credentialsFile) ? JSON.parse(readFileSync(credentialsFile, "utf8")) : null;

// Single sign-on locally goes to oidc-provider configured as Microsoft Entra ID (scripts/dev-oidc-provider.mjs).
const app = await runWorker({ persist, port, vars: devVars, logLevel: process.env.LOG_LEVEL ?? "info" });
console.log(`
EdgeDesk is running at ${app.url}
  Agent portal:    ${app.url}/agent
  Support portal:  ${app.url}/support
  Dev mailbox:     ${app.url}/dev/mailbox  (one-time passwords and notices land here)
  Passkeys:        work at http://localhost:${port} (browsers refuse them on an IP address)
  Local SSO:       ${app.sso.authority} stands in for Microsoft Entra ID (turn SSO on under Settings > Security and Compliance > Portal Access);
                   tenant Contoso may sign in, Fabrikam is refused
${
  demo
    ? `  Demo admin:      ${demo.email}  password: ${demo.password}
  Other demo users (same password): ${demo.agents.slice(1, 3).join(", ")}, ${demo.contacts[0]} (support portal)`
    : ""
}
Press Ctrl+C to stop.`);

for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => app.stop().then(() => process.exit(0)));
process.exit((await app.done) ?? 0);
