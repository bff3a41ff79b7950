// API tokens and the audit API, as an integration (a SIEM's poller, a SOAR playbook) and an
// attacker meet them: a token is shown once and stored only as a keyed hash; it reads the audit
// log in order, page by page, with the CSV's fields; and every way of presenting the wrong thing
// gets the API's JSON error and changes nothing.
import { env } from "cloudflare:workers";
import { and, count, desc, eq, sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { removePerson } from "../../src/lifecycle/removal";
import { ALL_PERMISSIONS } from "../../src/access/permissions";
import { ALL_SCOPES, API_SCOPES, authenticateToken, createToken } from "../../src/api/tokens";
import { pick, random } from "../helpers/random";
import { apiTokens, auditEvents, devMailbox, users } from "../../src/db/schema";
import { browser, type Browser, type FakeClock, fakeClock } from "../helpers/app";
import { signIn } from "../helpers/auth";
import { db, makeAdmin, makeAgent } from "../helpers/factories";
import { find, tableRows, textOf } from "../helpers/html";
import { makeRole } from "../helpers/roles";

const DAY = 86_400_000;

async function signedInAdmin(clock: FakeClock, roleId?: string) {
  const name = `Ada Admin ${crypto.randomUUID().slice(0, 6)}`;
  const admin = roleId ? await makeAgent({ name, roleId }) : await makeAdmin({ name });
  const client = browser({ clock });
  await signIn(client, "agent", admin);
  return { admin, client };
}

/** Create a token through Settings as an admin does, and read it off the page that shows it once. */
async function createThroughPage(client: Browser, form: { name: string; scopes: string[]; days?: string }) {
  const body = new URLSearchParams({ name: form.name, days: form.days ?? "90" });
  for (const s of form.scopes) body.append("scopes", s);
  const response = await client.request("/agent/settings/security/api-tokens", { method: "POST", body });
  const html = await response.text();
  const token = textOf(html, "[data-testid=new-token] code.secret");
  return { status: response.status, html, token };
}

/** A call to the API as a script makes it: a bearer token, from its own address. */
function api(clock: FakeClock, ip = "203.0.113.10") {
  const script = browser({ clock, ip, userAgent: "siem-poller/1.0" });
  return async (path: string, token: string | null, init: RequestInit = {}) => {
    const headers = new Headers(init.headers);
    if (token !== null) headers.set("Authorization", `Bearer ${token}`);
    const response = await script.request(path, { ...init, headers });
    const body = (await response.json()) as Record<string, unknown> & { error?: { code: string; message: string } };
    return { status: response.status, body, headers: response.headers };
  };
}

const auditCount = async () => (await db().select({ n: count() }).from(auditEvents))[0]!.n;

describe("creating a token in Settings", () => {
  it("shows the token once, lists it under its headings, and stores only a keyed hash", async () => {
    const clock = fakeClock();
    const { admin, client } = await signedInAdmin(clock);
    const created = await createThroughPage(client, { name: "Splunk audit input", scopes: ["audit:read"] });
    expect(created.status).toBe(200);
    expect(created.token).toMatch(/^edk\.tok_[a-z2-7]{16}\.[a-z2-7]{52}$/);
    const row = tableRows(created.html).find((r) => r.Name === "Splunk audit input")!;
    expect(row).toMatchObject({
      Scopes: "audit:read",
      "Created by": admin.name,
      Created: "2026-11-22 09:00 UTC",
      Expires: "2027-02-20 09:00 UTC",
      "Last used": "Never",
      Status: "Active",
    });
    // Shown once: the list does not show it again.
    const again = await (await client.get("/agent/settings/security/api-tokens")).text();
    expect(again).not.toContain(created.token!);
    expect(find(again, "[data-testid=new-token]")).toBeNull();
    // Nothing stored can be presented: the secret appears in no column.
    const secret = created.token!.split(".")[2]!;
    const stored = await db().select().from(apiTokens);
    expect(JSON.stringify(stored)).not.toContain(secret);
    const [entry] = await db().select().from(auditEvents).where(eq(auditEvents.event, "api_token.created"));
    expect(entry).toMatchObject({ actorId: admin.id, details: { name: "Splunk audit input", scopes: ["audit:read"] } });
  });

  it("refuses a bad name, no scope, a scope we do not know, and more than a year, storing nothing", async () => {
    const clock = fakeClock();
    const { client } = await signedInAdmin(clock);
    const before = (await db().select({ n: count() }).from(apiTokens))[0]!.n;
    for (const [form, message] of [
      [{ name: "", scopes: ["audit:read"] }, "Enter a name for the token."],
      [{ name: "No scope", scopes: [] }, "Choose what the token may do."],
      [{ name: "Odd scope", scopes: ["admin:everything"] }, "Choose what the token may do from the list."],
      [{ name: "Forever", scopes: ["audit:read"], days: "366" }, "Expires after (days) must be a whole number from 1 to 365."],
      [{ name: "Never", scopes: ["audit:read"], days: "0" }, "Expires after (days) must be a whole number from 1 to 365."],
    ] as const) {
      const created = await createThroughPage(client, { ...form, scopes: [...form.scopes] });
      expect(created.status, form.name).toBe(400);
      expect(textOf(created.html, "[role=alert]")).toContain(message);
      expect(created.token).toBeNull();
    }
    expect((await db().select({ n: count() }).from(apiTokens))[0]!.n).toBe(before);
  });

  it("lets nobody give a scope whose permission they lack, and keeps the page from people without the permission", async () => {
    const clock = fakeClock();
    // Authentication settings, but not people: may read the audit log, may not sign people out.
    const { client } = await signedInAdmin(clock, await makeRole(["manageAuthentication"]));
    const page = await (await client.get("/agent/settings/security/api-tokens")).text();
    expect(find(page, "#scope-sessions-revoke")?.hasAttribute("disabled")).toBe(true);
    const refused = await createThroughPage(client, { name: "Sign-out", scopes: ["sessions:revoke"] });
    expect(refused.status).toBe(403);
    expect(textOf(refused.html, "[role=alert]")).toContain("Manage Agents, Groups and Roles");
    expect(refused.token).toBeNull();

    const { client: noAuth } = await signedInAdmin(clock, await makeRole(["manageAgents"]));
    const get = await noAuth.get("/agent/settings/security/api-tokens");
    expect(get.status).toBe(403);
    await get.text();
    const post = await createThroughPage(noAuth, { name: "Sneaky", scopes: ["audit:read"] });
    expect(post.status).toBe(403);
    expect(post.token).toBeNull();
    expect(await db().select().from(apiTokens).where(eq(apiTokens.name, "Sneaky"))).toEqual([]);
  });
});

describe("least privilege, over generated roles", () => {
  it("gives a token a scope only when its creator holds what the scope needs, and honours it only while they do", async () => {
    const rand = random(4711);
    const clock = fakeClock();
    for (let i = 0; i < 40; i++) {
      const held = ALL_PERMISSIONS.filter(() => rand() < 0.5);
      const asked = ALL_SCOPES.filter(() => rand() < 0.6);
      if (asked.length === 0) asked.push(pick(rand, ALL_SCOPES));
      const roleId = rand() < 0.1 ? "role_administrator" : await makeRole(held);
      const creator = await makeAgent({ roleId });
      const holder = { id: creator.id, roleId, permissions: roleId === "role_administrator" ? ALL_PERMISSIONS : held };
      const may = roleId === "role_administrator" || asked.every((s) => held.includes(API_SCOPES[s].needs));
      const made = await createToken(
        env,
        db(),
        { name: `Generated ${i}`, scopes: asked, days: 30, creator: holder },
        {
          at: clock.now(),
          ip: null,
          userAgent: null,
        },
      );
      expect(made.ok, `${held.join("+") || "nothing"} asking ${asked.join("+")}`).toBe(may);
      if (!made.ok) continue;
      // Each scope works through the API exactly when the token has it and its creator still holds its permission.
      for (const scope of ALL_SCOPES) {
        const checked = await authenticateToken(env, db(), made.token, scope, { at: clock.now(), ip: "192.0.2.1", userAgent: null });
        const works = asked.includes(scope) && (roleId === "role_administrator" || held.includes(API_SCOPES[scope].needs));
        expect(checked.ok, `${scope} for ${held.join("+")} asking ${asked.join("+")}`).toBe(works);
      }
    }
  });
});

describe("reading the audit log by API", () => {
  it("pages through every event in the order stored, with the CSV's fields", async () => {
    const clock = fakeClock();
    const { client } = await signedInAdmin(clock);
    const { token } = await createThroughPage(client, { name: "Reader", scopes: ["audit:read"] });
    const call = api(clock);
    // Some events of other people, a few at the same moment.
    for (let i = 0; i < 7; i++) await signIn(browser({ clock }), "agent", await makeAgent());
    const all = await db().select({ id: auditEvents.id }).from(auditEvents).orderBy(auditEvents.id);
    const seen: number[] = [];
    let after = 0;
    for (let pages = 0; pages < 50; pages++) {
      const page = await call(`/api/v1/audit-events?after=${after}&limit=3`, token);
      expect(page.status).toBe(200);
      const events = page.body.events as { id: number }[];
      seen.push(...events.map((e) => e.id));
      after = page.body.next_after as number;
      if (!page.body.has_more) break;
    }
    // Each event once, in id order; the first use from this address is itself an event, read too.
    expect(seen).toEqual([...seen].sort((a, b) => a - b));
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen.slice(0, all.length)).toEqual(all.map((r) => r.id));

    // The same fields the CSV has, for the same event.
    const csv = await (await client.get("/agent/settings/security/audit.csv?event=sign_in.succeeded")).text();
    const lastCsv = csv.trim().split("\r\n")[1]!.split(",");
    const [newest] = await db()
      .select({ id: auditEvents.id })
      .from(auditEvents)
      .where(eq(auditEvents.event, "sign_in.succeeded"))
      .orderBy(desc(auditEvents.id))
      .limit(1);
    const one = await call(`/api/v1/audit-events?after=${newest!.id - 1}&limit=1`, token);
    const event = (one.body.events as Record<string, unknown>[])[0]!;
    expect([event.time_utc, event.event, event.portal, event.actor, event.target, event.ip]).toEqual(lastCsv.slice(0, 6));
    expect(event.description).toBe("Signed in");
  });

  it("filters by event, person and time", async () => {
    const clock = fakeClock();
    const { client } = await signedInAdmin(clock);
    const { token } = await createThroughPage(client, { name: "Reader", scopes: ["audit:read"] });
    const agent = await makeAgent();
    clock.advance(DAY);
    const since = new Date(clock.now()).toISOString();
    await signIn(browser({ clock }), "agent", agent);
    const call = api(clock);
    const byPerson = await call(`/api/v1/audit-events?person=${encodeURIComponent(agent.email.toUpperCase())}`, token);
    expect((byPerson.body.events as { actor: string }[]).map((e) => e.actor)).toEqual([agent.email]);
    const byEvent = await call(`/api/v1/audit-events?event=api_token.created&limit=1000`, token);
    const created = byEvent.body.events as { event: string; details: { tokenId: string } }[];
    expect(new Set(created.map((e) => e.event))).toEqual(new Set(["api_token.created"]));
    expect(created.map((e) => e.details.tokenId)).toContain(token!.split(".")[1]);
    const bySince = await call(`/api/v1/audit-events?since=${since}&event=sign_in.succeeded`, token);
    expect((bySince.body.events as { actor: string }[]).map((e) => e.actor)).toEqual([agent.email]);
    const byUntil = await call(`/api/v1/audit-events?until=${since}&event=sign_in.succeeded`, token);
    expect((byUntil.body.events as { actor: string }[]).map((e) => e.actor)).not.toContain(agent.email);
  });

  it("records a token's first use from each address, and its last use", async () => {
    const clock = fakeClock();
    const { client } = await signedInAdmin(clock);
    const { token } = await createThroughPage(client, { name: "Poller", scopes: ["audit:read"] });
    const fromA = api(clock, "203.0.113.1");
    const fromB = api(clock, "2001:db8::7");
    for (const call of [fromA, fromA, fromB, fromA]) expect((await call("/api/v1/audit-events?limit=1", token)).status).toBe(200);
    const sources = await db()
      .select()
      .from(auditEvents)
      .where(
        and(
          eq(auditEvents.event, "api_token.new_source"),
          sql`json_extract(${auditEvents.details}, '$.tokenId') = ${token!.split(".")[1]}`,
        ),
      );
    expect(sources.map((s) => s.ip)).toEqual(["203.0.113.1", "2001:db8::7"]);
    const row = tableRows(await (await client.get("/agent/settings/security/api-tokens")).text()).find((r) => r.Name === "Poller")!;
    expect(row["Last used"]).toBe("2026-11-22 09:00 UTC from 203.0.113.1");
  });
});

describe("hostile input to the API", () => {
  it("answers each wrong token, and each bad query, with the API's 4xx and changes nothing", async () => {
    const clock = fakeClock();
    const { admin, client } = await signedInAdmin(clock);
    const reader = (await createThroughPage(client, { name: "Reader", scopes: ["audit:read"] })).token!;
    const signOutOnly = (await createThroughPage(client, { name: "Sign-out only", scopes: ["sessions:revoke"] })).token!;
    const revoked = (await createThroughPage(client, { name: "Revoked", scopes: ["audit:read"] })).token!;
    const short = (await createThroughPage(client, { name: "Short", scopes: ["audit:read"], days: "1" })).token!;
    const revokedId = revoked.split(".")[1]!;
    await (await client.post(`/agent/settings/security/api-tokens/${revokedId}/revoke`)).text();
    const call = api(clock);
    // Each token used once, so its first-use entry is not counted as a change below.
    await call("/api/v1/audit-events?limit=1", reader);
    await call("/api/v1/audit-events?limit=1", short);
    clock.advance(DAY + 1);

    const tampered = `${reader.slice(0, -1)}${reader.endsWith("a") ? "b" : "a"}`;
    const otherId = `edk.tok_${"a".repeat(16)}.${reader.split(".")[2]}`;
    const cases: [string, string | null, RequestInit, number, string][] = [
      ["no token", null, {}, 401, "missing_token"],
      ["not a token", "hello", {}, 401, "invalid_token"],
      ["a tampered secret", tampered, {}, 401, "invalid_token"],
      ["a real secret under another id", otherId, {}, 401, "invalid_token"],
      ["a revoked token", revoked, {}, 401, "token_revoked"],
      ["an expired token", short, {}, 401, "token_expired"],
      ["the wrong scope", signOutOnly, {}, 403, "insufficient_scope"],
    ];
    const before = await auditCount();
    // What a token is (its name, scopes, expiry, revocation), apart from when it was last used.
    const tokenRows = async () =>
      (await db().select().from(apiTokens).orderBy(apiTokens.id)).map(({ lastUsedAt: _, lastUsedIp: __, ...rest }) => rest);
    const tokensBefore = await tokenRows();
    for (const [label, token, init, status, code] of cases) {
      const answer = await call("/api/v1/audit-events", token, init);
      expect(answer.status, label).toBe(status);
      expect(answer.body.error?.code, label).toBe(code);
      expect(answer.body.error?.message, label).toMatch(/\S/);
    }
    const queries: [string, string][] = [
      ["limit=1001", "limit is a whole number from 1 to 1000."],
      ["limit=0", "limit is a whole number from 1 to 1000."],
      ["limit=99999999999999999999", "limit is a whole number from 1 to 1000."],
      ["limit=-5", "limit is a whole number from 1 to 1000."],
      ["after=1%20OR%201=1", "after is the id of the last event you received (a whole number)."],
      ["event=sign_in.succeeded'%20OR%20'1'='1", "event is not one of the audit log's events."],
      ["person=x'%20OR%20'1'='1", "person is an email address"],
      ["person=a@b.c%27;DROP%20TABLE%20audit_events;--", "person is an email address"],
      ["since=yesterday", "since is a time in ISO 8601"],
      ["until=2026-13-45T99:00:00Z", "until is a time in ISO 8601"],
      ["limt=5", "Unknown parameter: limt."],
    ];
    for (const [query, message] of queries) {
      const answer = await call(`/api/v1/audit-events?${query}`, reader);
      expect(answer.status, query).toBe(400);
      expect(answer.body.error, query).toMatchObject({ code: "invalid_request" });
      expect(answer.body.error?.message, query).toContain(message);
    }
    expect(await auditCount()).toBe(before);
    expect(await tokenRows()).toEqual(tokensBefore);
    expect((await db().select({ n: count() }).from(users).where(eq(users.id, admin.id)))[0]!.n).toBe(1);
    // Outside the routes, still the API's shape.
    for (const path of ["/api", "/api/v2/audit-events", "/api/v1/nothing-here"]) {
      const answer = await call(path, reader);
      expect([answer.status, answer.body.error?.code], path).toEqual([404, "not_found"]);
    }
  });

  it("refuses a token whose creator was removed, disabled or lost the permission", async () => {
    const clock = fakeClock();
    const { admin: other } = await signedInAdmin(clock);
    const roleId = await makeRole(["manageAuthentication", "manageAgents"]);
    const { admin: creator, client } = await signedInAdmin(clock, roleId);
    const token = (await createThroughPage(client, { name: "Creator's", scopes: ["audit:read"] })).token!;
    const call = api(clock);
    expect((await call("/api/v1/audit-events?limit=1", token)).status).toBe(200);

    // The role loses the permission the scope needs.
    await env.DB.prepare(`UPDATE roles SET permissions = '["manageAgents"]' WHERE id = ?`).bind(roleId).run();
    const lost = await call("/api/v1/audit-events?limit=1", token);
    expect([lost.status, lost.body.error?.code]).toEqual([403, "owner_lacks_permission"]);
    await env.DB.prepare(`UPDATE roles SET permissions = '["manageAuthentication","manageAgents"]' WHERE id = ?`).bind(roleId).run();
    expect((await call("/api/v1/audit-events?limit=1", token)).status).toBe(200);

    // Disabled, then removed; the list says the token no longer works.
    await db().update(users).set({ active: false }).where(eq(users.id, creator.id));
    const disabled = await call("/api/v1/audit-events?limit=1", token);
    expect([disabled.status, disabled.body.error?.code]).toEqual([401, "token_owner_gone"]);
    const listed = tableRows(await (await (await browserOf(other, clock)).get("/agent/settings/security/api-tokens")).text()).find(
      (r) => r.Name === "Creator's",
    )!;
    expect(listed.Status).toBe("Not working: its creator was removed or disabled");
    const removed = await removePerson(env, db(), {
      actor: { id: other.id, roleId: other.roleId ?? null, permissions: [] },
      targetId: creator.id,
      confirm: creator.email,
      now: clock.now(),
      ip: null,
      userAgent: null,
    });
    expect(removed.ok).toBe(true);
    const gone = await call("/api/v1/audit-events?limit=1", token);
    expect([gone.status, gone.body.error?.code]).toEqual([401, "token_owner_gone"]);
    // Still listed, under the creator's pseudonym, so the record of what existed stays.
    const row = tableRows(await (await (await browserOf(other, clock)).get("/agent/settings/security/api-tokens")).text()).find(
      (r) => r.Name === "Creator's",
    )!;
    expect(row["Created by"]).toMatch(/^Removed agent [A-Z2-7]{10}$/);
  });

  it("throttles each token on its own, with Retry-After, and lets it go on after the minute", async () => {
    const clock = fakeClock();
    const { client } = await signedInAdmin(clock);
    const busy = (await createThroughPage(client, { name: "Busy", scopes: ["audit:read"] })).token!;
    const calm = (await createThroughPage(client, { name: "Calm", scopes: ["audit:read"] })).token!;
    // Its own address, 25 at once: an address sends at most 50 requests at once.
    const call = api(clock, "203.0.113.44");
    const statuses: number[] = [];
    for (let sent = 0; sent < 600; sent += 25)
      statuses.push(
        ...(await Promise.all(Array.from({ length: 25 }, () => call("/api/v1/audit-events?limit=1", busy)))).map((a) => a.status),
      );
    expect(statuses.filter((s) => s !== 200)).toEqual([]);
    const refused = await call("/api/v1/audit-events?limit=1", busy);
    expect(refused.status).toBe(429);
    expect(refused.body.error?.code).toBe("rate_limited");
    expect(Number(refused.headers.get("Retry-After"))).toBeGreaterThan(0);
    expect(Number(refused.headers.get("Retry-After"))).toBeLessThanOrEqual(60);
    // Another token is not held back by this one.
    expect((await call("/api/v1/audit-events?limit=1", calm)).status).toBe(200);
    clock.advance(61_000);
    expect((await call("/api/v1/audit-events?limit=1", busy)).status).toBe(200);
  });

  it("never lets a stranger spend a token's allowance by naming its id, and stops the stranger instead", async () => {
    const clock = fakeClock();
    const { client } = await signedInAdmin(clock);
    const victim = (await createThroughPage(client, { name: "Victim", scopes: ["audit:read"] })).token!;
    const [, id] = victim.split(".");
    const stranger = api(clock, "198.51.100.66");
    const statuses: number[] = [];
    for (let i = 0; i < 60; i++) statuses.push((await stranger("/api/v1/audit-events", `edk.${id}.${"a".repeat(52)}`)).status);
    expect(statuses.slice(0, 50).every((s) => s === 401)).toBe(true);
    expect(statuses.slice(50).every((s) => s === 429)).toBe(true);
    // Even the real token is refused from that address now; from its own, it works.
    expect((await stranger("/api/v1/audit-events?limit=1", victim)).status).toBe(429);
    expect((await api(clock, "203.0.113.90")("/api/v1/audit-events?limit=1", victim)).status).toBe(200);
  });

  it("counts wrong tokens sent all at once, checking no more than the limit", async () => {
    const clock = fakeClock();
    const burst = api(clock, "198.51.100.200");
    const answers = await Promise.all(
      Array.from({ length: 120 }, () => burst("/api/v1/audit-events", `edk.tok_${"a".repeat(16)}.${"b".repeat(52)}`)),
    );
    expect(answers.filter((a) => a.status === 401).length).toBeLessThanOrEqual(50);
    expect(answers.filter((a) => a.status === 429).length).toBeGreaterThanOrEqual(70);
  });

  it("revoking is audited and refuses the token's very next request", async () => {
    const clock = fakeClock();
    const { admin, client } = await signedInAdmin(clock);
    const token = (await createThroughPage(client, { name: "Leaked", scopes: ["audit:read"] })).token!;
    const call = api(clock);
    expect((await call("/api/v1/audit-events?limit=1", token)).status).toBe(200);
    const id = token.split(".")[1]!;
    const revoke = await client.post(`/agent/settings/security/api-tokens/${id}/revoke`);
    expect(revoke.status).toBe(303);
    await revoke.text();
    expect((await call("/api/v1/audit-events?limit=1", token)).status).toBe(401);
    const again = await client.post(`/agent/settings/security/api-tokens/${id}/revoke`);
    expect(again.status).toBe(409);
    await again.text();
    const entries = await db()
      .select()
      .from(auditEvents)
      .where(and(eq(auditEvents.event, "api_token.revoked"), sql`json_extract(${auditEvents.details}, '$.tokenId') = ${id}`));
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({ actorId: admin.id, details: { tokenId: id } });
    const row = tableRows(await (await client.get("/agent/settings/security/api-tokens")).text()).find((r) => r.Name === "Leaked")!;
    expect(row.Status).toBe("Revoked");
  });
});

async function browserOf(person: { email: string; password: string }, clock: FakeClock) {
  const client = browser({ clock });
  await signIn(client, "agent", person);
  return client;
}

describe("signing a person out by API", () => {
  it("ends every session of the person, audits the token and the reason, and emails them", async () => {
    const clock = fakeClock();
    const { admin, client } = await signedInAdmin(clock);
    const token = (await createThroughPage(client, { name: "SOAR", scopes: ["sessions:revoke"] })).token!;
    const victim = await makeAgent();
    const laptop = await browserOf(victim, clock);
    const phone = await browserOf(victim, clock);
    const call = api(clock);
    const post = (id: string, body: unknown, headers: Record<string, string> = { "Content-Type": "application/json" }) =>
      call(`/api/v1/people/${id}/sign-out`, token, {
        method: "POST",
        body: typeof body === "string" ? body : JSON.stringify(body),
        headers,
      });

    const done = await post(victim.id, { reason: "Phishing incident INC-4411" });
    expect(done).toMatchObject({ status: 200, body: { person: victim.id, ended: 2 } });
    for (const b of [laptop, phone]) {
      const home = await b.get("/agent");
      await home.text();
      expect(home.headers.get("Location")).toMatch(/^\/agent\/login/);
    }
    const [entry] = await db()
      .select()
      .from(auditEvents)
      .where(and(eq(auditEvents.event, "sessions.revoked"), eq(auditEvents.targetId, victim.id)));
    expect(entry).toMatchObject({
      actorId: admin.id,
      details: { byAdmin: true, scope: "all", reason: "Phishing incident INC-4411", via: "api", tokenId: token.split(".")[1], count: 2 },
    });
    const mail = await db().select().from(devMailbox).where(sql`${devMailbox.to} = ${victim.email}`);
    expect(mail.map((m) => m.subject)).toContain("An administrator signed you out of EdgeDesk");

    // Nothing left to end, a stranger's id, no reason, and a form instead of JSON: each refused, nothing recorded.
    const before = await auditCount();
    expect(await post(victim.id, { reason: "again" })).toMatchObject({ status: 409, body: { error: { code: "nothing_to_end" } } });
    expect(await post("agt_aaaaaaaaaaaaaaaa", { reason: "x" })).toMatchObject({ status: 404, body: { error: { code: "not_found" } } });
    expect(await post(victim.id, {})).toMatchObject({ status: 400, body: { error: { code: "invalid_request" } } });
    expect(await post(victim.id, { reason: "x", session: "'; DROP TABLE users;--" })).toMatchObject({ status: 400 });
    expect(await post(victim.id, "reason=x", { "Content-Type": "application/x-www-form-urlencoded" })).toMatchObject({
      status: 415,
      body: { error: { code: "unsupported_media_type" } },
    });
    expect(await auditCount()).toBe(before);
  });

  it("takes a script's POST from anywhere, refusing only what is not JSON", async () => {
    const clock = fakeClock();
    const { client } = await signedInAdmin(clock);
    const token = (await createThroughPage(client, { name: "SOAR", scopes: ["sessions:revoke"] })).token!;
    const victim = await makeAgent();
    const call = api(clock);
    // A script sends no Origin, or its own; a form's content type is refused as not JSON, never as a cross-site form.
    for (const headers of [
      { "Content-Type": "application/x-www-form-urlencoded", Origin: "https://soar.example" },
      { "Content-Type": "text/plain", Origin: "https://soar.example" },
    ]) {
      const answer = await call(`/api/v1/people/${victim.id}/sign-out`, token, { method: "POST", body: '{"reason":"x"}', headers });
      expect([answer.status, answer.body.error?.code], headers["Content-Type"]).toEqual([415, "unsupported_media_type"]);
    }
    const json = await call(`/api/v1/people/${victim.id}/sign-out`, token, {
      method: "POST",
      body: '{"reason":"x"}',
      headers: { "Content-Type": "application/json", Origin: "https://soar.example" },
    });
    expect([json.status, json.body.error?.code]).toEqual([409, "nothing_to_end"]);
  });

  it("refuses, and audits, signing out someone who holds more than the token's creator", async () => {
    const clock = fakeClock();
    const { admin: manager, client } = await signedInAdmin(clock, await makeRole(["manageAgents"]));
    // The manager cannot reach the API page (no authentication permission), so the token is made
    // for them by the product's own function, as a token they made before losing it would be.
    const made = await createToken(
      env,
      db(),
      {
        name: "Manager's",
        scopes: ["sessions:revoke"],
        days: 30,
        creator: { id: manager.id, roleId: manager.roleId ?? null, permissions: ["manageAgents"] },
      },
      { at: clock.now(), ip: null, userAgent: null },
    );
    if (!made.ok) throw new Error(made.message);
    const administrator = await makeAdmin();
    const adminBrowser = await browserOf(administrator, clock);
    const call = api(clock);
    const refused = await call(`/api/v1/people/${administrator.id}/sign-out`, made.token, {
      method: "POST",
      body: JSON.stringify({ reason: "takeover" }),
      headers: { "Content-Type": "application/json" },
    });
    expect(refused.status).toBe(403);
    expect(refused.body.error?.message).toContain("Administrator");
    const home = await adminBrowser.get("/agent");
    await home.text();
    expect(home.status).toBe(200);
    const [entry] = await db()
      .select()
      .from(auditEvents)
      .where(and(eq(auditEvents.event, "access.refused"), eq(auditEvents.targetId, administrator.id)));
    expect(entry).toMatchObject({ actorId: manager.id, details: { action: "sign out a person", via: "api" } });
    // Nor themselves.
    const self = await call(`/api/v1/people/${manager.id}/sign-out`, made.token, {
      method: "POST",
      body: JSON.stringify({ reason: "oops" }),
      headers: { "Content-Type": "application/json" },
    });
    expect(self.status).toBe(403);
    const mine = await client.get("/agent");
    await mine.text();
    expect(mine.status).toBe(200);
  });
});
