import { and, asc, count, eq, inArray, ne, sql } from "drizzle-orm";
import type { Db } from "../db";
import { groupMembers, groups, passwordHistory, roles, users } from "../db/schema";
import { hashPassword, scryptParamsFor } from "../auth/password";
import { passwordHistoryMac } from "../auth/password-change";
import { checkNewPassword } from "../auth/password-policy";
import { endAllSessionsOfUser, portalStub, userStub } from "../auth/sessions";
import { findUserByEmail, newUserRow, normalizeEmail } from "../auth/users";
import type { PasswordPolicy } from "../portal/policy";
import type { Permission } from "../settings/permissions";

export const ADMIN_ROLE_ID = "role_administrator";

export type Result<T = void> = { ok: true; value: T } | { ok: false; message: string };

export async function listAgents(db: Db) {
  const [agents, memberships] = await db.batch([
    db.select({ id: users.id, name: users.name, email: users.email, active: users.active, roleId: users.roleId, roleName: roles.name }).from(users).leftJoin(roles, eq(roles.id, users.roleId)).where(eq(users.kind, "agent")).orderBy(asc(users.name)),
    db.select({ agentId: groupMembers.agentId, name: groups.name }).from(groupMembers).innerJoin(groups, eq(groups.id, groupMembers.groupId)),
  ]);
  return agents.map((a) => ({ ...a, groups: memberships.filter((m) => m.agentId === a.id).map((m) => m.name) }));
}

export async function listContacts(db: Db) {
  return db.select({ id: users.id, name: users.name, email: users.email, active: users.active }).from(users).where(eq(users.kind, "contact")).orderBy(asc(users.name)).limit(500);
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

/** An admin creates an agent with a first password, which meets the agents' password policy. */
export async function createAgent(env: Env, db: Db, input: AgentInput & { password: string }, policy: PasswordPolicy, now: number): Promise<Result<string>> {
  const problem = await validRoleAndGroups(db, input.roleId, input.groupIds);
  if (problem) return { ok: false, message: problem };
  if (await findUserByEmail(db, "agent", input.email)) return { ok: false, message: "An agent with this email already exists." };
  const weakness = checkNewPassword(input.password, policy, input);
  if (weakness) return { ok: false, message: weakness };
  const row = newUserRow({ kind: "agent", email: input.email, name: input.name, passwordHash: await hashPassword(input.password, scryptParamsFor(env)), roleId: input.roleId, now });
  await db.batch([
    db.insert(users).values(row),
    db.insert(passwordHistory).values({ userId: row.id, mac: await passwordHistoryMac(env, row.id, input.password), createdAt: now }),
    ...(input.groupIds.length ? [db.insert(groupMembers).values([...new Set(input.groupIds)].map((groupId) => ({ groupId, agentId: row.id })))] : []),
  ]);
  return { ok: true, value: row.id };
}

/**
 * Update an agent. Demoting or disabling the last active Administrator is refused inside the
 * UPDATE itself (one statement), so two admins demoting each other at once cannot both succeed.
 * A disabled agent's sessions end; the agent's cached profile is refreshed either way.
 */
export async function updateAgent(env: Env, db: Db, agentId: string, input: AgentInput & { active: boolean }, now: number): Promise<Result> {
  const problem = await validRoleAndGroups(db, input.roleId, input.groupIds);
  if (problem) return { ok: false, message: problem };
  const email = normalizeEmail(input.email);
  const clash = await findUserByEmail(db, "agent", email);
  if (clash && clash.id !== agentId) return { ok: false, message: "Another agent already uses this email." };
  const staysAdmin = input.roleId === ADMIN_ROLE_ID && input.active;
  // Memberships change only if the update did: "the row now holds what was asked for".
  const applied = sql`EXISTS (SELECT 1 FROM users WHERE id = ${agentId} AND role_id = ${input.roleId} AND active = ${input.active ? 1 : 0} AND email = ${email})`;
  const [updated] = await db.batch([
    db
      .update(users)
      .set({ name: input.name.trim(), email, roleId: input.roleId, active: input.active, updatedAt: now })
      .where(
        and(
          eq(users.id, agentId),
          eq(users.kind, "agent"),
          staysAdmin
            ? sql`1`
            : sql`(${users.roleId} IS NOT ${ADMIN_ROLE_ID} OR ${users.active} = 0 OR
                (SELECT count(*) FROM users AS other WHERE other.role_id = ${ADMIN_ROLE_ID} AND other.active = 1 AND other.id != ${agentId}) > 0)`,
        ),
      ),
    db.delete(groupMembers).where(and(eq(groupMembers.agentId, agentId), applied)),
    db.insert(groupMembers).select(
      db
        .select({ groupId: sql<string>`value`.as("group_id"), agentId: sql<string>`${agentId}`.as("agent_id") })
        .from(sql`json_each(${JSON.stringify([...new Set(input.groupIds)])})`)
        .where(applied),
    ),
  ]);
  if (updated.meta.changes !== 1) {
    const exists = await db.select({ id: users.id }).from(users).where(and(eq(users.id, agentId), eq(users.kind, "agent"))).get();
    return { ok: false, message: exists ? "This is the last active Administrator: make someone else an Administrator first." : "That agent does not exist." };
  }
  const stub = userStub(env, agentId);
  await stub.refreshProfile();
  if (!input.active) await endAllSessionsOfUser(env, agentId);
  return { ok: true, value: undefined };
}

export async function setContactActive(env: Env, db: Db, contactId: string, active: boolean, now: number): Promise<Result> {
  const result = await db.update(users).set({ active, updatedAt: now }).where(and(eq(users.id, contactId), eq(users.kind, "contact")));
  if (result.meta.changes !== 1) return { ok: false, message: "That contact does not exist." };
  await userStub(env, contactId).refreshProfile();
  if (!active) await endAllSessionsOfUser(env, contactId);
  return { ok: true, value: undefined };
}

export interface RoleInput {
  name: string;
  permissions: Permission[];
}

/** Roles: the built-in Administrator keeps every permission and cannot be deleted. */
export async function saveRole(env: Env, db: Db, roleId: string | null, input: RoleInput, now: number): Promise<Result<string>> {
  const clash = await db.select({ id: roles.id }).from(roles).where(eq(sql`lower(${roles.name})`, input.name.trim().toLowerCase())).get();
  if (clash && clash.id !== roleId) return { ok: false, message: "A role with this name already exists." };
  let id = roleId;
  if (roleId === null) {
    id = `role_${crypto.randomUUID().replaceAll("-", "").slice(0, 16)}`;
    await db.insert(roles).values({ id, name: input.name.trim(), builtin: null, permissions: input.permissions, createdAt: now });
  } else {
    const role = await db.select().from(roles).where(eq(roles.id, roleId)).get();
    if (!role) return { ok: false, message: "That role does not exist." };
    if (role.builtin === "administrator") return { ok: false, message: "The Administrator role always has every permission and keeps its name." };
    await db.update(roles).set({ name: input.name.trim(), permissions: input.permissions }).where(eq(roles.id, roleId));
  }
  await portalStub(env, "agent").reloadRoles();
  return { ok: true, value: id! };
}

export async function deleteRole(env: Env, db: Db, roleId: string): Promise<Result> {
  const role = await db.select().from(roles).where(eq(roles.id, roleId)).get();
  if (!role) return { ok: false, message: "That role does not exist." };
  if (role.builtin) return { ok: false, message: `The built-in ${role.name} role cannot be deleted.` };
  // Only while no agent holds it: the delete and the check are one statement.
  const result = await db.delete(roles).where(and(eq(roles.id, roleId), sql`NOT EXISTS (SELECT 1 FROM users WHERE role_id = ${roleId})`));
  if (result.meta.changes !== 1) return { ok: false, message: "Agents still have this role: give them another role first." };
  await portalStub(env, "agent").reloadRoles();
  return { ok: true, value: undefined };
}

export async function countActiveAdministrators(db: Db): Promise<number> {
  const [row] = await db.select({ n: count() }).from(users).where(and(eq(users.roleId, ADMIN_ROLE_ID), eq(users.active, true), ne(users.kind, "contact")));
  return row?.n ?? 0;
}
