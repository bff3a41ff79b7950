// What one stranger can make EdgeDesk store (SECURITY.md 44): each public route is sent requests
// from one address, first until its limits bind, then from 10 connections for a few seconds. The
// D1 rows and Durable Object files counted before and after that second part say what each of
// its requests left behind; the goal is nothing.
import { readdirSync } from "node:fs";
import { join } from "node:path";

/** Durable Objects with storage: one SQLite file each under the local state. */
function countObjects(persist) {
  let n = 0;
  const walk = (dir) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (entry.isDirectory()) walk(join(dir, entry.name));
      else if (entry.name.endsWith(".sqlite")) n++;
    }
  };
  walk(join(persist, "v3", "do"));
  return n;
}

/** Every row of every table in D1. */
function countRows(persist, queryLocal) {
  const tables = queryLocal(
    persist,
    "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE '\\_cf\\_%' ESCAPE '\\' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' AND name NOT LIKE '%\\_fts%' ESCAPE '\\'",
  ).map((t) => t.name);
  return queryLocal(persist, `SELECT ${tables.map((t) => `(SELECT count(*) FROM "${t}")`).join(" + ")} AS n`)[0].n;
}

export async function benchStrangers({ url, persist, queryLocal, seconds, log }) {
  let n = 0;
  const send = async (path, { ip, method = "POST", form, json, headers = {} }) => {
    // A route that answers before reading a body may have workerd close the connection under a
    // request already sent on it: that request is sent again, on a new one.
    for (let attempt = 1; ; attempt++) {
      try {
        return await once(path, { ip, method, form, json, headers });
      } catch (error) {
        if (attempt >= 3) throw error;
      }
    }
  };
  const once = async (path, { ip, method, form, json, headers }) => {
    const response = await fetch(url + path, {
      method,
      redirect: "manual",
      headers: {
        "CF-Connecting-IP": ip,
        Origin: url,
        ...(form ? { "Content-Type": "application/x-www-form-urlencoded" } : {}),
        ...(json ? { "Content-Type": "application/json" } : {}),
        ...headers,
      },
      body: form ? new URLSearchParams(form) : json ? JSON.stringify(json) : undefined,
    });
    await response.arrayBuffer();
    return response.status;
  };
  const forgedSession = () => `__Host-edgedesk_agent=agt_${"a".repeat(16)}.${"b".repeat(32)}.0123abcd.${"0".repeat(64)}`;
  const forgedFlow = btoa(JSON.stringify({ state: "s".repeat(30), codeVerifier: "v".repeat(50), nonce: "n".repeat(30), next: "/agent" }))
    .replace(/\+/g, "-")
    .replace(/\//g, "_");
  const cases = [
    [
      "POST /agent/login, a new made-up email each time",
      (ip) => send("/agent/login", { ip, form: { email: `stranger-${++n}@example.com`, password: "guess" } }),
    ],
    [
      "POST /support/login, one made-up email",
      (ip) => send("/support/login", { ip, form: { email: "one-stranger@example.com", password: "guess" } }),
    ],
    [
      "POST /agent/login/forgot, made-up emails",
      (ip) => send("/agent/login/forgot", { ip, form: { email: `stranger-${++n}@example.com` } }),
    ],
    [
      "POST /support/login/pass, made-up emails",
      (ip) => send("/support/login/pass", { ip, form: { email: `stranger-${++n}@example.com`, code: "AAAA-BBBB-CCCC-DDDD" } }),
    ],
    ["POST /support/login/passkey/options", (ip) => send("/support/login/passkey/options", { ip, json: {} })],
    [
      "POST /agent/login/reset/<made-up link>",
      (ip) => send(`/agent/login/reset/${"a".repeat(32)}`, { ip, form: { password: "a new passphrase 1", confirm: "a new passphrase 1" } }),
    ],
    [
      "GET /agent/sso/callback, a flow nobody started",
      (ip) =>
        send(`/agent/sso/callback?code=made-up&state=${"s".repeat(30)}`, {
          ip,
          method: "GET",
          headers: { Cookie: `__Host-edgedesk_sso_agent=${forgedFlow}` },
        }),
    ],
    [
      "GET /agent/login, a forged session cookie",
      (ip) => send("/agent/login", { ip, method: "GET", headers: { Cookie: forgedSession() } }),
    ],
  ];
  const results = [];
  for (const [i, [name, request]] of cases.entries()) {
    const ip = `203.0.113.${100 + i}`;
    // Until its limits bind: the source's 50 guesses, 20 reset mails, and so on.
    for (let k = 0; k < 60; k++) await request(ip);
    const rows = countRows(persist, queryLocal);
    const objects = countObjects(persist);
    const statuses = {};
    let sent = 0;
    const end = Date.now() + seconds * 1000;
    await Promise.all(
      Array.from({ length: 10 }, async () => {
        while (Date.now() < end) {
          const status = await request(ip);
          statuses[status] = (statuses[status] ?? 0) + 1;
          sent++;
        }
      }),
    );
    const leftRows = countRows(persist, queryLocal) - rows;
    const leftObjects = countObjects(persist) - objects;
    results.push({ name, rps: sent / seconds, statuses, sent, rowsPerRequest: leftRows / sent, objectsPerRequest: leftObjects / sent });
    log(`${name}: ${(sent / seconds).toFixed(0)} req/s, ${JSON.stringify(statuses)}; left ${leftRows} rows and ${leftObjects} objects`);
  }
  return results;
}
