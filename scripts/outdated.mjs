// `npm run outdated`: what is behind, in one place. The packages the registry has newer versions
// of (npm's own report, with the reason a pin is held back where package.json's "//pins" gives
// one), and how far wrangler.toml's compatibility_date is behind the newest date the installed
// workerd supports. docs/TOOLCHAIN.md, "Staying current", says how to move each forward safely.
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";

const pkg = JSON.parse(readFileSync("package.json", "utf8"));
const reasons = pkg["//pins"] ?? {};

let report = {};
try {
  report = JSON.parse(execFileSync("npm", ["outdated", "--json"], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }) || "{}");
} catch (error) {
  // npm outdated exits 1 when anything is behind; its JSON is still on stdout.
  report = JSON.parse(error.stdout || "{}");
}

const rows = Object.entries(report).map(([name, v]) => ({
  name,
  current: v.current ?? "(missing)",
  wanted: v.wanted,
  latest: v.latest,
  why: reasons[name] ?? "",
}));
if (rows.length === 0) console.log("Every package is at the registry's latest version.");
else {
  console.log("Packages behind the registry's latest:\n");
  const width = Math.max(...rows.map((r) => r.name.length));
  for (const r of rows)
    console.log(`  ${r.name.padEnd(width)}  ${r.current.padEnd(10)} → ${r.latest.padEnd(10)} ${r.why ? `held: ${r.why}` : ""}`);
}

const toml = readFileSync("wrangler.toml", "utf8");
const date = /^compatibility_date\s*=\s*"(\d{4}-\d{2}-\d{2})"/m.exec(toml)?.[1];
// The workerd that `wrangler dev` and deploy checks run on (the tests' is held to it by "overrides").
const workerd = createRequire(createRequire(import.meta.url).resolve("wrangler/package.json"))("workerd/package.json").version;
const [, y, m, d] = /^1\.(\d{4})(\d{2})(\d{2})\./.exec(workerd) ?? [];
const newest = y ? `${y}-${m}-${d}` : "unknown";
console.log(`\ncompatibility_date ${date}; the installed workerd ${workerd} supports up to ${newest}.`);
if (date && newest !== "unknown" && date < newest)
  console.log('  Behind: read the compatibility flags dated after it before moving it (docs/TOOLCHAIN.md, "Staying current").');
