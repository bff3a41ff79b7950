// SECURITY.md 31, as a property: whatever an admin does through the admin routes, no
// agent ends up holding a permission the admin lacks unless that agent held it before; nobody
// changes their own role or its permissions; and nobody changes anything about someone holding
// more than they do: not their name, groups, role, email, password or active state. Generated over
// 200 actor/target pairs of permission subsets (Administrator included) and random sequences of
// every admin endpoint that changes a role, a role's permissions, a role assignment, a password, an
// email or an active state, edits every field of the agent form at once (each changed or kept at
// random), invites someone to sign in with Microsoft, removes someone, issues a temporary access
// pass, or signs someone out everywhere. Whatever is refused leaves the person's D1 rows and open
// sessions as they were.
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { and, eq, inArray, like, or } from "drizzle-orm";
import { beforeAll, describe, expect, it } from "vitest";
import { ALL_PERMISSIONS, type Permission } from "../../src/access/permissions";
import { mintSession, portalStub } from "../../src/auth/sessions";
import { userStub } from "../../src/auth/user-object";
import { groupMembers, roles, ssoInvitations, temporaryAccessPasses, users } from "../../src/db/schema";
import { browser, type Browser } from "../helpers/app";
import { signIn } from "../helpers/auth";
import { db, makeAgent } from "../helpers/factories";
import { cellText } from "../helpers/html";
import { makeGroup } from "../helpers/inventory";
import { setMfa } from "../helpers/mfa";
import { makeRole } from "../helpers/roles";
import { pick, random, type Rand } from "../helpers/random";

const ADMIN = "role_administrator";
// 50 actors × 4 targets = 200 generated actor/target pairs, each with a sequence of 4 admin actions.
const ACTORS = 50;
const TARGETS_EACH = 4;

const subset = (rand: Rand, must: Permission[] = []): Permission[] => ALL_PERMISSIONS.filter((p) => must.includes(p) || rand() < 0.5);

/** Written here, not imported: the test's own idea of what a role lets its holder do. */
function powers(roleId: string | null, rolePermissions: Map<string, Permission[]>): Set<string> {
  if (roleId === ADMIN) return new Set([...ALL_PERMISSIONS, "administrator"]);
  return new Set(roleId ? (rolePermissions.get(roleId) ?? []) : []);
}

async function rolePermissions(): Promise<Map<string, Permission[]>> {
  const rows = await db().select({ id: roles.id, permissions: roles.permissions }).from(roles);
  return new Map(rows.map((r) => [r.id, r.permissions]));
}

/**
 * The agents a case can touch: its actor and target, the agents it created, and anyone holding
 * one of its roles (cases run side by side, and each only names its own people and roles).
 */
async function agentsState(n: string, ids: string[], roleIds: string[]) {
  return db()
    .select({
      id: users.id,
      name: users.name,
      roleId: users.roleId,
      email: users.email,
      active: users.active,
      passwordHash: users.passwordHash,
    })
    .from(users)
    .where(and(eq(users.kind, "agent"), or(inArray(users.id, ids), inArray(users.roleId, roleIds), like(users.email, `new-${n}-%`))));
}

/**
 * Everything about one person that an admin action could change: their row, groups, invitations
 * and passes, and (`withSessions`, for a sign-out step: a call to their object each) their open sessions.
 */
async function personState(id: string, withSessions = false) {
  const [row, groupIds, invitations, passes, sessions] = await Promise.all([
    db().select().from(users).where(eq(users.id, id)).get(),
    db().select({ groupId: groupMembers.groupId }).from(groupMembers).where(eq(groupMembers.agentId, id)),
    db().select().from(ssoInvitations).where(eq(ssoInvitations.userId, id)),
    db().select().from(temporaryAccessPasses).where(eq(temporaryAccessPasses.userId, id)),
    withSessions
      ? runInDurableObject(userStub(env, id), (_instance, state) =>
          state.storage.sql
            .exec<{ id: string }>("SELECT id FROM sessions ORDER BY id")
            .toArray()
            .map((r) => r.id),
        )
      : null,
  ]);
  return { row, groupIds: groupIds.map((g) => g.groupId).sort(), invitations, passes, sessions };
}

const ANSWERS = [303, 400, 401, 403, 404, 409];

async function post(client: Browser, path: string, form: Record<string, string | string[]>, answers = ANSWERS) {
  const body = new URLSearchParams();
  for (const [k, v] of Object.entries(form)) for (const one of [v].flat()) body.append(k, one);
  const response = await client.request(path, { method: "POST", body });
  const text = await response.text();
  expect(answers, `${path} answered ${response.status}`).toContain(response.status);
  if (response.status === 403) expect(cellText(text)).toMatch(/[Yy]ou (cannot|don't)|Only an Administrator|Your role does not include/);
  return response.status;
}

beforeAll(() => setMfa("agent", { authenticatorApp: false, emailOtp: false }));

describe("least privilege, over generated actors, targets and sequences", () => {
  it(`holds for ${ACTORS * TARGETS_EACH} generated actor/target pairs`, async () => {
    const tally: Tally = { applied: 0, refused: 0, removed: 0, outOfReachEdits: 0 };
    // Four actors at a time: each has its own people and roles.
    let next = 0;
    const worker = async () => {
      while (next < ACTORS) await runActor(next++, tally);
    };
    await Promise.all([worker(), worker(), worker(), worker()]);
    // The generator reaches both sides of the rule often.
    expect(tally.applied).toBeGreaterThan(100);
    expect(tally.refused).toBeGreaterThan(100);
    expect(tally.removed, "some generated removals go through").toBeGreaterThan(0);
    expect(tally.outOfReachEdits, "many generated edits touch someone holding more than the actor").toBeGreaterThan(20);
  }, 600_000);
});

interface Tally {
  applied: number;
  refused: number;
  removed: number;
  /** Edits of the agent form aimed at someone holding more than the actor. */
  outOfReachEdits: number;
}

/** One actor (a generated permission subset, or Administrator), signed in once, against TARGETS_EACH generated targets. */
async function runActor(a: number, tally: Tally) {
  const rand = random(a + 1);
  // Most actors can reach the admin pages; a few cannot, and must be refused at the door.
  const actorRole = rand() < 0.1 ? ADMIN : await makeRole(subset(rand, rand() < 0.9 ? ["manageAgents"] : []));
  const actor = await makeAgent({ roleId: actorRole });
  const client = browser();
  await signIn(client, "agent", actor);
  // Usually confirmed, so the rule (not the re-authentication) is what refuses.
  if (rand() < 0.85) expect(await post(client, "/agent/reauth", { current: actor.password, next: "/agent" })).toBe(303);
  for (let t = 0; t < TARGETS_EACH; t++) await runPair(`${a}.${t}`, rand, client, actor, actorRole, tally);
}

async function runPair(
  n: string,
  rand: Rand,
  client: Browser,
  actor: Awaited<ReturnType<typeof makeAgent>>,
  actorRole: string,
  tally: Tally,
) {
  const targetRole = rand() < 0.15 ? ADMIN : await makeRole(subset(rand));
  const otherRole = await makeRole(subset(rand));
  // Some start disabled: enabling is an edit too, and only a disabled agent can be removed.
  const target = await makeAgent({ roleId: targetRole, active: rand() >= 0.2 });
  // Signed in somewhere, so signing them out has something to end.
  const { generation } = await portalStub(env, "agent").getPolicy();
  await mintSession(env, target.id, {
    stage: "full",
    method: "password",
    generation,
    now: Date.now(),
    ip: "198.51.100.9",
    userAgent: "Firefox",
  });
  // Two groups of the case's own; the target starts in one of them, so an edit can add and remove.
  const caseGroups = [await makeGroup(), await makeGroup()];
  if (rand() < 0.5) await db().insert(groupMembers).values({ groupId: caseGroups[0]!, agentId: target.id });
  const created: string[] = [];
  const caseRoles = () => [actorRole, targetRole, otherRole, ...created].filter((r) => r !== ADMIN);
  const roleIds = () => [ADMIN, "role_agent", actorRole, targetRole, otherRole, ...created];
  const rolesBefore = await rolePermissions();
  const agentsBefore = new Map((await agentsState(n, [actor.id, target.id], caseRoles())).map((x) => [x.id, x]));
  const groupsBefore = new Map(await Promise.all([actor.id, target.id].map(async (id) => [id, (await personState(id)).groupIds] as const)));
  const actorPowers = powers(actorRole, rolesBefore);
  const outOfReach = (roleId: string | null | undefined, rolesNow: Map<string, Permission[]>) =>
    roleId !== undefined && [...powers(roleId, rolesNow)].some((p) => !actorPowers.has(p));

  for (let step = 0; step < 4; step++) {
    const who = rand() < 0.25 ? actor : target;
    const op = pick(rand, [
      "assign",
      "assign",
      "edit",
      "edit",
      "editRole",
      "createRole",
      "password",
      "email",
      "active",
      "createAgent",
      "deleteRole",
      "invite",
      "remove",
      "pass",
      "signOut",
    ] as const);
    const person = ["assign", "edit", "password", "email", "active", "invite", "remove", "pass", "signOut"].includes(op);
    const whoBefore = await personState(who.id, op === "signOut");
    const whoOutOfReach = outOfReach(whoBefore.row?.roleId, await rolePermissions());
    let status: number;
    if (op === "edit") {
      // Every field of the agent form, each changed or kept at random.
      const current = whoBefore.row ?? { name: who.name, email: who.email, roleId: "role_agent", active: true };
      const change = () => rand() < 0.5;
      const active = change() ? !current.active : current.active;
      status = await post(client, `/agent/admin/agents/${who.id}`, {
        name: change() ? `Renamed ${n}-${step}` : current.name,
        email: change() ? `edited-${n}-${step}@example.com` : current.email,
        roleId: change() ? pick(rand, roleIds()) : (current.roleId ?? "role_agent"),
        groupIds: caseGroups.filter(() => rand() < 0.5),
        ...(active ? { active: "on" } : {}),
      });
    } else if (op === "assign") {
      status = await post(client, `/agent/admin/agents/${who.id}`, {
        name: who.name,
        email: (await agentEmail(who.id))!,
        roleId: pick(rand, roleIds()),
        active: "on",
      });
    } else if (op === "editRole") {
      status = await post(client, `/agent/admin/roles/${pick(rand, [actorRole, targetRole, otherRole, ...created])}`, {
        name: `Edited ${n}-${step}`,
        permissions: subset(rand),
      });
    } else if (op === "createRole") {
      const name = `Made ${n}-${step}`;
      status = await post(client, "/agent/admin/roles/new", { name, permissions: subset(rand) });
      const made = await db().select({ id: roles.id }).from(roles).where(eq(roles.name, name)).get();
      if (made) created.push(made.id);
    } else if (op === "password") {
      status = await post(client, `/agent/admin/agents/${who.id}/password`, { password: `a brand new passphrase ${n} ${step}` });
    } else if (op === "email") {
      status = await post(client, `/agent/admin/agents/${who.id}`, {
        name: who.name,
        email: `moved-${n}-${step}@example.com`,
        roleId: (await agentRole(who.id))!,
        active: "on",
      });
    } else if (op === "active") {
      status = await post(client, `/agent/admin/agents/${who.id}`, {
        name: who.name,
        email: (await agentEmail(who.id))!,
        roleId: (await agentRole(who.id))!,
      });
    } else if (op === "createAgent") {
      status = await post(client, "/agent/admin/agents/new", {
        name: `New ${n}`,
        email: `new-${n}-${step}@example.com`,
        roleId: pick(rand, roleIds()),
        password: "a long enough first passphrase",
      });
    } else if (op === "invite") {
      // "Invite to sign in with Microsoft" lets whoever uses the link sign in as them: the link page is a 200.
      status = await post(client, `/agent/admin/people/${who.id}/sso-invite`, {}, [200, 401, 403, 404, 409]);
    } else if (op === "pass") {
      // A temporary access pass signs in as them: the page showing it is a 200.
      status = await post(client, `/agent/admin/people/${who.id}/access-pass`, { minutes: "60" }, [200, 401, 403, 404, 409]);
    } else if (op === "signOut") {
      status = await post(client, `/agent/admin/people/${who.id}/sessions/sign-out`, { session: "all", reason: `Case ${n}, step ${step}` });
    } else if (op === "remove") {
      // Only a disabled agent can be removed (some start disabled, and the "active" and "edit" steps disable): otherwise a 409.
      status = await post(client, `/agent/admin/people/${who.id}/remove`, { confirm: (await agentEmail(who.id)) ?? "gone@example.com" });
    } else {
      status = await post(client, `/agent/admin/roles/${pick(rand, [targetRole, otherRole, ...created])}/delete`, {});
    }
    // Whatever is refused changes nothing about the person; someone holding more is refused whole.
    if (person && status !== 303 && status !== 200)
      expect(await personState(who.id, op === "signOut"), `pair ${n} step ${step}: a refused ${op} changed ${who.id}`).toEqual(whoBefore);
    if (op === "edit" && whoOutOfReach) tally.outOfReachEdits++;
    if (person && whoOutOfReach)
      expect([401, 403], `pair ${n} step ${step}: ${op} on ${who.id}, who holds more than the actor, answered ${status}`).toContain(status);
    if (op === "remove" && status === 303) tally.removed++;
    if (status === 303 || status === 200) tally.applied++;
    else tally.refused++;
  }

  const rolesAfter = await rolePermissions();
  const present = new Set(
    (
      await db()
        .select({ id: users.id })
        .from(users)
        .where(inArray(users.id, [...agentsBefore.keys()]))
    ).map((x) => x.id),
  );
  const label = `pair ${n} (actor ${[...actorPowers].join("+") || "nothing"})`;
  for (const agent of await agentsState(n, [actor.id, target.id], caseRoles())) {
    const before = agentsBefore.get(agent.id);
    const had = before ? powers(before.roleId, rolesBefore) : new Set<string>();
    for (const power of powers(agent.roleId, rolesAfter)) {
      expect(had.has(power) || actorPowers.has(power), `${label}: ${agent.id} gained ${power}, which the actor lacks`).toBe(true);
    }
    // Someone who held more than the actor keeps everything: name, groups, role, email, password and active state; and is not removed.
    if (before && [...powers(before.roleId, rolesBefore)].some((p) => !actorPowers.has(p))) {
      expect({ ...agent, groupIds: (await personState(agent.id)).groupIds }, `${label}: ${agent.id} was changed`).toEqual({
        ...before,
        groupIds: groupsBefore.get(agent.id) ?? [],
      });
      expect(
        await db().select().from(ssoInvitations).where(eq(ssoInvitations.userId, agent.id)),
        `${label}: ${agent.id} was invited to be signed in as`,
      ).toHaveLength(0);
      expect(
        await db().select().from(temporaryAccessPasses).where(eq(temporaryAccessPasses.userId, agent.id)),
        `${label}: ${agent.id} was given a pass to be signed in as`,
      ).toHaveLength(0);
    }
  }
  for (const [id, before] of agentsBefore) {
    if ([...powers(before.roleId, rolesBefore)].some((p) => !actorPowers.has(p)))
      expect(present.has(id), `${label}: ${id} held more than the actor and was removed`).toBe(true);
  }
  for (const roleId of caseRoles()) {
    const before = rolesBefore.get(roleId);
    const permissions = rolesAfter.get(roleId) ?? [];
    if (!before) continue;
    for (const p of permissions) expect(before.includes(p) || actorPowers.has(p), `${label}: role ${roleId} gained ${p}`).toBe(true);
    if (before.some((p) => !actorPowers.has(p)))
      expect(permissions, `${label}: role ${roleId} held more than the actor and changed`).toEqual(before);
  }
  expect(
    await db().select().from(temporaryAccessPasses).where(eq(temporaryAccessPasses.userId, actor.id)),
    `${label}: the actor issued themselves a pass`,
  ).toHaveLength(0);
  const actorNow = (await agentsState(n, [actor.id], []))[0]!;
  expect(actorNow.roleId, `${label}: the actor changed their own role`).toBe(actorRole);
  if (actorRole !== ADMIN)
    expect(rolesAfter.get(actorRole), `${label}: the actor changed their own role's permissions`).toEqual(rolesBefore.get(actorRole));
}

async function agentRole(id: string) {
  return (await db().select({ roleId: users.roleId }).from(users).where(eq(users.id, id)).get())?.roleId;
}

async function agentEmail(id: string) {
  return (await db().select({ email: users.email }).from(users).where(eq(users.id, id)).get())?.email;
}
