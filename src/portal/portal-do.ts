import { DurableObject } from "cloudflare:workers";
import { getDb } from "../db";
import { roles } from "../db/schema";
import { ALL_PERMISSIONS, type Permission } from "../access/permissions";
import { type PortalPolicy, withPolicyDefaults } from "./policy";

export interface PortalState {
  policy: PortalPolicy;
  /** Role id -> permissions; only the agent portal has roles. */
  rolePermissions: Record<string, Permission[]>;
}

const POLICY_KEY = "policy";

/**
 * One instance per portal ("agent", "support"): the strongly consistent home of that portal's
 * policy. Every authenticated request reads it once, which is what lets "end every session
 * now" take effect on the very next request of every user at O(1) cost.
 */
export class PortalDurableObject extends DurableObject<Env> {
  private rolePermissions: Record<string, Permission[]> | undefined;

  async getState(): Promise<PortalState> {
    const policy = withPolicyDefaults(await this.ctx.storage.get<PortalPolicy>(POLICY_KEY));
    this.rolePermissions ??= await this.loadRolePermissions();
    return { policy, rolePermissions: this.rolePermissions };
  }

  async getPolicy(): Promise<PortalPolicy> {
    return withPolicyDefaults(await this.ctx.storage.get<PortalPolicy>(POLICY_KEY));
  }

  /**
   * Apply a change to the policy. With `endSessions`, the generation moves on in the same
   * write, so no request can see the new policy without also seeing every old session end.
   */
  async updatePolicy(change: Partial<Omit<PortalPolicy, "generation">>, endSessions: boolean): Promise<PortalPolicy> {
    const current = await this.getPolicy();
    const next: PortalPolicy = withPolicyDefaults({
      ...current,
      ...change,
      generation: endSessions ? current.generation + 1 : current.generation,
    });
    await this.ctx.storage.put(POLICY_KEY, next);
    return next;
  }

  async endAllSessions(): Promise<number> {
    return (await this.updatePolicy({}, true)).generation;
  }

  /** Called after any role is created, edited or deleted in D1. */
  async reloadRoles(): Promise<void> {
    this.rolePermissions = await this.loadRolePermissions();
  }

  private async loadRolePermissions(): Promise<Record<string, Permission[]>> {
    const rows = await getDb(this.env.DB).select().from(roles);
    return Object.fromEntries(
      rows.map((role) => [role.id, role.builtin === "administrator" ? ALL_PERMISSIONS : role.permissions]),
    );
  }
}
