// The asset list at 1,000, 10,000 and 100,000 records, each scenario beside the floor
// (/dev/floor/assets: the same page query as one raw statement, rows as a string, no session) in
// the same run, and bulk "All matching" on 100,000 with what waits behind it. One database grows
// from 1,000 to 100,000 between sizes (the Worker is stopped while rows are added).
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import { join } from "node:path";
import autocannon from "autocannon";
import { bulkAllMatching } from "./bulk.mjs";
import { cpuWhile } from "./cpu.mjs";
import { applyMigrations, freePort, optimizeLocal, QUIET, randomDevVars, runWorker, seedDemoData } from "../scripts/local-app.mjs";
import { moreAssetsSql } from "../scripts/seed.mjs";

// BENCH_LIST_SIZES=1000,5000 tries the phase quickly; the goals read 1,000, 10,000 and 100,000.
const SIZES = process.env.BENCH_LIST_SIZES ? process.env.BENCH_LIST_SIZES.split(",").map(Number) : [1000, 10_000, 100_000];
const SCENARIOS = [
  ["first page", ""],
  ["filtered (impact + type)", "impact=high&type=laptop"],
  ["broad search (1 in 8 match)", "q=ThinkPad"],
  ["selective tag search", "q=AST-00123"],
];
const DEEP = "200th page, reached through Next";
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];

export async function benchLists({ log, rounds, seconds, connections, password }) {
  const persist = mkdtempSync(join(os.tmpdir(), "edgedesk-bench-lists-"));
  const vars = randomDevVars();
  applyMigrations(persist);
  const seed = seedDemoData(persist, { password, hmacKey: vars.HMAC_KEY, assetCount: SIZES[0], contactCount: 50, retiredAssets: false });
  const results = { sizes: {}, bulk: null };
  let count = SIZES[0];
  try {
    for (const size of SIZES) {
      if (size > count) {
        log(`lists: adding ${(size - count).toLocaleString("en-US")} assets…`);
        for (let from = count; from < size; from += 20_000) {
          const file = join(persist, "more.sql");
          writeFileSync(file, moreAssetsSql(seed, from, Math.min(size, from + 20_000)));
          execFileSync("npx", ["wrangler", "d1", "execute", "DB", "--local", "--persist-to", persist, "--file", file], {
            env: { ...process.env, ...QUIET, CI: "1" },
            stdio: ["ignore", "ignore", "inherit"],
          });
        }
        optimizeLocal(persist);
        count = size;
      }
      const start = async () =>
        runWorker({ persist, port: await freePort(), vars, logLevel: "error", stdio: ["ignore", "ignore", "inherit"] });
      let app = await start();
      try {
        results.sizes[size] = await measureSize(app.url, size, seed, { log, rounds, seconds, connections, password });
        if (size === SIZES.at(-1)) {
          // A fresh Worker for the export: attaching the profiler to one that has served the list
          // scenarios makes workerd open a loopback connection for each request it served
          // (tens of thousands), until it runs out of file descriptors.
          await app.stop();
          app = await start();
          results.export = await exportAtScale(app, size, seed, { log, password });
          results.bulk = await bulkAtScale(app.url, size, seed, { log, password });
        }
      } finally {
        await app.stop();
      }
    }
  } finally {
    rmSync(persist, { recursive: true, force: true });
  }
  return results;
}

async function signIn(url, email, password) {
  const r = await fetch(`${url}/agent/login`, {
    method: "POST",
    redirect: "manual",
    headers: { "Content-Type": "application/x-www-form-urlencoded", Origin: url },
    body: new URLSearchParams({ email, password }),
  });
  await r.text();
  const cookie = r.headers
    .getSetCookie()
    .map((c) => c.split(";")[0])
    .find((c) => c.startsWith("__Host-edgedesk_"));
  if (r.status !== 303 || !cookie) throw new Error(`bench sign-in: ${r.status}`);
  return cookie;
}

async function get(url, path, cookie) {
  const r = await fetch(url + path, { headers: cookie ? { Cookie: cookie } : {} });
  const body = await r.text();
  if (r.status !== 200) throw new Error(`${path}: ${r.status} ${body.slice(0, 200)}`);
  return body;
}

/**
 * The median response time (ms) of `path` under `connections` connections for `seconds`, from
 * each response's own time: autocannon's summary rounds its percentiles to whole milliseconds,
 * 2% of a 50 ms p50, which moved a ratio by up to 0.03. Any answer but 200 fails the run.
 */
function p50Of(url, path, cookie, { seconds, connections }) {
  return new Promise((resolve, reject) => {
    const times = [];
    const statuses = new Set();
    const run = autocannon({ url: url + path, connections, duration: seconds, headers: cookie ? { Cookie: cookie } : {} }, (error) => {
      if (error) return reject(error);
      if (statuses.size !== 1 || !statuses.has(200)) return reject(new Error(`${path}: answered ${[...statuses].join(", ")}`));
      resolve(median(times));
    });
    run.on("response", (_client, status, _bytes, ms) => {
      statuses.add(status);
      times.push(ms);
    });
  });
}

async function measureSize(url, size, seed, { log, rounds, seconds, connections, password }) {
  const cookie = await signIn(url, seed.admin.email, password);
  // The 200th page (or the last, when there are fewer), reached as a person would: Next, and Next.
  let query = "";
  let page = 1;
  for (; page < 200; page++) {
    const next = /href="\/agent\/assets\?([^"]+)" rel="next"/.exec(await get(url, `/agent/assets${query ? `?${query}` : ""}`, cookie));
    if (!next) break;
    query = next[1].replaceAll("&amp;", "&");
  }
  const scenarios = [...SCENARIOS, [`${DEEP} (page ${page})`, query]];
  const out = [];
  for (const [name, q] of scenarios) {
    const app = [];
    const floor = [];
    const measure = {
      app: async () => app.push(await p50Of(url, `/agent/assets${q ? `?${q}` : ""}`, cookie, { seconds, connections })),
      floor: async () => floor.push(await p50Of(url, `/dev/floor/assets${q ? `?${q}` : ""}`, null, { seconds, connections })),
    };
    // Each round measures both, one right after the other, taking turns at going first: neither
    // is always the one measured later, when the shared machine may have slowed or sped up.
    for (let round = 1; round <= rounds; round++) {
      for (const side of round % 2 ? ["app", "floor"] : ["floor", "app"]) await measure[side]();
    }
    const row = {
      name: name.startsWith(DEEP) ? DEEP : name,
      shown: name,
      appP50: median(app),
      floorP50: median(floor),
      rounds: app.map((p50, i) => ({ app: p50, floor: floor[i] })),
    };
    row.ratio = row.appP50 / row.floorP50;
    out.push(row);
    log(
      `lists at ${size.toLocaleString("en-US")}: ${name}: app p50 ${row.appP50.toFixed(1)} ms, floor ${row.floorP50.toFixed(1)} ms (${row.ratio.toFixed(2)}×)`,
    );
  }
  return out;
}

/**
 * The CSV export of every asset, alone: its wall time, and the Worker's CPU time while it ran,
 * which [limits] cpu_ms caps (it streams 500 rows a D1 query, so memory stays flat whatever the
 * size; waiting on D1 is not CPU time).
 */
async function exportAtScale(app, size, seed, { log, password }) {
  const cookie = await signIn(app.url, seed.admin.email, password);
  const { result, cpuMs } = await cpuWhile(app.inspectorPort, async () => {
    const t0 = performance.now();
    const r = await fetch(`${app.url}/agent/assets/export.csv`, { headers: { Cookie: cookie } });
    const csv = await r.text();
    return { status: r.status, csv, ms: performance.now() - t0 };
  });
  const { status, csv, ms } = result;
  // One line a record, after the header (no cell of the seed holds a line break).
  const rows = csv.trimEnd().split("\n").length - 1;
  log(
    `export of ${size.toLocaleString("en-US")} assets: ${status}, ${rows.toLocaleString("en-US")} rows, ${(csv.length / 1e6).toFixed(1)} MB in ` +
      `${ms.toFixed(0)} ms, ${cpuMs.toFixed(0)} ms of it the Worker's CPU`,
  );
  return { records: size, status, rows, bytes: csv.length, ms, cpuMs };
}

/**
 * Bulk "All matching" on every asset: a job in steps (src/assets/bulk-job.ts). Its time until its
 * page shows the result, its longest step (the most it held the database at once), and how long
 * a list page and a sign-in started 100 ms into it wait (one D1 database runs one query at a time).
 */
async function bulkAtScale(url, size, seed, { log, password }) {
  const cookie = await signIn(url, seed.admin.email, password);
  const group = seed.groups[1];
  const bulk = bulkAllMatching(url, cookie, { action: "group", value_group: group.id });
  await new Promise((resolve) => setTimeout(resolve, 100));
  const timed = async (run) => {
    const start = performance.now();
    await run();
    return performance.now() - start;
  };
  const [done, listMs, signInMs] = await Promise.all([
    bulk,
    timed(() => get(url, "/agent/assets", cookie)),
    timed(() => signIn(url, seed.agents[1].email, password)),
  ]);
  const result = {
    records: size,
    status: done.status,
    job: done.job,
    ms: done.ms,
    changed: done.changed,
    left: done.left,
    matched: done.matched,
    longestStepMs: done.longestStepMs,
    listWaitMs: listMs,
    signInWaitMs: signInMs,
  };
  log(
    `bulk all matching on ${size.toLocaleString("en-US")}: ${done.status} in ${done.ms.toFixed(0)} ms (changed ${result.changed} of ${result.matched}; ` +
      `longest step ${result.longestStepMs} ms); a list page meanwhile took ${listMs.toFixed(0)} ms, a sign-in ${signInMs.toFixed(0)} ms`,
  );
  return result;
}
