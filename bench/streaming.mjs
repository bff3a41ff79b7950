// Audit log streaming at an organisation's size: a backlog of 100,000 events drains to a receiver
// (a Splunk HEC stand-in on a real port, in this process) with no gap and no reordering, counted
// by event id; then the lag (event stored → event received) under a steady load of sign-ins.
// Run by bench/run.mjs after its own Worker stopped; `node bench/streaming.mjs` runs it alone.
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import os from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { applyMigrations, freePort, queryLocal, randomDevVars, runWorker, seedDemoData, wranglerLocal } from "../scripts/local-app.mjs";

export const BACKLOG = 100_000;
const TOKEN = `bench-hec-${randomBytes(6).toString("hex")}`;
const percentile = (xs, p) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((xs.length * p) / 100))];

/** A Splunk HEC stand-in: checks the token, remembers each event's id and when it arrived. */
async function startReceiver() {
  const received = [];
  const arrivals = new Map();
  let rejected = 0;
  const server = createServer((request, response) => {
    const chunks = [];
    request.on("data", (c) => chunks.push(c));
    request.on("end", () => {
      if (request.headers.authorization !== `Splunk ${TOKEN}`) {
        rejected += 1;
        response.writeHead(403).end('{"text":"Invalid token","code":4}');
        return;
      }
      const now = Date.now();
      for (const line of Buffer.concat(chunks).toString("utf8").split("\n")) {
        if (!line) continue;
        const { event } = JSON.parse(line);
        received.push(event.id);
        if (!arrivals.has(event.id)) arrivals.set(event.id, { at: Date.parse(event.time_utc), arrived: now });
      }
      response.writeHead(200, { "Content-Type": "application/json" }).end('{"text":"Success","code":0}');
    });
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}/services/collector/event`,
    received,
    arrivals,
    rejected: () => rejected,
    stop: () => new Promise((resolve) => server.close(resolve)),
  };
}

function client(url) {
  let ip = 1;
  return async function request(path, { method = "GET", form, cookie } = {}) {
    const response = await fetch(url + path, {
      method,
      redirect: "manual",
      headers: {
        ...(form ? { "Content-Type": "application/x-www-form-urlencoded", Origin: url } : {}),
        ...(cookie ? { Cookie: cookie } : {}),
        "CF-Connecting-IP": `10.99.${(ip >> 8) & 255}.${ip++ & 255}`,
      },
      body: form ? new URLSearchParams(form) : undefined,
    });
    const body = await response.text();
    const setCookie = response.headers
      .getSetCookie()
      .map((c) => c.split(";")[0])
      .find((c) => c.startsWith("__Host-edgedesk_"));
    return { status: response.status, body, setCookie };
  };
}

async function signedIn(request, email, password) {
  const r = await request("/agent/login", { method: "POST", form: { email, password } });
  if (r.status !== 303 || !r.setCookie) throw new Error(`Signing in ${email} failed: ${r.status}`);
  return r.setCookie;
}

/** The destination's state as the settings page's table shows it, read from D1. */
const destinationRow = (persist) => queryLocal(persist, "SELECT id, cursor, paused_at, last_error FROM audit_destinations")[0];

/**
 * @param {{ persist: string, vars: Record<string, string>, admin: { email: string }, password: string,
 *   contacts: { email: string }[], seconds: number, log: (...args: unknown[]) => void }} options
 */
export async function benchStreaming({ persist, vars, admin, password, contacts, seconds, log }) {
  const receiver = await startReceiver();
  const start = async () => runWorker({ persist, port: await freePort(), vars, logLevel: "error", stdio: ["ignore", "ignore", "inherit"] });

  // 1. The destination, added and paused through Settings as an admin would.
  let app = await start();
  let request = client(app.url);
  let cookie = await signedIn(request, admin.email, password);
  const added = await request("/agent/settings/security/streaming", {
    method: "POST",
    cookie,
    form: { name: "Bench Splunk", kind: "splunk", url: receiver.url, token: TOKEN },
  });
  if (added.status !== 303) throw new Error(`Adding the destination failed: ${added.status} ${added.body.slice(0, 300)}`);
  const { id } = destinationRow(persist);
  const paused = await request(`/agent/settings/security/streaming/${id}/pause`, { method: "POST", cookie, form: {} });
  if (paused.status !== 303) throw new Error(`Pausing failed: ${paused.status}`);
  await app.stop();

  // 2. A backlog of BACKLOG events, stored while it is paused.
  const { cursor } = destinationRow(persist);
  const file = join(persist, "audit-backlog.sql");
  writeFileSync(
    file,
    `WITH RECURSIVE k(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM k WHERE i < ${BACKLOG})
     INSERT INTO audit_events (at, event, portal, ip, user_agent, details)
     SELECT ${Date.now()} + i, 'sign_in.failed', 'agent', '198.51.100.' || (i % 250), 'Mozilla/5.0 (bench)', json_object('reason', 'wrong_password', 'n', i) FROM k;`,
  );
  wranglerLocal(persist, ["d1", "execute", "DB", "--local", "--file", file]);
  const expected = queryLocal(persist, `SELECT count(*) AS n, min(id) AS first, max(id) AS last FROM audit_events WHERE id > ${cursor}`)[0];

  // 3. Resumed: the destination's object drains it from its alarm.
  app = await start();
  request = client(app.url);
  cookie = await signedIn(request, admin.email, password);
  const t0 = performance.now();
  const resumed = await request(`/agent/settings/security/streaming/${id}/resume`, { method: "POST", cookie, form: {} });
  if (resumed.status !== 303) throw new Error(`Resuming failed: ${resumed.status}`);
  log(`Draining ${expected.n.toLocaleString("en-US")} audit events to the receiver…`);
  const deadline = Date.now() + 15 * 60_000;
  while (new Set(receiver.received).size < expected.n && Date.now() < deadline) await new Promise((r) => setTimeout(r, 250));
  const drainMs = performance.now() - t0;
  const firstSeen = [...new Set(receiver.received)];
  const wanted = firstSeen.filter((e) => e >= expected.first && e <= expected.last);
  let inOrder = true;
  for (let i = 1; i < firstSeen.length; i++) if (firstSeen[i] <= firstSeen[i - 1]) inOrder = false;
  const drain = {
    events: expected.n,
    delivered: wanted.length,
    duplicates: receiver.received.length - firstSeen.length,
    gaps: expected.n - wanted.length,
    inOrder,
    seconds: drainMs / 1000,
    eventsPerSecond: wanted.length / (drainMs / 1000),
  };
  log(`Drained: ${JSON.stringify(drain)}`);

  // 4. The lag under a steady load of sign-ins, read from the receiver's clock: every other one
  // with a wrong password, so each leaves an audit event whatever second step the portal asks for.
  const before = new Set(receiver.received);
  const end = Date.now() + seconds * 1000;
  let signIns = 0;
  let next = 0;
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      while (Date.now() < end) {
        const n = next++;
        const contact = contacts[n % contacts.length];
        const r = await request("/support/login", {
          method: "POST",
          form: { email: contact.email, password: n % 2 ? password : `${password}-wrong` },
        });
        if (r.status === 303 || r.status === 200) signIns += 1;
      }
    }),
  );
  const loadEnd = Date.now();
  const last = queryLocal(persist, "SELECT max(id) AS id FROM audit_events")[0].id;
  while (!receiver.arrivals.has(last) && Date.now() < loadEnd + 120_000) await new Promise((r) => setTimeout(r, 100));
  const lags = [...receiver.arrivals].filter(([e]) => !before.has(e)).map(([, a]) => a.arrived - a.at);
  const lag = {
    signIns,
    signInsPerSecond: signIns / seconds,
    events: lags.length,
    p50Ms: percentile(lags, 50),
    p99Ms: percentile(lags, 99),
    maxMs: Math.max(...lags),
  };
  log(`Lag under load: ${JSON.stringify(lag)}`);
  await app.stop();
  await receiver.stop();
  return { drain, lag, rejected: receiver.rejected() };
}

// Alone: a fresh seeded state of its own.
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const persist = mkdtempSync(join(os.tmpdir(), "edgedesk-stream-bench-"));
  try {
    const password = `Bench-${randomBytes(9).toString("base64url")}`;
    applyMigrations(persist);
    const vars = randomDevVars();
    const seed = seedDemoData(persist, {
      password,
      hmacKey: vars.HMAC_KEY,
      assetCount: 100,
      contactCount: 200,
      retiredAssets: false,
      auditCount: 100,
    });
    const started = Date.now();
    const log = (...args) => console.log(`[${((Date.now() - started) / 1000).toFixed(0).padStart(4)} s]`, ...args);
    console.log(
      JSON.stringify(
        await benchStreaming({ persist, vars, admin: seed.admin, password, contacts: seed.contacts, seconds: 20, log }),
        null,
        2,
      ),
    );
  } finally {
    rmSync(persist, { recursive: true, force: true });
  }
}
