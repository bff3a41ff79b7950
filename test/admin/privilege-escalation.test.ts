// The reproduction: an agent whose role holds only "Manage Agents, Groups and Roles"
// tries to make itself Administrator, to add permissions to its own role, to take over an
// Administrator by setting their password or email, and to rename them or change their groups.
// Each step is refused with a sentence, audited, and changes nothing; the forms offer only what the
// agent may give, and someone holding more is shown read-only.
import { and, desc, eq } from "drizzle-orm";
import { beforeAll, describe, expect, it } from "vitest";
import { auditEvents, devMailbox, groupMembers, roles, users } from "../../src/db/schema";
import { MINUTE } from "../../src/lib/clock";
import { browser, type Browser, fakeClock } from "../helpers/app";
import { signIn } from "../helpers/auth";
import { db, makeAdmin, makeAgent } from "../helpers/factories";
import { makeGroup } from "../helpers/inventory";
import { setMfa } from "../helpers/mfa";
import { makeRole } from "../helpers/roles";
import { cellText, find, findAll, labelled, optionsOf, shown } from "../helpers/html";

async function post(client: Browser, path: string, form: Record<string, string | string[]>) {
  const body = new URLSearchParams();
  for (const [k, v] of Object.entries(form)) for (const one of [v].flat()) body.append(k, one);
  const response = await client.request(path, { method: "POST", body });
  return { status: response.status, text: await shown(response) };
}

async function reauth(client: Browser, password: string) {
  expect((await post(client, "/agent/reauth", { current: password, next: "/agent" })).status).toBe(303);
}

const row = (id: string) => db().select().from(users).where(eq(users.id, id)).get();
const groupsOf = async (id: string) =>
  (await db().select().from(groupMembers).where(eq(groupMembers.agentId, id))).map((m) => m.groupId).sort();
const refusals = (actorId: string) =>
  db()
    .select()
    .from(auditEvents)
    .where(and(eq(auditEvents.event, "access.refused"), eq(auditEvents.actorId, actorId)));
const mailsTo = (to: string) => db().select().from(devMailbox).where(eq(devMailbox.to, to)).orderBy(desc(devMailbox.id));

beforeAll(() => setMfa("agent", { authenticatorApp: false, emailOtp: false }));

describe("an agent-manager cannot raise themselves or take over an Administrator", () => {
  it("refuses every step of the reproduction, with a reason, and writes nothing", async () => {
    const managerRole = await makeRole(["manageAgents"]);
    const manager = await makeAgent({ roleId: managerRole });
    const admin = await makeAdmin();
    const client = browser();
    await signIn(client, "agent", manager);
    await reauth(client, manager.password);

    const own = await post(client, `/agent/admin/agents/${manager.id}`, {
      name: manager.name,
      email: manager.email,
      roleId: "role_administrator",
      active: "on",
    });
    expect(own.status).toBe(403);
    expect(cellText(own.text)).toContain("You cannot change your own role");
    expect((await row(manager.id))!.roleId).toBe(managerRole);

    const grantSelf = await post(client, `/agent/admin/roles/${managerRole}`, {
      name: "Managers",
      permissions: ["manageAgents", "manageRecoveryAndMfaReset", "manageAuthentication"],
    });
    expect(grantSelf.status).toBe(403);
    expect(grantSelf.text).toContain("You cannot change the role you hold");
    expect((await db().select().from(roles).where(eq(roles.id, managerRole)).get())!.permissions).toEqual(["manageAgents"]);

    const before = await row(admin.id);
    const password = await post(client, `/agent/admin/agents/${admin.id}/password`, { password: "a password the attacker knows" });
    expect(password.status).toBe(403);
    expect(password.text).toContain("This agent holds permissions you don't have");
    const email = await post(client, `/agent/admin/agents/${admin.id}`, {
      name: admin.name,
      email: "attacker@example.com",
      roleId: "role_administrator",
      active: "on",
    });
    expect(email.status).toBe(403);
    const disable = await post(client, `/agent/admin/agents/${admin.id}`, {
      name: admin.name,
      email: admin.email,
      roleId: "role_administrator",
    });
    expect(disable.status).toBe(403);
    // Nor anything else about them: not their name, not their groups.
    const team = await makeGroup([admin.id]);
    const otherTeam = await makeGroup();
    const rename = await post(client, `/agent/admin/agents/${admin.id}`, {
      name: "Ada Renamed",
      email: admin.email,
      roleId: "role_administrator",
      groupIds: team,
      active: "on",
    });
    expect(rename.status).toBe(403);
    expect(rename.text).toContain(
      "This agent holds permissions you don't have (“Access to Agent & Contact Authentication”, “Access to Agent Recovery Code and Reset MFA”, “View " +
        "Assets”, “Manage Assets”, Administrator), so you cannot change their name.",
    );
    const regroup = await post(client, `/agent/admin/agents/${admin.id}`, {
      name: admin.name,
      email: admin.email,
      roleId: "role_administrator",
      groupIds: otherTeam,
      active: "on",
    });
    expect(regroup.status).toBe(403);
    expect(cellText(regroup.text)).toContain("so you cannot change their groups.");
    const everything = await post(client, `/agent/admin/agents/${admin.id}`, {
      name: "Ada Renamed",
      email: "attacker@example.com",
      roleId: managerRole,
      groupIds: [team, otherTeam],
    });
    expect(everything.status).toBe(403);
    expect(cellText(everything.text)).toContain("so you cannot change their name, groups, role, email and active state.");
    expect(await row(admin.id)).toEqual(before);
    expect(await groupsOf(admin.id)).toEqual([team]);

    // A role the manager does not fully hold cannot be given to anyone, even a new agent.
    const richer = await makeRole(["manageAgents", "manageAuthentication"]);
    const other = await makeAgent({ roleId: await makeRole([]) });
    const give = await post(client, `/agent/admin/agents/${other.id}`, {
      name: other.name,
      email: other.email,
      roleId: richer,
      active: "on",
    });
    expect(give.status).toBe(403);
    expect(give.text).toContain("includes permissions you don't have");
    const made = await post(client, "/agent/admin/agents/new", {
      name: "Sock Puppet",
      email: "puppet@example.com",
      roleId: "role_administrator",
      password: "a long enough first passphrase",
    });
    expect(made.status).toBe(403);
    expect(cellText(made.text)).toContain("Only an Administrator can make someone an Administrator");
    expect(await db().select().from(users).where(eq(users.email, "puppet@example.com")).get()).toBeUndefined();
    const newRole = await post(client, "/agent/admin/roles/new", {
      name: "Escalator",
      permissions: ["manageAgents", "manageRecoveryAndMfaReset"],
    });
    expect(newRole.status).toBe(403);
    expect(await db().select().from(roles).where(eq(roles.name, "Escalator")).get()).toBeUndefined();

    // Every refusal is in the audit log, with what was tried and why.
    const audited = await refusals(manager.id);
    expect(audited.map((e) => (e.details as { action: string }).action).sort()).toEqual(
      [
        "change a role",
        "change an agent",
        "change an agent",
        "change an agent",
        "change an agent",
        "change an agent",
        "change an agent",
        "change an agent",
        "create a role",
        "create an agent",
        "set an agent's password",
      ].sort(),
    );
  });

  it("offers only the roles and permissions the agent may give, the rest shown disabled with the reason", async () => {
    const managerRole = await makeRole(["manageAgents", "viewAssets"]);
    const manager = await makeAgent({ roleId: managerRole });
    const viewers = await makeRole(["viewAssets"]);
    const target = await makeAgent({ roleId: viewers });
    const client = browser();
    await signIn(client, "agent", manager);
    const page = await (await client.get(`/agent/admin/agents/${target.id}`)).text();
    const role = labelled(page, "Role");
    expect(role?.getAttribute("id")).toBe("field-roleId");
    const roleOptions = optionsOf(role!);
    expect(roleOptions).toContainEqual({
      value: "role_administrator",
      text: "Administrator (not yours to give)",
      selected: false,
      disabled: true,
    });
    expect(roleOptions).toContainEqual({ value: viewers, text: `Role ${viewers}`, selected: true, disabled: false });
    // The built-in Agent role holds Manage Assets, which this manager lacks.
    expect(roleOptions).toContainEqual({ value: "role_agent", text: "Agent (not yours to give)", selected: false, disabled: true });
    expect(cellText(page)).toContain("Only an Administrator can make someone an Administrator.");
    expect(cellText(page)).toContain("The role Agent includes permissions you don't have (“Manage Assets”), so you cannot give it.");
    // Someone holding more than the manager: every field of the form is locked, with the reason once and no Save.
    await makeGroup();
    const richerAgent = await makeAgent();
    const lockedPage = await (await client.get(`/agent/admin/agents/${richerAgent.id}`)).text();
    expect(cellText(lockedPage)).toContain(
      "This agent holds permissions you don't have (“Manage Assets”), so you cannot change their name, groups, role, email or active state.",
    );
    expect(find(lockedPage, `[action="/agent/admin/agents/${richerAgent.id}"]`)).toBeNull();
    const name = labelled(lockedPage, "Name");
    expect([name?.getAttribute("id"), name?.getAttribute("name"), name?.hasAttribute("readonly")]).toEqual(["field-name", "name", true]);
    const email = labelled(lockedPage, "Email");
    expect([email?.getAttribute("id"), email?.getAttribute("name"), email?.hasAttribute("readonly")]).toEqual([
      "field-email",
      "email",
      true,
    ]);
    const lockedRole = labelled(lockedPage, "Role");
    expect([lockedRole?.tagName.toLowerCase(), lockedRole?.getAttribute("id"), lockedRole?.hasAttribute("disabled")]).toEqual([
      "select",
      "field-roleId",
      true,
    ]);
    const groups = findAll(lockedPage, 'input[type="checkbox"][id^="group-"]');
    expect(groups.length).toBeGreaterThan(0);
    expect(groups.filter((box) => !box.hasAttribute("disabled"))).toEqual([]);
    const active = labelled(lockedPage, "Active (can sign in)");
    expect([active?.getAttribute("type"), active?.getAttribute("id"), active?.hasAttribute("disabled")]).toEqual([
      "checkbox",
      "field-active",
      true,
    ]);
    expect(cellText(lockedPage)).not.toMatch(/\bSave\b/);

    const ownPage = await (await client.get(`/agent/admin/agents/${manager.id}`)).text();
    expect(cellText(ownPage)).toContain("You cannot change your own role. Ask another administrator.");
    expect(find(ownPage, 'select[name="roleId"]')).toBeNull();
    expect(labelled(ownPage, "Role")?.hasAttribute("disabled")).toBe(true);

    const roleForm = await (await client.get("/agent/admin/roles/new")).text();
    const viewAssets = labelled(roleForm, "View Assets");
    expect([
      viewAssets?.getAttribute("type"),
      viewAssets?.getAttribute("id"),
      viewAssets?.getAttribute("name"),
      viewAssets?.getAttribute("value"),
    ]).toEqual(["checkbox", "perm-viewAssets", "permissions", "viewAssets"]);
    expect(viewAssets?.hasAttribute("disabled")).toBe(false);
    const manageAuthentication = labelled(roleForm, "Access to Agent & Contact Authentication");
    expect(manageAuthentication?.getAttribute("id")).toBe("perm-manageAuthentication");
    expect(manageAuthentication?.hasAttribute("disabled")).toBe(true);
    expect(cellText(roleForm)).toContain("You don't hold this permission, so you cannot grant it.");
    const ownRole = await (await client.get(`/agent/admin/roles/${managerRole}`)).text();
    expect(ownRole).toContain("You cannot change the role you hold.");
    expect(ownRole).not.toContain("Save role");
  });

  it("asks for a re-authentication within 5 minutes for role grants, role changes and email changes, and tells the person", async () => {
    const clock = fakeClock();
    const admin = await makeAdmin();
    const target = await makeAgent();
    const role = await makeRole(["viewAssets"]);
    const holder = await makeAgent({ roleId: role });
    const client = browser({ clock });
    await signIn(client, "agent", admin);
    // Signing in counts as confirming; 5 minutes later it no longer does.
    clock.advance(5 * MINUTE + 1);

    const stale = await post(client, `/agent/admin/agents/${target.id}`, {
      name: target.name,
      email: target.email,
      roleId: role,
      active: "on",
    });
    expect(stale.status).toBe(401);
    expect(stale.text).toContain("Confirm it's you first");
    expect((await row(target.id))!.roleId).toBe("role_agent");
    // A name or group change needs no re-authentication.
    expect(
      (
        await post(client, `/agent/admin/agents/${target.id}`, {
          name: "Renamed Agent",
          email: target.email,
          roleId: "role_agent",
          active: "on",
        })
      ).status,
    ).toBe(303);

    await reauth(client, admin.password);
    expect(
      (await post(client, `/agent/admin/agents/${target.id}`, { name: "Renamed Agent", email: target.email, roleId: role, active: "on" }))
        .status,
    ).toBe(303);
    expect((await mailsTo(target.email))[0]!.subject).toBe("Your EdgeDesk role changed");
    expect((await mailsTo(target.email))[0]!.body).toContain(`gave you the role Role ${role}`);

    expect(
      (await post(client, `/agent/admin/roles/${role}`, { name: "Asset viewers", permissions: ["viewAssets", "manageAssets"] })).status,
    ).toBe(303);
    expect((await mailsTo(holder.email))[0]!.subject).toBe("The permissions of your EdgeDesk role changed");

    const moved = `moved-${crypto.randomUUID().slice(0, 8)}@example.com`;
    expect(
      (await post(client, `/agent/admin/agents/${target.id}`, { name: "Renamed Agent", email: moved, roleId: role, active: "on" })).status,
    ).toBe(303);
    expect((await mailsTo(target.email))[0]!.subject).toBe("The email of your EdgeDesk account changed");
    expect((await mailsTo(moved))[0]!.body).toContain(`from ${target.email} to ${moved}`);

    expect((await post(client, `/agent/admin/agents/${target.id}/password`, { password: "an admin-chosen passphrase" })).status).toBe(303);
    expect((await mailsTo(moved))[0]!.subject).toBe("Your EdgeDesk password was set by an administrator");

    clock.advance(5 * MINUTE + 1);
    const late = await post(client, `/agent/admin/roles/${role}`, { name: "Asset viewers", permissions: ["viewAssets"] });
    expect(late.status).toBe(401);
    expect((await db().select().from(roles).where(eq(roles.id, role)).get())!.permissions).toEqual(["viewAssets", "manageAssets"]);
    const assigned = await db()
      .select()
      .from(auditEvents)
      .where(and(eq(auditEvents.event, "role.assigned"), eq(auditEvents.targetId, target.id)));
    expect(assigned.map((e) => e.details)).toEqual([{ from: "role_agent", to: role }]);
  });

  it("keeps an MFA reset and the recovery codes of someone holding more out of reach", async () => {
    const recoveryRole = await makeRole(["manageRecoveryAndMfaReset", "manageAgents"]);
    const helper = await makeAgent({ roleId: recoveryRole });
    const admin = await makeAdmin();
    const client = browser();
    await signIn(client, "agent", helper);
    await reauth(client, helper.password);
    expect((await post(client, `/agent/admin/people/${admin.id}/reset-mfa`, {})).status).toBe(403);
    const codes = await client.get(`/agent/admin/people/${admin.id}/recovery-codes`);
    expect(codes.status).toBe(403);
    expect(await shown(codes)).toContain("so you cannot view their recovery codes");
  });
});
