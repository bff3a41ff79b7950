// The one least-privilege rule (SECURITY.md 31): nobody grants, sets or takes over what they do
// not hold themselves. Every admin route that changes a role, a role's permissions, a role
// assignment, or anything about another person (name, groups, email, password, active state,
// second factors) asks it first.
// Pure functions over "powers": a role's permissions, plus "administrator" for the built-in
// Administrator role, so an Administrator stands above any custom role holding every permission.
import { ALL_PERMISSIONS, type Permission, PERMISSIONS } from "./permissions";

export const ADMIN_ROLE_ID = "role_administrator";

export type Power = Permission | "administrator";

/** Who acts, or whom an action touches: their id and the role they hold now. */
export interface Holder {
  id: string;
  roleId: string | null;
  permissions: readonly Permission[];
}

export interface RoleShape {
  id: string;
  name: string;
  permissions: readonly Permission[];
}

export type Decision = { ok: true } | { ok: false; message: string };
const ALLOWED: Decision = { ok: true };

/** A role's powers; the Administrator role holds every permission whatever its row says. */
export function powersOf(roleId: string | null, permissions: readonly Permission[]): Set<Power> {
  if (roleId === ADMIN_ROLE_ID) return new Set<Power>([...ALL_PERMISSIONS, "administrator"]);
  return new Set<Power>(permissions);
}

function missing(actor: Holder, roleId: string | null, permissions: readonly Permission[]): Power[] {
  const held = powersOf(actor.roleId, actor.permissions);
  return [...powersOf(roleId, permissions)].filter((p) => !held.has(p));
}

function named(powers: Power[]): string {
  return powers.map((p) => (p === "administrator" ? "Administrator" : `“${PERMISSIONS[p]}”`)).join(", ");
}

/** True when every power of `roleId`/`permissions` is one the actor holds. */
export function holdsAllOf(actor: Holder, roleId: string | null, permissions: readonly Permission[]): boolean {
  return missing(actor, roleId, permissions).length === 0;
}

/** May the actor give `target` the role `role`? (Creating an agent: target null.) */
export function mayAssignRole(actor: Holder, target: Holder | null, role: RoleShape): Decision {
  if (target && target.roleId === role.id) return ALLOWED;
  if (target?.id === actor.id) return { ok: false, message: "You cannot change your own role. Ask another administrator." };
  if (target) {
    const person = mayManagePerson(actor, target, "change their role");
    if (!person.ok) return person;
  }
  if (role.id === ADMIN_ROLE_ID && !holdsAllOf(actor, ADMIN_ROLE_ID, [])) {
    return { ok: false, message: "Only an Administrator can make someone an Administrator." };
  }
  const over = missing(actor, role.id, role.permissions);
  if (over.length)
    return { ok: false, message: `The role ${role.name} includes permissions you don't have (${named(over)}), so you cannot give it.` };
  return ALLOWED;
}

/**
 * May the actor create a role (`before` null), change its permissions, or delete it (`after`
 * null)? Every permission involved, before and after, must be the actor's, and nobody edits the
 * role they hold.
 */
export function mayChangeRole(
  actor: Holder,
  roleId: string | null,
  before: readonly Permission[] | null,
  after: readonly Permission[] | null,
): Decision {
  if (roleId !== null && roleId === actor.roleId)
    return { ok: false, message: "You cannot change the role you hold. Ask another administrator." };
  const over = [...new Set([...missing(actor, roleId, before ?? []), ...missing(actor, roleId, after ?? [])])];
  if (over.length) {
    const verb = before === null ? "create a role with" : after === null ? "delete a role with" : "change a role with";
    return { ok: false, message: `You cannot ${verb} permissions you don't have (${named(over)}).` };
  }
  return ALLOWED;
}

/**
 * May the actor change anything about the target (name, groups, role, email, password, active
 * state, second factors) or act as them? Only when the target holds nothing the actor lacks:
 * taking the account over would give the actor the target's permissions, and someone whose role
 * is out of the actor's reach is out of reach whole. mayAssignRole asks this too, so the two never
 * disagree. `what` completes "so you cannot …".
 */
export function mayManagePerson(actor: Holder, target: Holder, what: string): Decision {
  const over = missing(actor, target.roleId, target.permissions);
  if (over.length) return { ok: false, message: `This agent holds permissions you don't have (${named(over)}), so you cannot ${what}.` };
  return ALLOWED;
}

/** Which permissions the actor may tick on a role form, and why not for the rest. */
export function grantablePermissions(actor: Holder): Map<Permission, string | null> {
  const held = powersOf(actor.roleId, actor.permissions);
  return new Map(ALL_PERMISSIONS.map((p) => [p, held.has(p) ? null : "You don't hold this permission, so you cannot grant it."]));
}
