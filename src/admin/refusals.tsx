// The access rule's refusals on the admin pages: audited (who tried what on whom), then shown.
import type { Context } from "hono";
import type { AppEnv } from "../app-env";
import { actorOf } from "../access/guard";
import { mayManagePerson } from "../access/grants";
import { recordAudit } from "../audit/audit";
import { getDb } from "../db";
import { ErrorMessage } from "../web/layout";
import { holderOf, type Result } from "./agents";
import { AdminFrame } from "./pages";

type Ctx = Context<AppEnv>;

/** A refused admin change is audited (who tried what on whom), then shown. */
export async function auditRefusal(c: Ctx, result: Result<unknown>, action: string, targetId: string | null) {
  if (!result.ok && result.status === 403) {
    await recordAudit(c, { event: "access.refused", portal: "agent", actorId: c.var.auth.user.id, targetId: targetId ?? undefined, details: { action, reason: result.message } });
  }
}

/** The access rule for an action on one person: null when allowed, else the audited 403 page. */
export async function refuseUnlessManageable(c: Ctx, targetId: string, what: string, action: string): Promise<Response | null> {
  const target = await holderOf(getDb(c.env.DB), targetId);
  const allowed = target ? mayManagePerson(actorOf(c), target, what) : { ok: true as const };
  if (allowed.ok) return null;
  await auditRefusal(c, { ok: false, message: allowed.message, status: 403 }, action, targetId);
  return c.html(
    <AdminFrame auth={c.var.auth} title="Not allowed">
      <ErrorMessage message={allowed.message} />
    </AdminFrame>,
    403,
  );
}

