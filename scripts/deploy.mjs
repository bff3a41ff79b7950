// `npm run deploy`: the D1 migrations on the remote database first, then the Worker, both on the
// project's Node. Migrations only add (a column, a table, an index), so the Worker still running
// keeps working between the two steps; the other order would serve new code on an old schema.
// `--dry-run` builds the production bundle (src/index.tsx, wrangler.toml's `main`) into
// dist/deploy and touches neither the database nor the deployment.
import { spawnSync } from "node:child_process";
import { WRANGLER } from "./wrangler.mjs";

function wrangler(args) {
  console.log(`\n$ wrangler ${args.join(" ")}`);
  const run = spawnSync(WRANGLER[0], [WRANGLER[1], ...args], { stdio: "inherit" });
  if (run.status !== 0) {
    console.error(`wrangler ${args[0]} failed${run.error ? `: ${run.error.message}` : ""}; nothing after it was run.`);
    process.exit(run.status ?? 1);
  }
}

if (process.argv.includes("--dry-run")) {
  wrangler(["deploy", "--dry-run", "--outdir", "dist/deploy"]);
} else {
  wrangler(["d1", "migrations", "apply", "DB", "--remote"]);
  wrangler(["deploy"]);
}
