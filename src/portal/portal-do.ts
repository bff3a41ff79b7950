import { DurableObject } from "cloudflare:workers";
import { getDb } from "../db";
import { and, eq, sql } from "drizzle-orm";
import { auditEvents, roles } from "../db/schema";
import { ALL_PERMISSIONS, type Permission } from "../access/permissions";
import { type PortalPolicy, withPolicyDefaults } from "./policy";
import { type AuditEntry, type AuditOrigin, auditInsert } from "../audit/events";
import { backoff } from "../lib/backoff";

/** The audit rows of one policy change, stored with it until they are in D1. */
export interface PolicyAudit {
  entries: AuditEntry[];
  origin: AuditOrigin;
}

export interface PortalState {
  policy: PortalPolicy;
  /** Role id -> permissions; only the agent portal has roles. */
  rolePermissions: Record<string, Permission[]>;
}

const POLICY_KEY = "policy";
const OWED_AUDIT = "audit-owed:";
/** Set with each change: rings only if its audit rows are still owed by then. */
const OWED_AUDIT_RETRY_MS = 60_000;

/**
 * One instance per portal ("agent", "support"): the strongly consistent home of that portal's
 * policy. Every authenticated request reads it once, which is what lets "end every session
 * now" take effect on the very next request of every user at O(1) cost.
 */
export class PortalDurableObject extends DurableObject<Env> {
  private rolePermissions: Record<string, Permission[]> | undefined;
  /** Owed audit rows being written now: another call must not write them too. */
  private readonly paying = new Set<string>();
  private failedPayments = 0;

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
   * write, so no request can see the new policy without also seeing every old session end. Its
   * audit rows are stored in that write too, then written to D1; should D1 fail, the change
   * stands and the alarm writes them later, so no change is ever left without its audit.
   */
  async updatePolicy(
    change: Partial<Omit<PortalPolicy, "generation">>,
    endSessions: boolean,
    audit: PolicyAudit | null = null,
  ): Promise<PortalPolicy> {
    const current = await this.getPolicy();
    const next: PortalPolicy = withPolicyDefaults({
      ...current,
      ...change,
      generation: endSessions ? current.generation + 1 : current.generation,
    });
    if (!audit) {
      await this.ctx.storage.put(POLICY_KEY, next);
      return next;
    }
    // The policy, its owed audit rows and the alarm that will write them land in one write (no
    // await between them), so an object reset before D1 answers still leaves the alarm set.
    await Promise.all([
      this.ctx.storage.put({ [POLICY_KEY]: next, [`${OWED_AUDIT}${crypto.randomUUID()}`]: audit }),
      this.ctx.storage.setAlarm(Date.now() + OWED_AUDIT_RETRY_MS),
    ]);
    await this.payOwedAudit();
    return next;
  }

  /** Write the owed audit rows to D1; what D1 refuses waits for the alarm, which backs off. */
  private async payOwedAudit(): Promise<void> {
    const owed = await this.ctx.storage.list<PolicyAudit>({ prefix: OWED_AUDIT });
    for (const [key, audit] of owed) {
      if (this.paying.has(key)) continue;
      this.paying.add(key);
      try {
        const db = getDb(this.env.DB);
        const [first, ...rest] = audit.entries.map((entry) => auditInsert(db, entry, audit.origin));
        if (first && !(await this.alreadyWritten(audit))) await db.batch([first, ...rest]);
        await this.ctx.storage.delete(key);
        this.failedPayments = 0;
      } catch (error) {
        this.failedPayments++;
        console.error("Writing a policy change's audit rows failed; the portal's alarm tries again:", error);
      } finally {
        this.paying.delete(key);
      }
    }
    // Nothing left owed: no alarm. Otherwise the next try, backing off.
    if ((await this.ctx.storage.list({ prefix: OWED_AUDIT, limit: 1 })).size === 0) await this.ctx.storage.deleteAlarm();
    else await this.ctx.storage.setAlarm(Date.now() + backoff(Math.max(1, this.failedPayments)));
  }

  override async alarm(): Promise<void> {
    await this.payOwedAudit();
  }

  /** A write whose answer was lost may have committed: its first row, to the moment and detail, says so. */
  private async alreadyWritten({ entries: [first], origin }: PolicyAudit): Promise<boolean> {
    if (!first) return true;
    const row = await getDb(this.env.DB)
      .select({ id: auditEvents.id })
      .from(auditEvents)
      .where(
        and(
          eq(auditEvents.event, first.event),
          eq(auditEvents.at, origin.at),
          sql`${auditEvents.actorId} IS ${first.actorId ?? null}`,
          sql`${auditEvents.details} = ${JSON.stringify(first.details ?? null)}`,
        ),
      )
      .get();
    return row !== undefined;
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
    return Object.fromEntries(rows.map((role) => [role.id, role.builtin === "administrator" ? ALL_PERMISSIONS : role.permissions]));
  }
}
