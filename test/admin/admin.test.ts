import { env } from "cloudflare:workers";
import { and, eq } from "drizzle-orm";
import { beforeEach, describe, expect, it } from "vitest";
import { sessionCookieName } from "../../src/request/session-cookie";
import { auditEvents, devMailbox, roles, users } from "../../src/db/schema";
import { MINUTE } from "../../src/lib/clock";
import { browser, type Browser, fakeClock } from "../helpers/app";
import { signIn } from "../helpers/auth";
import { db, makeAdmin, makeAgent, makeContact } from "../helpers/factories";
import { enrollThroughPages, postPassword, recoveryCodesIn, setMfa, totpCode } from "../helpers/mfa";
import { makeRole } from "../helpers/roles";
import { cellText, fieldErrors, findAll, forms, labelled, shown, textIn } from "../helpers/html";

async function reauth(client: Browser, password: string, next = "/agent") {
  const r = await client.post("/agent/reauth", { current: password, next });
  await r.text();
  expect(r.status).toBe(303);
  return r;
}

// Every test here starts with MFA off for agents; tests that want it turn it on themselves.
beforeEach(() => setMfa("agent", { authenticatorApp: false, emailOtp: false }));

const auditOf = async (event: string, targetId: string) =>
  db()
    .select()
    .from(auditEvents)
    .where(and(eq(auditEvents.event, event), eq(auditEvents.targetId, targetId)));

describe("re-authentication", () => {
  it("is asked before sensitive pages, lasts 5 minutes, and rotates the session", async () => {
    const clock = fakeClock();
    const admin = await makeAdmin();
    const agent = await makeAgent();
    const client = browser({ clock });
    await signIn(client, "agent", admin);
    clock.advance(6 * MINUTE);
    const page = await client.get(`/agent/admin/people/${agent.id}/reset-mfa`);
    await page.text();
    expect(page.headers.get("Location")).toBe(`/agent/reauth?next=${encodeURIComponent(`/agent/admin/people/${agent.id}/reset-mfa`)}`);
    const post = await client.post(`/agent/admin/people/${agent.id}/reset-mfa`);
    expect(post.status).toBe(401);
    await post.text();

    const before = client.cookie(sessionCookieName("agent"));
    const wrong = await client.post("/agent/reauth", { current: "not the password", next: "/agent" });
    expect(wrong.status).toBe(401);
    await wrong.text();
    const ok = await reauth(client, admin.password, `/agent/admin/people/${agent.id}/reset-mfa`);
    expect(ok.headers.get("Location")).toBe(`/agent/admin/people/${agent.id}/reset-mfa`);
    expect(client.cookie(sessionCookieName("agent"))).not.toBe(before);
    expect((await client.get(`/agent/admin/people/${agent.id}/reset-mfa`)).status).toBe(200);
    clock.advance(5 * MINUTE);
    const expired = await client.get(`/agent/admin/people/${agent.id}/reset-mfa`);
    await expired.text();
    expect(expired.headers.get("Location")).toContain("/agent/reauth");
  });
});

describe("resetting MFA", () => {
  it("ends the target's sessions, deletes their authenticator, emails them, and forces re-enrollment", async () => {
    await setMfa("agent", { authenticatorApp: true, emailOtp: false });
    const clock = fakeClock();
    const admin = await makeAdmin();
    const adminClient = browser({ clock });
    const { manualKey } = await enrollThroughPages(adminClient, "agent", admin, clock);
    const agent = await makeAgent();
    const agentClient = browser({ clock });
    await enrollThroughPages(agentClient, "agent", agent, clock);
    expect((await agentClient.get("/agent")).status).toBe(200);

    clock.advance(30_000);
    const confirm = await adminClient.post("/agent/reauth", {
      current: admin.password,
      code: totpCode(manualKey, clock.now()),
      next: "/agent",
    });
    await confirm.text();
    const reset = await adminClient.post(`/agent/admin/people/${agent.id}/reset-mfa`);
    await reset.text();
    expect(reset.headers.get("Location")).toBe(`/agent/admin/agents/${agent.id}?done=reset`);

    const after = await agentClient.get("/agent");
    await after.text();
    expect(after.status).toBe(303);
    const mail = await db().select().from(devMailbox).where(eq(devMailbox.to, agent.email)).get();
    expect(mail?.subject).toBe("Your EdgeDesk two-step verification was reset");
    expect((await postPassword(browser({ clock }), "agent", agent)).headers.get("Location")).toBe("/agent/login/enroll");
    expect(await auditOf("mfa.reset", agent.id)).toHaveLength(1);
    await setMfa("agent", { authenticatorApp: false });
  });

  it("needs the recovery permission, and an admin cannot reset their own", async () => {
    const clock = fakeClock();
    const noRecovery = await makeAgent({ roleId: await makeRole(["manageAgents"]) });
    const target = await makeAgent();
    const client = browser({ clock });
    await signIn(client, "agent", noRecovery);
    const page = await (await client.get(`/agent/admin/agents/${target.id}`)).text();
    expect(page).not.toContain("Reset MFA");
    await reauth(client, noRecovery.password);
    const refused = await client.post(`/agent/admin/people/${target.id}/reset-mfa`);
    expect(refused.status).toBe(403);
    await refused.text();

    const admin = await makeAdmin();
    const adminClient = browser({ clock });
    await signIn(adminClient, "agent", admin);
    expect(await shown(await adminClient.get(`/agent/admin/agents/${target.id}`))).toContain("Reset MFA");
    const self = await adminClient.post(`/agent/admin/people/${admin.id}/reset-mfa`);
    expect(self.status).toBe(403);
    expect(await shown(self)).toContain("cannot reset your own MFA");
  });

  it("works for contacts too, from the contact's page", async () => {
    await setMfa("support", { authenticatorApp: true, emailOtp: false });
    const clock = fakeClock();
    const contact = await makeContact();
    const contactClient = browser({ clock });
    await enrollThroughPages(contactClient, "support", contact, clock);
    const admin = await makeAdmin();
    const client = browser({ clock });
    await signIn(client, "agent", admin);
    expect(await shown(await client.get(`/agent/admin/contacts/${contact.id}`))).toContain("Reset MFA");
    await (await client.post(`/agent/admin/people/${contact.id}/reset-mfa`)).text();
    expect((await contactClient.get("/support")).status).toBe(303);
    expect((await postPassword(browser({ clock }), "support", contact)).headers.get("Location")).toBe("/support/login/enroll");
    await setMfa("support", { authenticatorApp: false });
  });
});

describe("viewing an agent's recovery codes", () => {
  it("shows which are used, is audited, and emails the agent", async () => {
    await setMfa("agent", { authenticatorApp: true, emailOtp: false });
    const clock = fakeClock();
    const agent = await makeAgent();
    const { recoveryCodes } = await enrollThroughPages(browser({ clock }), "agent", agent, clock);
    const signing = browser({ clock });
    await postPassword(signing, "agent", agent);
    await (await signing.post("/agent/login/verify/recovery", { code: recoveryCodes[2]! })).text();

    await setMfa("agent", { authenticatorApp: false });
    const admin = await makeAdmin();
    const client = browser({ clock });
    await signIn(client, "agent", admin);
    const page = await (await client.get(`/agent/admin/people/${agent.id}/recovery-codes`)).text();
    expect(page).toContain(recoveryCodes[0]);
    expect(findAll(page, "li.used")).toHaveLength(1);
    expect(findAll(page, "li.used > code").map(textIn)).toEqual([recoveryCodes[2]]);
    expect(await auditOf("recovery_codes.viewed", agent.id)).toHaveLength(1);
    const mail = await db().select().from(devMailbox).where(eq(devMailbox.to, agent.email)).all();
    expect(mail.map((m) => m.subject)).toContain("An administrator viewed your EdgeDesk recovery codes");
  });
});

describe("recovery-code requests", () => {
  it("are limited to one every two hours; an admin issues codes the user sees at next sign-in", async () => {
    const clock = fakeClock();
    const admin = await makeAdmin();
    const adminClient = browser({ clock });
    await signIn(adminClient, "agent", admin); // before the app is required ("On next login")
    await setMfa("agent", { authenticatorApp: true, emailOtp: false });
    const agent = await makeAgent();
    const { manualKey } = await enrollThroughPages(browser({ clock }), "agent", agent, clock);
    const client = browser({ clock });
    await postPassword(client, "agent", agent);
    const page = await (await client.get("/agent/login/verify?method=recovery")).text();
    expect(cellText(page)).toContain("Request new recovery codes");
    const first = await client.post("/agent/login/verify/request-codes");
    expect(first.status).toBe(200);
    expect(await shown(first)).toContain("Your request was sent");
    clock.advance(119 * MINUTE);
    const again = browser({ clock });
    await postPassword(again, "agent", agent);
    const second = await again.post("/agent/login/verify/request-codes");
    expect(second.status).toBe(429);
    expect(await shown(second)).toContain("You can ask again at");

    const list = await (await adminClient.get("/agent/admin/recovery-requests")).text();
    expect(findAll(list, '[data-testid="recovery-request"]')).toHaveLength(1);
    const issue = forms(list).find((form) => form.buttons.includes("Issue new codes"));
    expect(issue?.method).toBe("post");
    const requestId = /^\/agent\/admin\/recovery-requests\/(rcr_[a-z2-7]+)\/issue$/.exec(issue!.action)![1]!;
    // New codes are a new way in: the admin, signed in two hours ago, confirms it's them first.
    const stale = await adminClient.post(`/agent/admin/recovery-requests/${requestId}/issue`);
    expect(stale.status).toBe(401);
    expect(await shown(stale)).toContain("your re-authentication is more than 5 minutes old");
    await (await adminClient.post("/agent/reauth", { current: admin.password, next: "/agent/admin/recovery-requests" })).text();
    // Two presses at once: one issues the codes, with one audit row and one notice; the other is told it was answered.
    const presses = await Promise.all(
      [0, 1].map(async () => {
        const r = await adminClient.post(`/agent/admin/recovery-requests/${requestId}/issue`);
        await r.text();
        return r.status;
      }),
    );
    expect(presses.sort()).toEqual([303, 400]);
    const twice = await adminClient.post(`/agent/admin/recovery-requests/${requestId}/issue`);
    expect(twice.status).toBe(400);
    await twice.text();
    const count = async (query: string) => (await env.DB.prepare(query).bind(agent.id).first<{ n: number }>())!.n;
    expect(await count("SELECT count(*) AS n FROM recovery_codes WHERE user_id = ?")).toBe(10);
    expect(await count("SELECT count(*) AS n FROM audit_events WHERE event = 'recovery_codes.issued' AND target_id = ?")).toBe(1);
    expect(
      await count(
        "SELECT count(*) AS n FROM mail_outbox WHERE subject = 'New EdgeDesk recovery codes were issued for you' AND user_id = ?",
      ),
    ).toBe(1);

    clock.advance(2 * MINUTE);
    const next = browser({ clock });
    await postPassword(next, "agent", agent);
    const verified = await next.post("/agent/login/verify/app", { code: totpCode(manualKey, clock.now()) });
    await verified.text();
    expect(verified.headers.get("Location")).toBe("/agent/login/recovery-codes");
    const codes = recoveryCodesIn(await (await next.get("/agent/login/recovery-codes")).text());
    expect(codes).toHaveLength(10);
    await (await next.post("/agent/login/finish")).text();
    // Shown once: the sign-in after that goes straight in.
    clock.advance(MINUTE);
    const later = browser({ clock });
    await postPassword(later, "agent", agent);
    const straight = await later.post("/agent/login/verify/app", { code: totpCode(manualKey, clock.now()) });
    await straight.text();
    expect(straight.headers.get("Location")).toBe("/agent");
    expect(await auditOf("recovery_codes.issued", agent.id)).toHaveLength(1);
    await setMfa("agent", { authenticatorApp: false });
  });
});

describe("the last Administrator", () => {
  it("cannot be demoted or disabled, even by two admins demoting each other at once", async () => {
    // This file's storage has other administrators: demote them all first, through the same path.
    const admin = await makeAdmin();
    const client = browser();
    await signIn(client, "agent", admin);
    await reauth(client, admin.password);
    const others = await db()
      .select()
      .from(users)
      .where(and(eq(users.roleId, "role_administrator"), eq(users.active, true)));
    for (const other of others.filter((o) => o.id !== admin.id)) {
      const r = await client.post(`/agent/admin/agents/${other.id}`, {
        name: other.name,
        email: other.email,
        roleId: "role_agent",
        active: "on",
      });
      await r.text();
    }
    // Nobody changes their own role; and the last Administrator cannot disable themselves either.
    const demote = await client.post(`/agent/admin/agents/${admin.id}`, {
      name: admin.name,
      email: admin.email,
      roleId: "role_agent",
      active: "on",
    });
    expect(demote.status).toBe(403);
    expect(await shown(demote)).toContain("You cannot change your own role");
    const disable = await client.post(`/agent/admin/agents/${admin.id}`, {
      name: admin.name,
      email: admin.email,
      roleId: "role_administrator",
    });
    expect(disable.status).toBe(400);
    expect(await shown(disable)).toContain("This is the last active Administrator");

    const second = await makeAdmin();
    const secondClient = browser();
    await signIn(secondClient, "agent", second);
    await reauth(secondClient, second.password);
    const [a, b] = await Promise.all([
      client.post(`/agent/admin/agents/${second.id}`, { name: second.name, email: second.email, roleId: "role_agent", active: "on" }),
      secondClient.post(`/agent/admin/agents/${admin.id}`, { name: admin.name, email: admin.email, roleId: "role_agent", active: "on" }),
    ]);
    await Promise.all([a.text(), b.text()]);
    // One wins; the other is refused by the guard (400) or, if the winner demoted its sender first, by permission (403).
    expect([a.status, b.status].filter((s) => s === 303)).toHaveLength(1);
    expect([a.status, b.status].filter((s) => s === 400 || s === 403)).toHaveLength(1);
    const left = await db()
      .select()
      .from(users)
      .where(and(eq(users.roleId, "role_administrator"), eq(users.active, true)));
    expect(left).toHaveLength(1);
  });

  it("keeps the built-in Administrator role whole and undeletable", async () => {
    const admin = await makeAdmin();
    const client = browser();
    await signIn(client, "agent", admin);
    const edit = await client.post("/agent/admin/roles/role_administrator", { name: "Admins", permissions: "viewAssets" });
    expect(edit.status).toBe(403);
    expect(await shown(edit)).toContain("always has every permission");
    const del = await client.post("/agent/admin/roles/role_administrator/delete");
    expect(del.status).toBe(400);
    await del.text();
    expect((await db().select().from(roles).where(eq(roles.id, "role_administrator")).get())?.name).toBe("Administrator");
  });
});

describe("agents and roles", () => {
  it("creates an agent with a policy-checked password, and a custom role's permissions apply at once", async () => {
    const admin = await makeAdmin();
    // One time for both: a role's save answers once every isolate's copy has expired.
    const clock = fakeClock();
    const client = browser({ clock });
    await signIn(client, "agent", admin);
    await reauth(client, admin.password);
    const weak = await client.post("/agent/admin/agents/new", {
      name: "Nia New",
      email: "nia@example.com",
      roleId: "role_agent",
      password: "password1",
    });
    expect(weak.status).toBe(400);
    const weakHtml = await weak.text();
    expect(weakHtml).toContain("most commonly used");
    // Refused as a whole, the form keeps what was typed (never the password).
    expect(labelled(weakHtml, "Name")?.getAttribute("value")).toBe("Nia New");
    expect(labelled(weakHtml, "Email")?.getAttribute("value")).toBe("nia@example.com");
    expect(weakHtml).not.toContain("password1");
    // Every field's problem at once, beside its field, with what was typed (but the password) kept.
    const empty = await client.post("/agent/admin/agents/new", { name: "", email: "not an email", roleId: "role_agent", password: "" });
    expect(empty.status).toBe(400);
    const emptyHtml = await empty.text();
    expect(Object.keys(fieldErrors(emptyHtml)).sort()).toEqual(["email", "name", "password"]);
    expect(labelled(emptyHtml, "Email")?.getAttribute("value")).toBe("not an email");
    expect(cellText(emptyHtml)).toContain("3 fields need attention: see the messages beside them.");
    const made = await client.post("/agent/admin/agents/new", {
      name: "Nia New",
      email: "nia@example.com",
      roleId: "role_agent",
      password: "copper kettle whistles",
    });
    await made.text();
    expect(made.headers.get("Location")).toBe("/agent/admin/agents?created=1");
    const nia = await db().select().from(users).where(eq(users.email, "nia@example.com")).get();
    const niaClient = browser({ clock });
    await signIn(niaClient, "agent", { email: "nia@example.com", password: "copper kettle whistles" });
    expect((await niaClient.get("/agent/settings/security")).status).toBe(403);

    const role = await client.post("/agent/admin/roles/new", { name: "Security desk", permissions: "manageAuthentication" });
    await role.text();
    const roleId = (await db().select().from(roles).where(eq(roles.name, "Security desk")).get())!.id;
    await (await client.post(`/agent/admin/agents/${nia!.id}`, { name: "Nia New", email: "nia@example.com", roleId, active: "on" })).text();
    expect((await niaClient.get("/agent/settings/security")).status).toBe(200);
    const inUse = await client.post(`/agent/admin/roles/${roleId}/delete`);
    expect(inUse.status).toBe(400);
    expect(await shown(inUse)).toContain("Agents still have this role");

    // Disabling ends the agent's sessions at once.
    await (await client.post(`/agent/admin/agents/${nia!.id}`, { name: "Nia New", email: "nia@example.com", roleId })).text();
    expect((await niaClient.get("/agent")).status).toBe(303);
    expect(await auditOf("user.created", nia!.id)).toHaveLength(1);
    expect((await auditOf("user.updated", nia!.id)).length).toBe(2);
  });

  it("refuses bad input without writing: unknown role, unknown group, duplicate email", async () => {
    const admin = await makeAdmin();
    const other = await makeAgent();
    const client = browser();
    await signIn(client, "agent", admin);
    await reauth(client, admin.password);
    const before = await db().select().from(users).where(eq(users.id, other.id)).get();
    for (const [form, message] of [
      [{ roleId: "role_nope" }, "Choose a role that exists."],
      [{ groupIds: "grp_nope" }, "One of the chosen groups does not exist."],
      [{ email: admin.email }, "Another agent already uses this email."],
    ] as const) {
      const r = await client.post(
        `/agent/admin/agents/${other.id}`,
        Object.assign({ name: other.name, email: other.email, roleId: "role_agent", active: "on" }, form),
      );
      expect(r.status).toBe(400);
      expect(await shown(r)).toContain(message);
    }
    expect(await db().select().from(users).where(eq(users.id, other.id)).get()).toEqual(before);
  });
});
