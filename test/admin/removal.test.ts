// An admin removes a contact, or a disabled agent who manages no open records. The
// person can no longer sign in, their sign-in data is gone, and the audit log and asset history
// keep their records under one stable pseudonym, with no trace of their name or email.
import { runDurableObjectAlarm } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { eq, inArray, or } from "drizzle-orm";
import { beforeAll, describe, expect, it } from "vitest";
import { mintSession, portalStub } from "../../src/auth/sessions";
import { owedAudit } from "../../src/auth/owed-audits";
import { userStub } from "../../src/auth/user-object";
import {
  auditEvents,
  inventoryHistory,
  passkeys,
  passwordResets,
  recoveryCodes,
  removedPeople,
  totpCredentials,
  users,
} from "../../src/db/schema";
import { INVALID_CREDENTIALS } from "../../src/sign-in/password-routes";
import { pseudonymFor } from "../../src/lifecycle/removal";
import { DAY, MINUTE } from "../../src/lib/clock";
import { generateRecoveryCodes } from "../../src/factors/recovery-codes";
import { pendingEnrollmentKey } from "../../src/factors/totp";
import { browser, type Browser, fakeClock } from "../helpers/app";
import { signIn } from "../helpers/auth";
import { db, DEFAULT_PASSWORD, makeAdmin, makeAgent, makeContact } from "../helpers/factories";
import { makeGroup, seedAssets } from "../helpers/inventory";
import { setMfa } from "../helpers/mfa";
import { makeRole } from "../helpers/roles";
import { cellText, find, labelled, shown, tableRows } from "../helpers/html";

const clock = fakeClock();

async function post(client: Browser, path: string, form: Record<string, string> = {}) {
  const response = await client.post(path, form);
  return { status: response.status, location: response.headers.get("Location"), text: await response.text() };
}

async function page(client: Browser, path: string) {
  const response = await client.get(path);
  return { status: response.status, location: response.headers.get("Location"), text: await response.text() };
}

async function signedInAdmin() {
  const admin = await makeAdmin({ name: `Ada Admin ${crypto.randomUUID().slice(0, 6)}` });
  const client = browser({ clock });
  await signIn(client, "agent", admin);
  return { admin, client };
}

async function seedSoftware(name: string, values: { agentId: string; status?: string; groupId?: string | null }) {
  const id = `sw_${crypto.randomUUID().replaceAll("-", "").slice(0, 16)}`;
  await env.DB.prepare(
    "INSERT INTO software (id, name, publisher, category, software_version, status, impact, agent_id, group_id, row_version, created_at, updated_at) " +
      "VALUES (?, ?, 'Acme', 'Office', '2.1', ?, 'low', ?, ?, 1, 0, 0)",
  )
    .bind(id, name, values.status ?? "active", values.agentId, values.groupId ?? null)
    .run();
  return id;
}

const auditMentioning = async (userId: string) =>
  db()
    .select()
    .from(auditEvents)
    .where(or(eq(auditEvents.targetId, userId), eq(auditEvents.actorId, userId)));

beforeAll(() =>
  Promise.all([
    setMfa("agent", { authenticatorApp: false, emailOtp: false, rememberDays: 30 }),
    setMfa("support", { authenticatorApp: false, emailOtp: false, rememberDays: 30 }),
  ]),
);

describe("removing a contact", () => {
  it("stores an audit entry their object still owed under the pseudonym, never their email", async () => {
    const { client } = await signedInAdmin();
    const contact = await makeContact({ name: "Otto Owed" });
    // A sign-in whose entry D1 did not take: the session stands, its entry is owed by their object.
    const entry = owedAudit(
      { event: "sign_in.succeeded", portal: "support", actorId: contact.id, details: { email: contact.email, method: "passkey" } },
      { at: clock.now(), ip: "203.0.113.7", userAgent: "Firefox" },
    );
    const { generation } = await portalStub(env, "support").getPolicy();
    const session = { stage: "full", method: "passkey", generation, now: clock.now(), ip: "203.0.113.7", userAgent: "Firefox" } as const;
    await mintSession(env, contact.id, session, [entry]);
    const stored = () => env.DB.prepare("SELECT details FROM audit_events WHERE event_key = ?").bind(entry.key).all<{ details: string }>();
    expect((await stored()).results).toEqual([]);

    const removed = await post(client, `/agent/admin/people/${contact.id}/remove`, { confirm: contact.email });
    expect(removed.status).toBe(303);
    await runDurableObjectAlarm(userStub(env, contact.id));
    const rows = (await stored()).results;
    expect(rows).toHaveLength(1);
    expect(JSON.parse(rows[0]!.details)).toEqual({ email: pseudonymFor("contact", contact.id), method: "passkey" });
  });

  it("signs them out, destroys their sign-in data, and leaves only a pseudonym in the audit log and asset history", async () => {
    const { admin, client } = await signedInAdmin();
    const contact = await makeContact({ name: "Rhea Removable" });
    const other = await makeAgent({ email: contact.email }); // the same address in the other portal belongs to someone else

    // What they leave behind: a session, a remembered device, an authenticator secret, codes, a passkey, a reset link…
    const theirs = browser({ clock });
    await signIn(theirs, "support", contact);
    const { generation } = await portalStub(env, "support").getPolicy();
    await userStub(env, contact.id).rememberDevice({
      id: "dev_aaaaaaaaaaaaaaaa",
      tokenHash: crypto.randomUUID(),
      generation,
      now: clock.now(),
      expiresAt: clock.now() + 30 * DAY,
      ip: "203.0.113.9",
      userAgent: "Firefox",
    });
    await pendingEnrollmentKey(env, db(), contact.id, clock.now());
    await generateRecoveryCodes(env, db(), contact.id, clock.now());
    // An email code mailed, and one being sent: two KV records under their person.
    const mailed = await userStub(env, contact.id).issueEmailOtp(contact.id, "flow-removal", clock.now());
    if (!mailed.ok) throw new Error("no code issued");
    expect(await userStub(env, contact.id).confirmEmailOtp(contact.id, mailed.challengeId, clock.now())).toBe(true);
    expect((await userStub(env, contact.id).issueEmailOtp(contact.id, "flow-removal", clock.now() + 31_000)).ok).toBe(true);
    expect((await env.OTP_KV.list({ prefix: `otp:${contact.id}:` })).keys).toHaveLength(2);
    await db()
      .insert(passkeys)
      .values({
        id: `cred-${crypto.randomUUID()}`,
        userId: contact.id,
        name: "Rhea's phone",
        publicKey: "AAAA",
        counter: 0,
        transports: null,
        createdAt: clock.now(),
        lastUsedAt: null,
      });
    await (await browser({ clock }).post("/support/login/forgot", { email: contact.email.toUpperCase() })).text();
    // …failed sign-ins naming their email in both portals, an admin's change, and an asset they use.
    await (await browser({ clock }).post("/support/login", { email: contact.email, password: "not the password" })).text();
    await (await browser({ clock }).post("/agent/login", { email: contact.email, password: "not the password either" })).text();
    expect((await post(client, `/agent/admin/contacts/${contact.id}/active`, { active: "" })).status).toBe(303);
    expect((await post(client, `/agent/admin/contacts/${contact.id}/active`, { active: "on" })).status).toBe(303);
    const [assetId] = await seedAssets(1, { prefix: "Rhea laptop" });
    await env.DB.prepare("UPDATE assets SET used_by_id = ? WHERE id = ?").bind(contact.id, assetId).run();

    const person = await page(client, `/agent/admin/contacts/${contact.id}`);
    expect(cellText(person.text)).toContain("Remove Rhea Removable…");
    const confirm = await page(client, `/agent/admin/people/${contact.id}/remove`);
    expect(confirm.status).toBe(200);
    const pseudonym = pseudonymFor("contact", contact.id);
    expect(pseudonym).toMatch(/^Removed contact [A-Z2-7]{10}$/);
    expect(cellText(confirm.text)).toContain("clears “Used by” on the asset they use");
    expect(cellText(confirm.text)).toContain(`replaces their name and email in the audit log and asset history with “${pseudonym}”`);

    // A slip is refused and changes nothing.
    const wrong = await post(client, `/agent/admin/people/${contact.id}/remove`, { confirm: "someone.else@example.com" });
    expect(wrong.status).toBe(400);
    expect(cellText(wrong.text)).toContain(`Type ${contact.email} exactly to confirm the removal.`);
    expect(await db().select().from(users).where(eq(users.id, contact.id))).toHaveLength(1);

    const removed = await post(client, `/agent/admin/people/${contact.id}/remove`, { confirm: `  ${contact.email.toUpperCase()} ` });
    expect(removed.status).toBe(303);
    expect(removed.location).toBe(`/agent/admin/contacts?removed=${encodeURIComponent(pseudonym)}`);
    expect(cellText((await page(client, removed.location!)).text)).toContain(
      `Removed. In the audit log and asset history they now appear as “${pseudonym}”.`,
    );

    // Signed out at once, and never signed in again: the same answer as an unknown email.
    expect((await page(theirs, "/support")).location).toMatch(/^\/support\/login/);
    const again = await browser({ clock }).post("/support/login", { email: contact.email, password: DEFAULT_PASSWORD });
    const unknown = await browser({ clock }).post("/support/login", {
      email: `nobody-${crypto.randomUUID()}@example.com`,
      password: DEFAULT_PASSWORD,
    });
    expect(again.status).toBe(unknown.status);
    expect(await shown(again)).toContain(INVALID_CREDENTIALS);
    await unknown.text();

    // Sign-in data: gone from D1 and from their Durable Object.
    for (const table of [totpCredentials, recoveryCodes, passkeys, passwordResets])
      expect(await db().select().from(table).where(eq(table.userId, contact.id))).toEqual([]);
    expect(await db().select().from(users).where(eq(users.id, contact.id))).toEqual([]);
    expect(
      await userStub(env, contact.id).listSessions({
        generation,
        policy: (await portalStub(env, "support").getPolicy()).session,
        now: clock.now(),
      }),
    ).toEqual([]);
    expect(await userStub(env, contact.id).listDevices(generation, clock.now())).toEqual([]);
    expect((await env.OTP_KV.list({ prefix: `otp:${contact.id}` })).keys).toEqual([]);
    expect(await db().select().from(removedPeople).where(eq(removedPeople.id, contact.id))).toEqual([
      { id: contact.id, kind: "contact", pseudonym, removedAt: clock.now(), removedBy: admin.id },
    ]);

    // The audit log: every event about them is still there, under the pseudonym, with no name or email left.
    // (Up to the removal: the sign-in attempts above came later, and a stranger may type any address.)
    const events = await db().select().from(auditEvents);
    const removal = events.find((e) => e.event === "user.removed" && e.targetId === contact.id)!;
    const aboutThem = events.filter(
      (e) => e.id <= removal.id && (e.targetId === contact.id || (e.portal === "support" && e.targetId === null)),
    );
    expect(aboutThem.map((e) => e.event)).toEqual(
      expect.arrayContaining(["sign_in.succeeded", "password_reset.requested", "user.updated", "user.removed"]),
    );
    for (const e of aboutThem) {
      expect(JSON.stringify(e).toLowerCase()).not.toContain(contact.email.toLowerCase());
      expect(JSON.stringify(e)).not.toContain("Rhea");
    }
    expect(events.filter((e) => e.portal === "support" && JSON.stringify(e.details ?? {}).includes(pseudonym)).map((e) => e.event)).toEqual(
      expect.arrayContaining(["password_reset.requested", "sign_in.failed"]),
    );
    // The agent portal's failed sign-in named the other person's address: it stays.
    expect(
      events.some((e) => e.portal === "agent" && e.event === "sign_in.failed" && (e.details as { email?: string }).email === other.email),
    ).toBe(true);

    const log = await page(client, `/agent/settings/security/audit?user=${encodeURIComponent(pseudonym.toLowerCase())}`);
    const rows = tableRows(log.text);
    expect(rows.find((r) => r.Event!.startsWith("Person removed"))).toMatchObject({ Actor: admin.email, Target: pseudonym });
    expect(rows.filter((r) => r.Event === "Signed in").map((r) => [r.Actor, r.Target])).toEqual([[pseudonym, pseudonym]]);
    expect(log.text.toLowerCase()).not.toContain(contact.email.toLowerCase());

    // The asset they used: no longer theirs, and its history says so under the same pseudonym.
    expect(await env.DB.prepare("SELECT used_by_id, version FROM assets WHERE id = ?").bind(assetId).first()).toEqual({
      used_by_id: null,
      version: 2,
    });
    const asset = await page(client, `/agent/assets/${assetId}`);
    expect(cellText(asset.text)).toContain(`Used by: ${pseudonym} → — · ${admin.name}`);
  });
});

describe("removing an agent", () => {
  it("waits until they are disabled and what they manage is reassigned; retired records are unassigned with them", async () => {
    const { admin, client } = await signedInAdmin();
    const leaving = await makeAgent({ name: "Lee Leaving" });
    const outsider = await makeAgent({ name: "Oli Outsider" });
    const member = await makeAgent({ name: "Mia Member" });
    const group = await makeGroup([leaving.id, member.id], `Desk ${crypto.randomUUID().slice(0, 6)}`);
    const [open1, open2] = await seedAssets(2, { prefix: "Lee open", agent_id: leaving.id, group_id: group });
    const [retired] = await seedAssets(1, { prefix: "Lee retired", agent_id: leaving.id, status: "retired" });
    const software = await seedSoftware("Lee's licence", { agentId: leaving.id });
    // Something they did themselves, which their record's history keeps.
    await db()
      .insert(inventoryHistory)
      .values({
        recordType: "asset",
        recordId: open1!,
        field: "impact",
        oldValue: "low",
        newValue: "high",
        versionAfter: 1,
        actorId: leaving.id,
        at: clock.now() - DAY,
      });

    expect(cellText((await page(client, `/agent/admin/agents/${leaving.id}`)).text)).toContain("To remove Lee Leaving, disable them first");
    const active = await page(client, `/agent/admin/people/${leaving.id}/remove`);
    expect(active.status).toBe(409);
    expect(cellText(active.text)).toContain("Disable Lee Leaving first: only a disabled agent can be removed.");
    expect((await post(client, `/agent/admin/people/${leaving.id}/remove`, { confirm: leaving.email })).status).toBe(409);

    await env.DB.prepare("UPDATE users SET active = 0 WHERE id = ?").bind(leaving.id).run();
    const blocked = await page(client, `/agent/admin/people/${leaving.id}/remove`);
    expect(blocked.status).toBe(200);
    expect(cellText(blocked.text)).toContain("Lee Leaving manages 2 assets and 1 software record that are not retired.");
    expect(tableRows(blocked.text, "managed-table").map((r) => [r.Kind, r.Name, r["Managed By Group"]])).toEqual([
      ["Asset", "Lee open 00001", expect.stringMatching(/^Desk /)],
      ["Asset", "Lee open 00002", expect.stringMatching(/^Desk /)],
      ["Software", "Lee's licence", "—"],
    ]);
    expect(find(blocked.text, '[name="confirm"]')).toBeNull();
    const early = await post(client, `/agent/admin/people/${leaving.id}/remove`, { confirm: leaving.email });
    expect(early.status).toBe(409);
    expect(cellText(early.text)).toContain("Lee Leaving still manages 2 assets and 1 software records. Reassign them first.");

    // An agent outside the assets' group cannot take them: nothing of that list changes.
    const refused = await post(client, `/agent/admin/people/${leaving.id}/reassign`, { agentId: outsider.id });
    expect(refused.status).toBe(409);
    expect(cellText(refused.text)).toContain(
      "Oli Outsider is not in the Managed By Group of 2 of these assets and 0 of these software records. Nothing was changed.",
    );
    expect(
      (await env.DB.prepare(
        "SELECT (SELECT count(*) FROM assets WHERE agent_id = ?1 AND status <> 'retired') + (SELECT count(*) FROM software WHERE agent_id = ?1) AS n",
      )
        .bind(leaving.id)
        .first())!.n,
    ).toBe(3);

    const reassigned = await post(client, `/agent/admin/people/${leaving.id}/reassign`, { agentId: member.id });
    expect(reassigned.status).toBe(303);
    const ready = await page(client, reassigned.location!);
    expect(cellText(ready.text)).toContain("Reassigned.");
    expect(labelled(ready.text, `Type ${leaving.email} to confirm`)?.getAttribute("name")).toBe("confirm");
    expect(cellText(ready.text)).toContain("unassigns the retired records they managed");
    const { results } = await env.DB.prepare(
      "SELECT id, agent_id FROM assets WHERE id IN (?, ?) UNION ALL SELECT id, agent_id FROM software WHERE id = ?",
    )
      .bind(open1, open2, software)
      .all();
    expect(results.map((r) => r.agent_id)).toEqual([member.id, member.id, member.id]);

    const pseudonym = pseudonymFor("agent", leaving.id);
    const removed = await post(client, `/agent/admin/people/${leaving.id}/remove`, { confirm: leaving.email });
    expect(removed.status).toBe(303);
    expect(removed.location).toBe(`/agent/admin/agents?removed=${encodeURIComponent(pseudonym)}`);
    expect(tableRows((await page(client, "/agent/admin/agents")).text).map((r) => r.Name)).not.toContain("Lee Leaving");

    expect(await env.DB.prepare("SELECT agent_id, version FROM assets WHERE id = ?").bind(retired).first()).toEqual({
      agent_id: null,
      version: 2,
    });
    expect(cellText((await page(client, `/agent/assets/${retired}`)).text)).toContain(`Managed By Agent: ${pseudonym} → — · ${admin.name}`);
    // Their own earlier change is still theirs, shown under the same pseudonym; the reassign shows who had them.
    const history = cellText((await page(client, `/agent/assets/${open1}`)).text);
    expect(history).toContain(`Impact: Low → High · ${pseudonym}`);
    expect(history).toContain(`Managed By Agent: ${pseudonym} → Mia Member · ${admin.name}`);
    expect(await db().select().from(users).where(eq(users.id, leaving.id))).toEqual([]);
  });
});

describe("an agent's earlier addresses", () => {
  it("are replaced too, however they were typed when the agent was created or changed", async () => {
    const { client } = await signedInAdmin();
    const tag = crypto.randomUUID().slice(0, 8);
    const first = `Lee.Former-${tag}@Example.COM`;
    const created = await post(client, "/agent/admin/agents/new", {
      name: "Lee Former",
      email: first,
      roleId: "role_agent",
      password: "a long enough first passphrase",
    });
    expect(created.status).toBe(303);
    const agent = (await db().select().from(users).where(eq(users.email, first.toLowerCase())).get())!;
    const second = `lee.second-${tag}@example.com`;
    expect(
      (await post(client, `/agent/admin/agents/${agent.id}`, { name: "Lee Former", email: second, roleId: "role_agent", active: "on" }))
        .status,
    ).toBe(303);
    expect(
      (await post(client, `/agent/admin/agents/${agent.id}`, { name: "Lee Former", email: second, roleId: "role_agent" })).status,
    ).toBe(303);
    const before = JSON.stringify(await auditMentioning(agent.id));
    expect(before).toContain(first);
    expect(before).toContain(second);

    expect((await post(client, `/agent/admin/people/${agent.id}/remove`, { confirm: second })).status).toBe(303);
    const after = JSON.stringify(await auditMentioning(agent.id)).toLowerCase();
    expect(after).not.toContain(first.toLowerCase());
    expect(after).not.toContain(second);
    expect(after).toContain(pseudonymFor("agent", agent.id).toLowerCase());
  });
});

describe("who may remove whom", () => {
  it("needs the permission, a recent re-authentication and the access rule, and never oneself", async () => {
    const manager = await makeAgent({ roleId: await makeRole(["manageAgents"]) });
    const managerClient = browser({ clock });
    await signIn(managerClient, "agent", manager);
    const disabledAdmin = await makeAdmin({ active: false });
    const plain = await makeAgent({ active: false, roleId: await makeRole([]) });

    const over = await post(managerClient, `/agent/admin/people/${disabledAdmin.id}/remove`, { confirm: disabledAdmin.email });
    expect(over.status).toBe(403);
    expect(cellText(over.text)).toContain("This agent holds permissions you don't have");
    expect(await db().select().from(users).where(eq(users.id, disabledAdmin.id))).toHaveLength(1);
    expect((await auditMentioning(disabledAdmin.id)).map((e) => [e.event, (e.details as { action?: string }).action])).toContainEqual([
      "access.refused",
      "remove a person",
    ]);
    expect(cellText((await page(managerClient, `/agent/admin/agents/${disabledAdmin.id}`)).text)).toContain("so you cannot remove them");

    // The manager holds everything `plain` holds (nothing), and still needs a fresh confirmation.
    clock.advance(6 * MINUTE);
    expect((await page(managerClient, `/agent/admin/people/${plain.id}/remove`)).location).toBe(
      `/agent/reauth?next=${encodeURIComponent(`/agent/admin/people/${plain.id}/remove`)}`,
    );
    expect((await post(managerClient, `/agent/admin/people/${plain.id}/remove`, { confirm: plain.email })).status).toBe(401);
    expect((await post(managerClient, "/agent/reauth", { current: manager.password, next: "/agent" })).status).toBe(303);
    expect((await post(managerClient, `/agent/admin/people/${plain.id}/remove`, { confirm: plain.email })).status).toBe(303);

    const self = await page(managerClient, `/agent/admin/people/${manager.id}/remove`);
    expect(self.status).toBe(403);
    expect(cellText(self.text)).toContain("You cannot remove yourself.");

    const viewer = await makeAgent({ roleId: await makeRole(["viewAssets"]) });
    const viewerClient = browser({ clock });
    await signIn(viewerClient, "agent", viewer);
    const contact = await makeContact();
    expect((await post(viewerClient, `/agent/admin/people/${contact.id}/remove`, { confirm: contact.email })).status).toBe(403);
    expect(await db().select().from(users).where(eq(users.id, contact.id))).toHaveLength(1);
  });

  it("removes once when two admins remove the same person at the same moment", async () => {
    const [one, two] = await Promise.all([signedInAdmin(), signedInAdmin()]);
    const contact = await makeContact();
    const answers = await Promise.all(
      [one, two, one, two].map(({ client }) => post(client, `/agent/admin/people/${contact.id}/remove`, { confirm: contact.email })),
    );
    expect(answers.filter((a) => a.status === 303)).toHaveLength(1);
    for (const a of answers.filter((a) => a.status !== 303)) expect([404, 409]).toContain(a.status);
    const removals = (
      await db()
        .select()
        .from(auditEvents)
        .where(inArray(auditEvents.event, ["user.removed"]))
    ).filter((e) => e.targetId === contact.id);
    expect(removals).toHaveLength(1);
  });
});
