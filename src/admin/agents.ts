import { and, asc, count, eq, inArray, ne, sql } from "drizzle-orm";
import { type AuditOrigin, auditInsert, auditInsertWhere } from "../audit/events";
import { AFTER_ONE_CHANGE, type Recording, recorded } from "../audit/recording";
import { changedAny, type Db } from "../db";
import { groupMembers, groups, passwordHistory, roles, users } from "../db/schema";
import { hashPassword, scryptParamsFor } from "../auth/password";
import { passwordHistoryMac } from "../auth/password-change";
import { checkNewPassword } from "../auth/password-policy";
import { endAllSessionsOfUser } from "../auth/sessions";
import { userStub } from "../auth/user-object";
import { findUserByEmail, newUserRow, normalizeEmail } from "../auth/users";
import type { PasswordPolicy } from "../portal/policy";
import type { Permission } from "../access/permissions";
import { ADMIN_ROLE_ID, type Holder, mayAssignRole, mayChangeRole, mayManagePerson, type RoleShape } from "../access/grants";

export { ADMIN_ROLE_ID };

/** A refusal says why, and with which status: 400 bad input, 403 beyond the actor's permissions, 404 no such record, 409 changed meanwhile. */
export type Result<T = void> = { ok: true; value: T } | { ok: false; message: string; status?: 400 | 401 | 403 | 404 | 409 };

const refused = (message: string) => ({ ok: false as const, message, status: 403 as const });

/** SECURITY.md 31: role grants, permission changes and another person's email or password need a re-authentication this recent. */
export const REAUTH_FIRST =
  "Confirm it's you first: changing a role, an email or a password needs a re-authentication in the last 5 minutes.";
const reauthFirst = { ok: false as const, message: REAUTH_FIRST, status: 401 as const };

/** The person as the access rule sees them: id, role, and that role's permissions, read now. */
export async function holderOf(
  db: Db,
  userId: string,
): Promise<(Holder & { kind: "agent" | "contact"; email: string; name: string; active: boolean }) | null> {
  const row = await db
    .select({
      id: users.id,
      kind: users.kind,
      email: users.email,
      name: users.name,
      active: users.active,
      roleId: users.roleId,
      permissions: roles.permissions,
    })
    .from(users)
    .leftJoin(roles, eq(roles.id, users.roleId))
    .where(eq(users.id, userId))
    .get();
  return row ? { ...row, permissions: row.permissions ?? [] } : null;
}

async function roleShape(db: Db, roleId: string): Promise<RoleShape | null> {
  return (
    (await db.select({ id: roles.id, name: roles.name, permissions: roles.permissions }).from(roles).where(eq(roles.id, roleId)).get()) ??
    null
  );
}

export async function listAgents(db: Db) {
  const [agents, memberships] = await db.batch([
    // Aliased: D1's batch maps rows by column name, and users.name and roles.name would collide (drizzle-team/drizzle-orm#6038).
    db
      .select({
        id: users.id,
        name: users.name,
        email: users.email,
        active: users.active,
        roleId: users.roleId,
        roleName: sql<string | null>`${roles.name}`.as("role_name"),
      })
      .from(users)
      .leftJoin(roles, eq(roles.id, users.roleId))
      .where(eq(users.kind, "agent"))
      .orderBy(asc(users.name)),
    db
      .select({ agentId: groupMembers.agentId, name: sql<string>`${groups.name}`.as("group_name") })
      .from(groupMembers)
      .innerJoin(groups, eq(groups.id, groupMembers.groupId)),
  ]);
  return agents.map((a) => ({ ...a, groups: memberships.filter((m) => m.agentId === a.id).map((m) => m.name) }));
}

export async function listContacts(db: Db) {
  return db
    .select({ id: users.id, name: users.name, email: users.email, active: users.active })
    .from(users)
    .where(eq(users.kind, "contact"))
    .orderBy(asc(users.name))
    .limit(500);
}

export async function listRoles(db: Db) {
  const rows = await db
    .select({ id: roles.id, name: roles.name, builtin: roles.builtin, permissions: roles.permissions, agents: count(users.id) })
    .from(roles)
    .leftJoin(users, eq(users.roleId, roles.id))
    .groupBy(roles.id)
    .orderBy(sql`${roles.builtin} IS NULL`, asc(roles.name));
  return rows;
}

export async function listGroups(db: Db) {
  return db.select().from(groups).orderBy(asc(groups.name));
}

export async function groupIdsOf(db: Db, agentId: string): Promise<string[]> {
  return (await db.select({ id: groupMembers.groupId }).from(groupMembers).where(eq(groupMembers.agentId, agentId))).map((r) => r.id);
}

async function validRoleAndGroups(db: Db, roleId: string, groupIds: string[]): Promise<string | null> {
  const role = await db.select({ id: roles.id }).from(roles).where(eq(roles.id, roleId)).get();
  if (!role) return "Choose a role that exists.";
  if (groupIds.length > 0) {
    const found = await db.select({ id: groups.id }).from(groups).where(inArray(groups.id, groupIds));
    if (found.length !== new Set(groupIds).size) return "One of the chosen groups does not exist.";
  }
  return null;
}

export interface AgentInput {
  name: string;
  email: string;
  roleId: string;
  groupIds: string[];
}

/** An admin creates an agent with a first password, which meets the agents' password policy, and a role the admin may give. */
export async function createAgent(
  env: Env,
  db: Db,
  actor: Holder,
  input: AgentInput & { password: string },
  policy: PasswordPolicy,
  now: number,
  fresh: boolean,
  origin: AuditOrigin,
): Promise<Result<string>> {
  const problem = await validRoleAndGroups(db, input.roleId, input.groupIds);
  if (problem) return { ok: false, message: problem };
  const grant = mayAssignRole(actor, null, (await roleShape(db, input.roleId))!);
  if (!grant.ok) return refused(grant.message);
  if (await findUserByEmail(db, "agent", input.email)) return { ok: false, message: "An agent with this email already exists." };
  const weakness = checkNewPassword(input.password, policy, input);
  if (weakness) return { ok: false, message: weakness };
  if (!fresh) return reauthFirst;
  const row = newUserRow({
    kind: "agent",
    email: input.email,
    name: input.name,
    passwordHash: await hashPassword(input.password, scryptParamsFor(env)),
    roleId: input.roleId,
    now,
  });
  await db.batch([
    db.insert(users).values(row),
    db.insert(passwordHistory).values({ userId: row.id, mac: await passwordHistoryMac(env, row.id, input.password), createdAt: now }),
    ...(input.groupIds.length
      ? [db.insert(groupMembers).values([...new Set(input.groupIds)].map((groupId) => ({ groupId, agentId: row.id })))]
      : []),
    // In the agent's own batch: nobody exists without the record of who made them, and with what role.
    auditInsert(
      db,
      {
        event: "user.created",
        portal: "agent",
        actorId: actor.id,
        targetId: row.id,
        details: { email: input.email, roleId: input.roleId },
      },
      origin,
    ),
  ]);
  return { ok: true, value: row.id };
}

/** Which fields of the agent form an edit changes: every one is within the access rule; role, email and active state also need a re-authentication. */
export interface AgentChanges {
  name: boolean;
  groups: boolean;
  role: boolean;
  email: boolean;
  active: boolean;
}

export function agentChanges(
  target: { name: string; roleId: string | null; email: string; active: boolean; groupIds: readonly string[] },
  input: AgentInput & { active: boolean },
): AgentChanges {
  const asked = new Set(input.groupIds);
  return {
    name: target.name !== input.name.trim(),
    groups: asked.size !== target.groupIds.length || target.groupIds.some((id) => !asked.has(id)),
    role: target.roleId !== input.roleId,
    email: target.email !== normalizeEmail(input.email),
    active: target.active !== input.active,
  };
}

const FIELD_NAMES: Record<keyof AgentChanges, string> = {
  name: "name",
  groups: "groups",
  role: "role",
  email: "email",
  active: "active state",
};

/** "change their name and groups": what a refused edit asked for, in the refusal's words. */
function changesText(changes: AgentChanges): string {
  const fields = (Object.keys(FIELD_NAMES) as (keyof AgentChanges)[]).filter((f) => changes[f]).map((f) => FIELD_NAMES[f]);
  if (fields.length === 0) return "edit them";
  return `change their ${fields.length === 1 ? fields[0] : `${fields.slice(0, -1).join(", ")} and ${fields.at(-1)}`}`;
}

/**
 * Update an agent, within the access rule: nothing at all about someone holding more than the
 * actor changes (asked before the input is even validated), and a new role must be one the actor
 * may give. The UPDATE holds only while the agent still has the role the rule was checked against,
 * and that role still has the same permissions (a promotion in between refuses it); demoting or
 * disabling the last active Administrator is refused inside the same statement, so two admins
 * demoting each other at once cannot both succeed.
 * A disabled agent's sessions end; the agent's cached profile is refreshed either way.
 */
export async function updateAgent(
  env: Env,
  db: Db,
  actor: Holder,
  agentId: string,
  input: AgentInput & { active: boolean },
  now: number,
  fresh: boolean,
  record: Recording<AgentChanges>,
): Promise<Result<{ changes: AgentChanges; mailIds: string[] }>> {
  const target = await holderOf(db, agentId);
  if (target?.kind !== "agent") return { ok: false, message: "That agent does not exist.", status: 404 };
  const changes = agentChanges({ ...target, groupIds: await groupIdsOf(db, agentId) }, input);
  // SECURITY.md 31: whoever may not change someone's role may not change anything else about them either.
  const allowed = mayManagePerson(actor, target, changesText(changes));
  if (!allowed.ok) return refused(allowed.message);
  const problem = await validRoleAndGroups(db, input.roleId, input.groupIds);
  if (problem) return { ok: false, message: problem };
  if (changes.role) {
    const grant = mayAssignRole(actor, target, (await roleShape(db, input.roleId))!);
    if (!grant.ok) return refused(grant.message);
  }
  const email = normalizeEmail(input.email);
  const clash = await findUserByEmail(db, "agent", email);
  if (clash && clash.id !== agentId) return { ok: false, message: "Another agent already uses this email." };
  // Who may sign in, and as whom (SECURITY.md 39): a name or groups change needs no confirmation.
  if ((changes.role || changes.email || changes.active) && !fresh) return reauthFirst;
  const staysAdmin = input.roleId === ADMIN_ROLE_ID && input.active;
  // The agent's role still grants what the rule saw: a role gaining a permission in between refuses the edit.
  const roleAsChecked =
    target.roleId === null
      ? sql`1`
      : sql`(SELECT json(permissions) FROM roles WHERE id = ${target.roleId}) = json(${JSON.stringify(target.permissions)})`;
  // Memberships change only if the update did: "the row now holds what was asked for", under the same role check.
  const applied = sql`(EXISTS (SELECT 1 FROM users WHERE id = ${agentId} AND role_id = ${input.roleId} AND active = ${input.active ? 1 : 0} AND email = ${email}) AND ${roleAsChecked})`;
  // The audit rows and notices of the edit, right after it: stored only if it changed the row.
  const told = await recorded(env, db, record, changes, now, AFTER_ONE_CHANGE);
  const [updated] = await db.batch([
    db
      .update(users)
      .set({ name: input.name.trim(), email, roleId: input.roleId, active: input.active, updatedAt: now })
      .where(
        and(
          eq(users.id, agentId),
          eq(users.kind, "agent"),
          sql`${users.roleId} IS ${target.roleId}`,
          roleAsChecked,
          staysAdmin
            ? sql`1`
            : sql`(${users.roleId} IS NOT ${ADMIN_ROLE_ID} OR ${users.active} = 0 OR
                (SELECT count(*) FROM users AS other WHERE other.role_id = ${ADMIN_ROLE_ID} AND other.active = 1 AND other.id != ${agentId}) > 0)`,
        ),
      ),
    ...told.statements,
    db.delete(groupMembers).where(and(eq(groupMembers.agentId, agentId), applied)),
    db.insert(groupMembers).select(
      db
        .select({ groupId: sql<string>`value`.as("group_id"), agentId: sql<string>`${agentId}`.as("agent_id") })
        .from(sql`json_each(${JSON.stringify([...new Set(input.groupIds)])})`)
        .where(applied),
    ),
  ]);
  if (!changedAny(updated)) {
    const current = await holderOf(db, agentId);
    if (current && current.roleId !== target.roleId)
      return { ok: false, message: "Someone changed this agent's role meanwhile. Reload the page and try again.", status: 409 };
    if (current && JSON.stringify(current.permissions) !== JSON.stringify(target.permissions)) {
      return {
        ok: false,
        message: "Someone changed the permissions of this agent's role meanwhile. Reload the page and try again.",
        status: 409,
      };
    }
    return { ok: false, message: "This is the last active Administrator: make someone else an Administrator first." };
  }
  const stub = userStub(env, agentId);
  await stub.refreshProfile();
  if (!input.active) await endAllSessionsOfUser(env, agentId);
  return { ok: true, value: { changes, mailIds: told.ids } };
}

export async function setContactActive(
  env: Env,
  db: Db,
  actor: Holder,
  contactId: string,
  active: boolean,
  now: number,
  record: Recording<boolean>,
): Promise<Result> {
  const contact = await holderOf(db, contactId);
  if (contact?.kind !== "contact") return { ok: false, message: "That contact does not exist.", status: 404 };
  const allowed = mayManagePerson(actor, contact, active ? "enable them" : "disable them");
  if (!allowed.ok) return refused(allowed.message);
  const told = await recorded(env, db, record, active, now, AFTER_ONE_CHANGE);
  const [result] = await db.batch([
    db
      .update(users)
      .set({ active, updatedAt: now })
      .where(and(eq(users.id, contactId), eq(users.kind, "contact"))),
    ...told.statements,
  ]);
  if (!changedAny(result)) return { ok: false, message: "That contact does not exist." };
  await userStub(env, contactId).refreshProfile();
  if (!active) await endAllSessionsOfUser(env, contactId);
  return { ok: true, value: undefined };
}

export interface RoleInput {
  name: string;
  permissions: Permission[];
}

/**
 * Roles: the built-in Administrator keeps every permission and cannot be deleted. A role is
 * created or changed only with permissions the actor holds (before and after), never the
 * actor's own; the UPDATE holds only while the role still has the permissions checked.
 */
export async function saveRole(
  env: Env,
  db: Db,
  actor: Holder,
  roleId: string | null,
  input: RoleInput,
  now: number,
  fresh: boolean,
  record: Recording<string>,
): Promise<Result<{ id: string; mailIds: string[] }>> {
  const clash = await db
    .select({ id: roles.id })
    .from(roles)
    .where(eq(sql`lower(${roles.name})`, input.name.trim().toLowerCase()))
    .get();
  if (clash && clash.id !== roleId) return { ok: false, message: "A role with this name already exists." };
  let id = roleId;
  if (roleId === null) {
    const allowed = mayChangeRole(actor, null, null, input.permissions);
    if (!allowed.ok) return refused(allowed.message);
    if (!fresh) return reauthFirst;
    id = `role_${crypto.randomUUID().replaceAll("-", "").slice(0, 16)}`;
    const told = await recorded(env, db, record, id, now, AFTER_ONE_CHANGE);
    await db.batch([
      db.insert(roles).values({ id, name: input.name.trim(), builtin: null, permissions: input.permissions, createdAt: now }),
      ...told.statements,
    ]);
    return { ok: true, value: { id, mailIds: told.ids } };
  } else {
    const role = await db.select().from(roles).where(eq(roles.id, roleId)).get();
    if (!role) return { ok: false, message: "That role does not exist.", status: 404 };
    if (role.builtin === "administrator")
      return { ok: false, message: "The Administrator role always has every permission and keeps its name.", status: 403 };
    const allowed = mayChangeRole(actor, roleId, role.permissions, input.permissions);
    if (!allowed.ok) return refused(allowed.message);
    if (!fresh) return reauthFirst;
    // Recorded right after the compare-and-swap below, only if it changed the role.
    const told = await recorded(env, db, record, roleId, now, AFTER_ONE_CHANGE);
    const [result] = await db.batch([
      db
        .update(roles)
        .set({ name: input.name.trim(), permissions: input.permissions })
        .where(and(eq(roles.id, roleId), sql`json(${roles.permissions}) = json(${JSON.stringify(role.permissions)})`)),
      ...told.statements,
    ]);
    if (!changedAny(result))
      return { ok: false, message: "Someone changed this role meanwhile. Reload the page and try again.", status: 409 };
    return { ok: true, value: { id: roleId, mailIds: told.ids } };
  }
}

export async function deleteRole(db: Db, actor: Holder, roleId: string, fresh: boolean, origin: AuditOrigin): Promise<Result> {
  const role = await db.select().from(roles).where(eq(roles.id, roleId)).get();
  if (!role) return { ok: false, message: "That role does not exist.", status: 404 };
  if (role.builtin) return { ok: false, message: `The built-in ${role.name} role cannot be deleted.` };
  const allowed = mayChangeRole(actor, roleId, role.permissions, null);
  if (!allowed.ok) return refused(allowed.message);
  if (!fresh) return reauthFirst;
  // Only while no agent holds it: the delete and the check are one statement. Its audit entry is
  // in the same batch, stored only if this delete removed the role: the two land together or not
  // at all, and of two admins deleting it at once only the one who did is recorded.
  const [result] = await db.batch([
    db.delete(roles).where(and(eq(roles.id, roleId), sql`NOT EXISTS (SELECT 1 FROM users WHERE role_id = ${roleId})`)),
    auditInsertWhere(db, { event: "role.deleted", portal: "agent", actorId: actor.id, targetId: roleId }, origin, AFTER_ONE_CHANGE),
  ]);
  if (!changedAny(result)) {
    // Nothing deleted: someone else deleted it a moment ago, or agents hold it.
    const still = await db.select({ id: roles.id }).from(roles).where(eq(roles.id, roleId)).get();
    if (!still) return { ok: false, message: "That role does not exist.", status: 404 };
    return { ok: false, message: "Agents still have this role: give them another role first." };
  }
  return { ok: true, value: undefined };
}

/** The agents holding a role (to tell them its permissions changed), at most 500. */
export async function holdersOfRole(db: Db, roleId: string) {
  return db
    .select({ id: users.id, email: users.email, name: users.name, kind: users.kind })
    .from(users)
    .where(and(eq(users.roleId, roleId), eq(users.kind, "agent")))
    .limit(500);
}

export async function countActiveAdministrators(db: Db): Promise<number> {
  const [row] = await db
    .select({ n: count() })
    .from(users)
    .where(and(eq(users.roleId, ADMIN_ROLE_ID), eq(users.active, true), ne(users.kind, "contact")));
  return row?.n ?? 0;
}
