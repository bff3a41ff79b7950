// SECURITY.md 39: every route that changes who may sign in, or how, needs a recent
// authentication. Found by trying, not by a list: every POST route of the router (but the
// sign-in flows themselves) is sent a filled-in form twice, by a person who confirmed it's them
// moments ago and by one whose confirmation is older than the window. What the first changes in
// the state that decides sign-in (people's passwords, emails, roles, active flags, factors,
// roles' permissions, the portals' policies) the second must never change. A new route is
// covered the day it is added.
import { env } from "cloudflare:workers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDevelopmentApp } from "../../src/dev/app";
import { REAUTH_WINDOW_MS } from "../../src/sign-in/reauth";
import { portalStub } from "../../src/auth/sessions";
import { userStub } from "../../src/auth/user-object";
import { DAY, MINUTE } from "../../src/lib/clock";
import { declaredInputs } from "../../src/request/validation";
import type { Portal } from "../../src/portal/policy";
import { browser, type Browser, fakeClock } from "../helpers/app";
import { signIn } from "../helpers/auth";
import { makeAdmin, makeAgent, makeContact } from "../helpers/factories";
import { fieldNames, fillPath } from "../helpers/hostile";
import { makeGroup, makeLocation } from "../helpers/inventory";
import { setMfa } from "../helpers/mfa";
import { writePortalPolicy } from "../helpers/portal";
import { makeRole } from "../helpers/roles";

const NEW_PASSWORD = "violet tangerine ladder 4071";
// Signing in, confirming identity and signing out are how a person authenticates, not changes to it.
const SIGN_IN_FLOW = /\/(login|reauth|logout|sso)(\/|$)|^\/(dev|setup)\//;

const APP_ROUTES = createDevelopmentApp().routes;
const POSTS = [...new Set(APP_ROUTES.filter((r) => r.method === "POST" && !SIGN_IN_FLOW.test(r.path)).map((r) => r.path))];
const FIELDS = new Map<string, string[]>();
for (const r of APP_ROUTES) {
  const declared = declaredInputs(r.handler);
  if (r.method === "POST" && declared) FIELDS.set(r.path, [...new Set([...(FIELDS.get(r.path) ?? []), ...declared.flatMap(fieldNames)])]);
}

interface Case {
  path: string;
  actor: { id: string; email: string; password: string };
  target: { id: string; email: string; name: string };
  fresh: boolean;
  n: number;
}

/** A value for each field a form of these routes has: one that changes something, where it can. */
const SAMPLES: Record<string, (c: Case) => string | string[]> = {
  access: () => "both",
  apply: () => "next_login",
  authenticatorApp: () => "",
  emailOtp: () => "on",
  issuerName: (c) => `Property issuer ${c.n}`,
  graceDays: () => "0",
  rememberDays: () => "7",
  passkeys: () => "on",
  passwordlessPasskeys: () => "",
  minLength: () => "14",
  requireUppercase: () => "on",
  requireLowercase: () => "",
  requireDigit: () => "",
  requireSymbol: () => "",
  expiryDays: () => "0",
  reuseCount: () => "3",
  idleMinutes: () => "45",
  absoluteHours: () => "48",
  name: (c) => `Property ${c.n}`,
  permissions: () => ["viewAssets", "manageAuthentication"],
  email: (c) => `property-${c.n}-${c.fresh ? "fresh" : "stale"}@example.com`,
  roleId: () => "role_administrator",
  password: () => NEW_PASSWORD,
  confirm: (c) => (c.path.endsWith("/remove") ? c.target.email : NEW_PASSWORD),
  active: () => "",
  minutes: () => "60",
  current: (c) => (c.fresh ? c.actor.password : "not the password at all"),
  code: () => "",
  reason: () => "Laptop reported stolen",
};

/** For forms that edit a person: the value that keeps each field as it is, so one field can change alone. */
const KEEP: Record<string, (c: Case) => string | string[]> = {
  name: (c) => c.target.name,
  email: (c) => c.target.email,
  roleId: () => "role_agent",
  groupIds: () => [],
  active: () => "on",
};

let counter = 0;
const clock = fakeClock();

type Person = { id: string; email: string; name: string };

/**
 * An agent with every factor a route might remove (an app, a passkey, recovery codes, a
 * remembered device), so a route that removes one has something to remove.
 */
async function personWithFactors(): Promise<{ person: Person; passkeyId: string; deviceId: string }> {
  const person = await makeAgent();
  const passkeyId = `pk-${crypto.randomUUID()}`;
  const deviceId = `dev_${crypto
    .randomUUID()
    .replaceAll("-", "")
    .slice(0, 16)
    .replace(/[^a-z2-7]/g, "a")}`;
  await env.DB.batch([
    env.DB.prepare("INSERT INTO totp_credentials (user_id, secret_encrypted, confirmed_at, created_at) VALUES (?, 'sealed', 1, 1)").bind(
      person.id,
    ),
    env.DB.prepare("INSERT INTO passkeys (id, user_id, name, public_key, counter, created_at) VALUES (?, ?, 'Laptop', 'key', 0, 1)").bind(
      passkeyId,
      person.id,
    ),
    env.DB.prepare("INSERT INTO recovery_codes (id, user_id, position, code_encrypted, created_at) VALUES (?, ?, 1, 'sealed', 1)").bind(
      `rc-${crypto.randomUUID()}`,
      person.id,
    ),
  ]);
  await env.DB.prepare(
    "INSERT INTO sign_in_pauses (user_id, way, portal, paused_at, until, attempts, sources) VALUES (?, 'password', 'agent', ?, ?, 10, '[]')",
  )
    .bind(person.id, clock.now(), clock.now() + DAY)
    .run();
  await userStub(env, person.id).rememberDevice({
    id: deviceId,
    tokenHash: `device-${deviceId}`,
    generation: 0,
    now: clock.now(),
    expiresAt: clock.now() + 30 * DAY,
    ip: "198.18.0.1",
    userAgent: "Laptop",
  });
  return { person, passkeyId, deviceId };
}

/** The path with a fresh record behind each parameter, and the person it acts on. */
async function target(path: string): Promise<{ path: string; target: Person }> {
  const { person, passkeyId, deviceId } = await personWithFactors();
  const fill = (id: string) => path.replace(/:audience/, "contacts").replace(/:id\b/, id);
  if (/\/admin\/contacts\/:id/.test(path)) {
    const contact = await makeContact();
    return { path: fill(contact.id), target: contact };
  }
  if (/\/admin\/(agents|people|paused-sign-ins)\/:id/.test(path))
    return { path: fill(person.id).replace(/:itemId/, path.includes("/passkeys/") ? passkeyId : deviceId), target: person };
  if (path.includes("/admin/roles/:id")) return { path: fill(await makeRole(["viewAssets"])), target: person };
  if (path.includes("/admin/groups/:id")) return { path: fill(await makeGroup()), target: person };
  if (path.includes("/admin/locations/:id")) return { path: fill(await makeLocation()), target: person };
  if (path.includes("/recovery-requests/:id")) {
    const id = `rcr_${crypto.randomUUID().slice(0, 12)}`;
    await env.DB.prepare("INSERT INTO recovery_code_requests (id, user_id, status, created_at) VALUES (?, ?, 'pending', 0)")
      .bind(id, person.id)
      .run();
    return { path: fill(id), target: person };
  }
  return { path: fillPath(fill("zz_none"), "zz_none"), target: person };
}

/** What decides who may sign in, and how: people's credentials and factors, roles, the portals' policies, the person's remembered devices. */
async function signInState(personId: string): Promise<string> {
  const queries = [
    "SELECT id, kind, email, password_hash, role_id, active FROM users ORDER BY id",
    "SELECT * FROM roles ORDER BY id",
    "SELECT * FROM passkeys ORDER BY id",
    "SELECT * FROM totp_credentials ORDER BY user_id",
    "SELECT id, user_id, used_at, created_at FROM recovery_codes ORDER BY id",
    "SELECT id, status FROM recovery_code_requests ORDER BY id",
    "SELECT * FROM sso_identities ORDER BY user_id",
    "SELECT * FROM sso_invitations ORDER BY id",
    "SELECT * FROM temporary_access_passes ORDER BY id",
    "SELECT * FROM removed_people ORDER BY rowid",
    "SELECT * FROM sign_in_pauses ORDER BY user_id, way",
  ];
  const rows = await env.DB.batch(queries.map((q) => env.DB.prepare(q)));
  const policies = await Promise.all((["agent", "support"] as const).map((p) => portalStub(env, p).getPolicy()));
  const devices = await userStub(env, personId).listDevices(0, clock.now());
  return JSON.stringify([rows.map((r) => r.results), policies, devices]);
}

/** The form a route is sent: every field filled to change something, or (`only`) one field changed and the rest kept. */
function formFor(path: string, c: Case, only?: string): URLSearchParams {
  const body = new URLSearchParams();
  for (const field of FIELDS.get(path) ?? []) {
    const sample = only !== undefined && field !== only ? KEEP[field]?.(c) : SAMPLES[field]?.(c);
    for (const value of sample === undefined ? [] : Array.isArray(sample) ? sample : [sample]) body.append(field, value);
  }
  return body;
}

/** The variants of a route's form: all fields at once, and one at a time where every field can be kept. */
function variantsOf(path: string): (string | undefined)[] {
  const fields = FIELDS.get(path) ?? [];
  return fields.length > 1 && fields.every((f) => KEEP[f]) ? [undefined, ...fields] : [undefined];
}

async function send(path: string, fresh: boolean, only?: string): Promise<{ status: number; changed: boolean }> {
  const portal: Portal = path.startsWith("/support") ? "support" : "agent";
  const actor = portal === "agent" ? await makeAdmin() : await makeContact();
  const client: Browser = browser({ clock });
  await signIn(client, portal, actor);
  if (!fresh) clock.advance(REAUTH_WINDOW_MS + MINUTE);
  const filled = await target(path);
  const c: Case = { path, actor, target: filled.target, fresh, n: ++counter };
  const policies = await Promise.all((["agent", "support"] as const).map((p) => portalStub(env, p).getPolicy()));
  const before = await signInState(filled.target.id);
  const response = await client.request(filled.path, {
    method: "POST",
    body: formFor(path, c, only),
    headers: { Referer: `https://edgedesk.test/${portal}` },
  });
  await response.text();
  const changed = (await signInState(filled.target.id)) !== before;
  // Each route meets the portals as the test set them up.
  await Promise.all((["agent", "support"] as const).map((p, i) => writePortalPolicy(p, policies[i]!, false)));
  return { status: response.status, changed };
}

beforeAll(async () => {
  for (const portal of ["agent", "support"] as const)
    await setMfa(portal, { authenticatorApp: false, emailOtp: false, passkeys: false, passwordlessPasskeys: false });
});
afterAll(async () => {
  for (const portal of ["agent", "support"] as const)
    await setMfa(portal, { authenticatorApp: false, emailOtp: false, passkeys: false, passwordlessPasskeys: false });
});

describe("SECURITY.md 39: changes to signing in need a recent authentication", () => {
  it("no route changes sign-in state for a session whose confirmation is older than the window, though a fresh one does", async () => {
    expect(POSTS.length).toBeGreaterThan(50);
    const changedWhenFresh: string[] = [];
    const changedWhenStale: string[] = [];
    for (const path of POSTS) {
      for (const only of variantsOf(path)) {
        const label = only ? `${path} (${only} alone)` : path;
        const fresh = await send(path, true, only);
        if (fresh.changed) changedWhenFresh.push(label);
        const stale = await send(path, false, only);
        if (stale.changed) changedWhenStale.push(`${label} → ${stale.status}`);
      }
    }
    expect(changedWhenStale).toEqual([]);
    // The forms were filled in well enough to make the changes a person would: at least these did change sign-in state.
    const expected = [
      "/agent/settings/security/:audience/access/apply",
      "/agent/settings/security/:audience/mfa/apply",
      "/agent/settings/security/:audience/password/apply",
      "/agent/settings/security/:audience/sessions/apply",
      "/agent/admin/agents/:id",
      "/agent/admin/agents/:id (email alone)",
      "/agent/admin/agents/:id (roleId alone)",
      "/agent/admin/agents/:id (active alone)",
      "/agent/admin/agents/:id/password",
      "/agent/admin/people/:id/reset-mfa",
      "/agent/admin/people/:id/passkeys/:itemId/remove",
      "/agent/admin/people/:id/devices/:itemId/forget",
      "/agent/admin/paused-sign-ins/:id/lift",
      "/agent/admin/agents/new",
      "/agent/admin/contacts/:id/active",
      "/agent/admin/roles/:id",
      "/agent/admin/people/:id/access-pass",
      "/agent/account/password",
      "/support/account/password",
    ];
    expect(expected.filter((p) => !changedWhenFresh.includes(p))).toEqual([]);
  }, 600_000);
});
