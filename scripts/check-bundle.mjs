// Builds the Worker as `wrangler deploy` would (without uploading) and fails if the compressed
// bundle passes 1 MiB (Workers' free-plan limit is 3 MiB; we hold ourselves to 1 MiB for startup
// time), or if any development route (/dev/*: the mailbox, minted sessions, the bench's floor)
// is in it: those belong to src/dev/index.tsx, the entry `wrangler dev` runs, never to `main`.
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { QUIET, WRANGLER } from "./wrangler.mjs";

const LIMIT = 1024 * 1024;
const outdir = "dist/bundle-check";
rmSync(outdir, { recursive: true, force: true });
execFileSync(WRANGLER[0], [WRANGLER[1], "deploy", "--dry-run", "--outdir", outdir], {
  stdio: ["ignore", "ignore", "inherit"],
  env: { ...process.env, ...QUIET },
});

const files = readdirSync(outdir, { recursive: true })
  .map((f) => join(outdir, String(f)))
  .filter((f) => statSync(f).isFile() && !f.endsWith(".map") && !f.endsWith("README.md"));
const raw = files.reduce((sum, f) => sum + statSync(f).size, 0);
const gzip = gzipSync(Buffer.concat(files.map((f) => readFileSync(f))), { level: 9 }).length;
const kib = (n) => `${(n / 1024).toFixed(1)} KiB`;
console.log(`Worker bundle: ${kib(raw)}, ${kib(gzip)} compressed (limit ${kib(LIMIT)}).`);
if (gzip > LIMIT) {
  console.error(
    "The compressed Worker bundle is over 1 MiB: find what grew (npm run wrangler -- deploy --dry-run --outdir dist --metafile).",
  );
  process.exit(1);
}

// A route is a string literal; "/dev/" in a comment or a message would not be quoted at its start.
const devRoutes = files
  .filter((f) => /\.m?js$/.test(f))
  .flatMap((f) => [...readFileSync(f, "utf8").matchAll(/["'`]\/dev\/[\w/.:-]*/g)].map((m) => `${m[0]} in ${f}`));
if (devRoutes.length) {
  console.error(
    `The production bundle holds development routes (mount them in src/dev/, never from src/index.tsx):\n${[...new Set(devRoutes)].join("\n")}`,
  );
  process.exit(1);
}
console.log("No development route in the production bundle.");
