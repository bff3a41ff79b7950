// `npm test`: the type check, the workerd suite, the browser journeys and the bundle check, all
// at once. Each alone leaves a core idle part of the time (the journeys wait on a browser and a
// `wrangler dev` of their own, the type check and bundle check are one process each); together
// they keep both cores busy. Each line is printed as it comes, marked with its stage; the
// stages' times close the run, and any stage failing fails it.
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";

const STAGES = {
  typecheck: ["npm", ["run", "--silent", "typecheck"]],
  workerd: ["vitest", ["run"]],
  journeys: ["vitest", ["run", "--config", "vitest.e2e.config.ts"]],
  bundle: ["npm", ["run", "--silent", "test:bundle"]],
};
const width = Math.max(...Object.keys(STAGES).map((name) => name.length));
const times = [];

function run(name) {
  const [command, args] = STAGES[name];
  const started = Date.now();
  // Colours as vitest would show them on this terminal, though its output now comes through a pipe.
  const child = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ...(process.stdout.isTTY ? { FORCE_COLOR: "1" } : {}) } });
  const mark = `[${name.padEnd(width)}] `;
  for (const [stream, out] of [[child.stdout, process.stdout], [child.stderr, process.stderr]]) {
    createInterface({ input: stream }).on("line", (line) => out.write(`${mark}${line}\n`));
  }
  return new Promise((resolve) => {
    child.on("exit", (code, signal) => {
      const ok = code === 0;
      times.push(`${name} ${ok ? "passed" : `failed (${signal ?? `exit ${code}`})`} in ${((Date.now() - started) / 1000).toFixed(0)} s`);
      resolve(ok);
    });
  });
}

const started = Date.now();
const ok = (await Promise.all(Object.keys(STAGES).map(run))).every(Boolean);
console.log(`\nnpm test ${ok ? "passed" : "FAILED"} in ${((Date.now() - started) / 1000).toFixed(0)} s: ${times.join("; ")}.`);
process.exit(ok ? 0 : 1);
