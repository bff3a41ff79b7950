// SECURITY.md 28: hostile input on every route. The cases are generated from the
// router's own route list and from the zod schemas each route declares where it is defined
// (`readsForm(...)` and the other Hono validators of src/request/validation.ts), so a new route or field is attacked automatically.
// For each: no 5xx, no partial write on a refusal, no markup reflected unescaped, and an error a
// person can read.
import { beforeAll, describe, expect, it } from "vitest";
import { createDevelopmentApp } from "../../src/dev/app";
import { declaredInputs, declaredTarget } from "../../src/request/validation";
import type { z } from "zod";
import { browser, type Browser, fakeClock } from "../helpers/app";
import { signIn } from "../helpers/auth";
import { env } from "cloudflare:workers";
import { makeAdmin, makeAgent, makeContact } from "../helpers/factories";
import { makeGroup, makeLocation, seedAssets } from "../helpers/inventory";
import { makeRole } from "../helpers/roles";
import { fieldNames, fillPath, HOSTILE_VALUES, maxLengthOf, PROTOTYPE_NAMES, REFLECTION_MARKERS, snapshotData } from "../helpers/hostile";
import { enrollThroughPages, postPassword, setMfa } from "../helpers/mfa";
import { portalStub } from "../../src/auth/sessions";
import { writePortalPolicy } from "../helpers/portal";

interface Route {
  method: string;
  path: string;
}

const APP_ROUTES = createDevelopmentApp().routes;
const ROUTES: Route[] = [
  ...new Map(
    APP_ROUTES.filter((r) => r.method !== "ALL").map((r) => [`${r.method} ${r.path}`, { method: r.method, path: r.path }]),
  ).values(),
];
// "POST /agent/login" → the schemas its route declares; found in the router, without a request.
const routeInputs = new Map<string, z.ZodType[]>();
const jsonRoutes = new Set<string>();
for (const r of APP_ROUTES) {
  if (declaredTarget(r.handler) === "json") jsonRoutes.add(`${r.method} ${r.path}`);
  const declared = declaredInputs(r.handler);
  if (declared) routeInputs.set(`${r.method} ${r.path}`, [...(routeInputs.get(`${r.method} ${r.path}`) ?? []), ...declared]);
}
const ANONYMOUS = /^\/($|setup|dev\/|(agent|support)\/(login$|login\/(forgot|reset\/)|sso\/))/;
const UNKNOWN_ID = "zz_doesnotexist0001";
const NEEDS_MFA =
  /^\/(agent|support)\/(login\/(verify\/(app|recovery|email)|enroll(\/skip)?|change-password)|login\/verify\/passkey|account\/(mfa\/enroll|recovery-codes|passkeys))$/;
const clock = fakeClock();

type Who = "anonymous" | "agent" | "support";
const whoFor = (path: string): Who => (ANONYMOUS.test(path) ? "anonymous" : path.startsWith("/support") ? "support" : "agent");

let people: { agent: { email: string; password: string }; support: { email: string; password: string } };
const clients = new Map<Who, Browser>();

/** The client for a route, signed in again if an earlier case signed it out (logout, revoke). */
async function clientFor(who: Who): Promise<Browser> {
  if (who === "anonymous") {
    if (!clients.has(who)) clients.set(who, browser({ clock }));
    return clients.get(who)!;
  }
  const existing = clients.get(who);
  if (existing) {
    const home = await existing.get(`/${who}`);
    await home.text();
    if (home.status === 200) return existing;
  }
  const fresh = browser({ clock });
  await signIn(fresh, who, people[who]);
  clients.set(who, fresh);
  return fresh;
}

/**
 * A client at the stage a second-step or MFA-only route serves, for a person of its own (so one
 * route's wrong codes never throttle another's): enrolled with the app and paused after the
 * password, paused at enrollment, or fully signed in with the app set up.
 */
const MFA_ON = { authenticatorApp: true, emailOtp: true, passkeys: true };

async function setExpiry(portal: "agent" | "support", expiryDays: number) {
  await setMfa(portal, expiryDays === 0 ? MFA_ON : { authenticatorApp: false, emailOtp: false });
  await writePortalPolicy(portal, { password: { ...(await portalStub(env, portal).getPolicy()).password, expiryDays } }, false);
}

async function stageClient(portal: "agent" | "support", path: string): Promise<Browser> {
  const person = portal === "agent" ? await makeAdmin() : await makeContact();
  const client = browser({ clock });
  if (path.endsWith("/account/mfa/enroll")) {
    // Signed in while the portal did not use the app, which was then turned on "On next login".
    await setMfa(portal, { authenticatorApp: false, emailOtp: false });
    await signIn(client, portal, person);
    await setMfa(portal, MFA_ON);
    return client;
  }
  if (/\/login\/(enroll|change-password)/.test(path)) {
    await postPassword(client, portal, person);
    return client;
  }
  await enrollThroughPages(client, portal, person, clock);
  if (/\/account\//.test(path)) return client;
  const paused = browser({ clock });
  await postPassword(paused, portal, person);
  return paused;
}

interface Outcome {
  status: number;
  type: string;
  body: string;
}

async function send(client: Browser, method: string, path: string, init: RequestInit = {}): Promise<Outcome> {
  const response = await client.request(path, { ...init, method });
  return { status: response.status, type: response.headers.get("Content-Type") ?? "", body: await response.text() };
}

function form(fields: [string, string][]): URLSearchParams {
  return new URLSearchParams(fields);
}

/**
 * A fresh record for each route that names one, so its cases get past "not found" to the schema
 * (a case that deletes it leaves the rest to meet a 404, which is fine).
 */
async function realPath(route: Route): Promise<string> {
  const p = route.path;
  const fill = (id: string) => p.replace(/:[A-Za-z]+/, id).replace(/:audience/, "contacts");
  if (p.includes(":audience")) return p.replace(":audience", "contacts");
  if (/\/admin\/(agents|people)\/:id/.test(p)) return fill((await makeAgent()).id);
  if (p.includes("/admin/contacts/:id")) return fill((await makeContact()).id);
  if (p.includes("/admin/roles/:id")) return fill(await makeRole(["viewAssets"]));
  if (p.includes("/admin/groups/:id")) return fill(await makeGroup());
  if (p.includes("/admin/locations/:id")) return fill(await makeLocation());
  if (p.includes("/assets/:id")) return fill((await seedAssets(1))[0]!);
  if (p.includes("/software/:id")) {
    const id = `sw_${crypto.randomUUID().slice(0, 12)}`;
    await env.DB.prepare(
      "INSERT INTO software (id, name, status, impact, row_version, created_at, updated_at) VALUES (?, 'Hostile Suite', 'active', 'low', 1, 0, 0)",
    )
      .bind(id)
      .run();
    return fill(id);
  }
  if (p.includes("/recovery-requests/:id")) {
    const id = `rcr_${crypto.randomUUID().slice(0, 12)}`;
    await env.DB.prepare("INSERT INTO recovery_code_requests (id, user_id, status, created_at) VALUES (?, ?, 'pending', 0)")
      .bind(id, (await makeAgent()).id)
      .run();
    return fill(id);
  }
  return fillPath(p, UNKNOWN_ID);
}

/** Each field's values at 1×, 2× and 10× its stated maximum length. */
function lengthValues(route: Route, field: string): string[] {
  const max = (routeInputs.get(`${route.method} ${route.path}`) ?? []).map((schema) => maxLengthOf(schema, field)).find((m) => m !== null);
  return max ? [1, 2, 10].map((times) => "é%".repeat(Math.ceil((max * times) / 2)).slice(0, max * times)) : [];
}

/** The hostile cases for one route: [label, method, path, init]. */
function casesFor(route: Route, path: string, fields: string[]): [string, string, string, RequestInit][] {
  const cases: [string, string, string, RequestInit][] = [];
  for (const name of PROTOTYPE_NAMES) {
    cases.push([
      `extra field ${name}`,
      route.method,
      route.method === "GET" ? `${path}?${form([[name, "x"]])}` : path,
      route.method === "GET" ? {} : { body: form([...fields.map((f): [string, string] => [f, "x"]), [name, "x"]]) },
    ]);
  }
  for (const value of HOSTILE_VALUES.slice(0, 3))
    cases.push([`param ${value}`, route.method, fillPath(route.path, value), route.method === "GET" ? {} : { body: form([]) }]);
  cases.push(["wrong method", route.method === "GET" ? "DELETE" : "PUT", path, {}]);
  if (route.method === "GET") {
    for (const field of [...fields, "next"]) {
      for (const value of [...HOSTILE_VALUES, ...lengthValues(route, field)])
        cases.push([`query ${field}=${value}`, "GET", `${path}?${form([[field, value]])}`, {}]);
    }
    return cases;
  }
  cases.push(["empty body", route.method, path, { body: form([]) }]);
  cases.push(["1 MiB body", route.method, path, { body: form([[fields[0] ?? "name", "x".repeat(1024 * 1024)]]) }]);
  cases.push([
    "JSON body",
    route.method,
    path,
    { body: JSON.stringify(Object.fromEntries(fields.map((f) => [f, { $gt: "" }]))), headers: { "Content-Type": "application/json" } },
  ]);
  cases.push(["text body", route.method, path, { body: "name=x", headers: { "Content-Type": "text/plain" } }]);
  // JSON that is not an object: a JSON route refuses it before its schema; a form route reads no JSON.
  const oddJson = jsonRoutes.has(`${route.method} ${route.path}`) ? ["null", "42", '"x"', "[]", "[{}]"] : ["null"];
  for (const value of oddJson)
    cases.push([`JSON ${value}`, route.method, path, { body: value, headers: { "Content-Type": "application/json" } }]);
  for (const field of fields) {
    for (const value of [...HOSTILE_VALUES, ...lengthValues(route, field)])
      cases.push([`${field}=${value}`, route.method, path, { body: form([[field, value]]) }]);
    cases.push([
      `${field} repeated`,
      route.method,
      path,
      {
        body: form([
          [field, "a"],
          [field, "b"],
        ]),
      },
    ]);
  }
  for (const value of HOSTILE_VALUES)
    cases.push([`every field=${value}`, route.method, path, { body: form(fields.map((f) => [f, value])) }]);
  return cases;
}

/** Runs `work` over `items` with at most `limit` at once; results in the items' order. */
async function inParallel<T, R>(items: T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await work(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

/** A route's cases one at a time: after a refusal, nothing may have been written. */
async function oneByOne(client: Browser, route: Route, fields: string[]) {
  const cases = casesFor(route, await realPath(route), fields);
  let before = await snapshotData();
  for (const [label, method, path, init] of cases) {
    const outcome = await send(client, method, path, init);
    const name = `${route.method} ${route.path} · ${label.slice(0, 80)} → ${outcome.status}`;
    expectSafe(name, outcome);
    const after = await snapshotData();
    if (outcome.status >= 400) expect(after, `${name} wrote something`).toBe(before);
    before = after;
  }
}

function expectSafe(label: string, outcome: Outcome) {
  expect(outcome.status, label).toBeLessThan(500);
  // Pages and the text htmx swaps into them; a CSV download (the audit export) is not rendered.
  if (/^text\/(html|plain)/.test(outcome.type)) {
    for (const marker of REFLECTION_MARKERS) expect(outcome.body.includes(marker), `${label}: reflected ${marker}`).toBe(false);
  }
  if (outcome.status >= 400 && outcome.status !== 404) {
    // A message a person can read: words, not a stack trace or a serialised object.
    const text = outcome.body.replace(/<[^>]+>/g, " ");
    expect(text, label).toMatch(/[A-Za-z]{3,}( [A-Za-z]+){2,}/);
    expect(text, label).not.toMatch(/ZodError|\[object Object\]|undefined|\bat .+\.(ts|js):\d+|TypeError|SyntaxError/);
  }
}

beforeAll(async () => {
  await setMfa("agent", { authenticatorApp: false, emailOtp: false });
  await setMfa("support", { authenticatorApp: false, emailOtp: false });
  people = { agent: await makeAdmin(), support: await makeContact() };
}, 120_000);

describe("hostile input, generated from the router and the schemas", () => {
  it("covers every route, and every POST route declares what it reads (readsNothing() when it reads no field)", () => {
    expect(ROUTES.length).toBeGreaterThan(100);
    // A route that parses with a schema it did not declare throws (test/web/route-inputs.test.ts),
    // so a forgotten declaration cannot drop a route out of these cases quietly.
    const undeclared = ROUTES.filter((r) => r.method === "POST" && !routeInputs.has(`POST ${r.path}`)).map((r) => r.path);
    expect(undeclared).toEqual([]);
    // The JSON routes are known by what their validator reads: the passkey steps among them.
    expect([...jsonRoutes]).toEqual(expect.arrayContaining(["POST /agent/login/passkey", "POST /support/login/verify/passkey"]));
    expect(fieldNames(routeInputs.get("POST /agent/login")![0]!)).toEqual(expect.arrayContaining(["email", "password"]));
    expect(fieldNames(routeInputs.get("POST /agent/assets/bulk")![0]!)).toEqual(expect.arrayContaining(["scope", "action", "ids"]));
  });

  for (const who of ["anonymous", "agent", "support"] as const) {
    it(`${who} routes: no 5xx, no partial write on a refusal, nothing reflected, readable errors`, async () => {
      const routes = ROUTES.filter((r) => whoFor(r.path) === who);
      expect(routes.length).toBeGreaterThan(0);
      let sent = 0;
      for (const route of routes) {
        const fields = [...new Set((routeInputs.get(`${route.method} ${route.path}`) ?? []).flatMap(fieldNames))];
        const client = await clientFor(who);
        const path = await realPath(route);
        const cases = casesFor(route, path, fields);
        // Fast path: the route's cases run 8 at a time, and the data is compared once, after all.
        // If anything was written while some case was refused, the cases run again one by one on a
        // fresh record, comparing after each, so the refusal that wrote is named.
        const before = await snapshotData();
        const outcomes = await inParallel(cases, 8, ([, method, casePath, init]) => send(client, method, casePath, init));
        for (const [i, outcome] of outcomes.entries())
          expectSafe(`${route.method} ${route.path} · ${cases[i]![0].slice(0, 80)} → ${outcome.status}`, outcome);
        sent += cases.length;
        if ((await snapshotData()) !== before && outcomes.some((o) => o.status >= 400)) await oneByOne(await clientFor(who), route, fields);
      }
      expect(sent).toBeGreaterThan(routes.length * 3);
    }, 600_000);
  }

  // Routes behind the second step and the MFA-only routes: MFA on in both portals, and for each
  // route a person at the stage it serves (mid sign-in with the app, enrolling, with an expired
  // password, or fully signed in with the app set up). Runs last: it turns MFA on.
  it("routes behind the second step and MFA-only routes: the same checks", async () => {
    const routes = ROUTES.filter((r) => NEEDS_MFA.test(r.path));
    expect(routes.length).toBeGreaterThan(15);
    for (const portal of ["agent", "support"] as const) await setMfa(portal, MFA_ON);
    for (const route of routes) {
      const portal = route.path.startsWith("/support") ? "support" : "agent";
      const expired = route.path.endsWith("/login/change-password");
      // An expired password is asked for right after the password when MFA is off.
      if (expired) await setExpiry(portal, 30);
      const client = await stageClient(portal, route.path);
      // One plain request first: a stage's first page makes what it makes lazily (the enrollment
      // page its pending key), which is not a write caused by a refused case.
      await send(client, route.method, route.path, route.method === "GET" ? {} : { body: form([]) });
      const fields = [...new Set((routeInputs.get(`${route.method} ${route.path}`) ?? []).flatMap(fieldNames))];
      const before = await snapshotData();
      const cases = casesFor(route, route.path, fields);
      const outcomes = await inParallel(cases, 8, ([, method, casePath, init]) => send(client, method, casePath, init));
      for (const [i, outcome] of outcomes.entries())
        expectSafe(`${route.method} ${route.path} · ${cases[i]![0].slice(0, 80)} → ${outcome.status}`, outcome);
      // Reaching the route means getting past its session and stage guard (requireSession's answers).
      const guarded = outcomes.filter(
        (o) => /^(Your session has ended|Finish signing in first)/.test(o.body) || (o.status === 303 && o.body === ""),
      );
      expect(guarded.length, `${route.path} stayed behind its guard`).toBeLessThan(cases.length / 2);
      if ((await snapshotData()) !== before && outcomes.some((o) => o.status >= 400))
        await oneByOne(await stageClient(portal, route.path), route, fields);
      if (expired) await setExpiry(portal, 0);
    }
  }, 600_000);

  it("stored values come back escaped on every page", async () => {
    for (const route of ROUTES.filter((r) => r.method === "GET")) {
      const client = await clientFor(whoFor(route.path));
      const outcome = await send(client, "GET", fillPath(route.path, UNKNOWN_ID));
      expectSafe(`GET ${route.path}`, outcome);
    }
  });
});
