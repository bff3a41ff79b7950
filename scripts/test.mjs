// `npm test`: the type check, then the workerd suite and the browser journeys at the same time,
// then the bundle check. The two suites wait on different things (workerd on its own storage,
// the journeys on a browser and a `wrangler dev` of their own), so on two cores they overlap
// where one alone leaves a core idle. Each line of theirs is printed as it comes, marked with
// its stage; the stages' times close the run.
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";

const STAGES = {
  typecheck: ["npm", ["run", "--silent", "typecheck"]],
  workerd: ["npx", ["vitest", "run"]],
  journeys: ["npx", ["vitest", "run", "--config", "vitest.e2e.config.ts"]],
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
let ok = await run("typecheck");
if (ok) ok = (await Promise.all([run("workerd"), run("journeys")])).every(Boolean);
if (ok) ok = await run("bundle");
console.log(`\nnpm test ${ok ? "passed" : "FAILED"} in ${((Date.now() - started) / 1000).toFixed(0)} s: ${times.join("; ")}.`);
process.exit(ok ? 0 : 1);
