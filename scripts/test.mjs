// `npm test`: the type check, lint, the workerd suite, the browser journeys and the bundle check, all
// at once. Each alone leaves a core idle part of the time (the journeys wait on a browser and a
// `wrangler dev` of their own, the type check and bundle check are one process each); together
// they keep both cores busy. Each line is printed as it comes, marked with its stage; the
// stages' times close the run, and any stage failing (or failing to start) fails it.
import { spawn } from "node:child_process";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { createInterface } from "node:readline";

const node = process.execPath;
const require = createRequire(import.meta.url);
const vitest = join(dirname(require.resolve("vitest/package.json")), "vitest.mjs");
const biome = join(dirname(require.resolve("@biomejs/biome/package.json")), "bin", "biome");
const STAGES = {
  typecheck: ["npm", ["run", "--silent", "typecheck"]],
  // Formatting and lint (biome.json): any difference from the formatter, any warning, fails.
  lint: [node, [biome, "ci", "--error-on-warnings", "."]],
  workerd: [node, [vitest, "run"]],
  journeys: [node, [vitest, "run", "--config", "vitest.e2e.config.ts"]],
  bundle: [node, ["scripts/check-bundle.mjs"]],
};
const width = Math.max(...Object.keys(STAGES).map((name) => name.length));
const times = [];
const running = new Set();

/** A stage's command, its lines marked; resolves true when it exits 0 and its output is all read. */
function runCommand(name, command, args) {
  // Its own process group, so an interrupt reaches everything the stage started (wrangler, Chromium).
  // Colours as vitest would show them on this terminal, though its output now comes through a pipe.
  const child = spawn(command, args, {
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
    env: { ...process.env, ...(process.stdout.isTTY ? { FORCE_COLOR: "1" } : {}) },
  });
  running.add(child);
  const mark = `[${name.padEnd(width)}] `;
  for (const [stream, out] of [
    [child.stdout, process.stdout],
    [child.stderr, process.stderr],
  ]) {
    createInterface({ input: stream }).on("line", (line) => out.write(`${mark}${line}\n`));
  }
  return new Promise((resolve) => {
    child.on("error", (error) => {
      running.delete(child);
      process.stderr.write(`${mark}could not start ${command}: ${error.message}\n`);
      resolve(false);
    });
    // "close": the process has exited and its output has been read to the end (vitest's summary
    // of failures is the last thing it prints).
    child.on("close", (code) => {
      running.delete(child);
      resolve(code === 0);
    });
  });
}

async function run(name) {
  const [command, args] = STAGES[name];
  const started = Date.now();
  const ok = await runCommand(name, command, args);
  times.push(`${name} ${ok ? "passed" : "FAILED"} in ${((Date.now() - started) / 1000).toFixed(0)} s`);
  return ok;
}

for (const signal of ["SIGINT", "SIGTERM"]) {
  process.on(signal, () => {
    for (const child of running) {
      try {
        process.kill(-child.pid, signal);
      } catch {}
    }
    process.exit(130);
  });
}

const started = Date.now();
const ok = (await Promise.all(Object.keys(STAGES).map(run))).every(Boolean);
console.log(`\nnpm test ${ok ? "passed" : "FAILED"} in ${((Date.now() - started) / 1000).toFixed(0)} s: ${times.join("; ")}.`);
process.exit(ok ? 0 : 1);
