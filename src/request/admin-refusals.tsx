// The access rule's refusals on the admin pages: audited (who tried what on whom), then shown.
import type { Context } from "hono";
import type { AppEnv } from "../app-env";
import { actorOf } from "./guard";
import { mayManagePerson } from "../access/grants";
import { recordAudit } from "./audit";
import { getDb } from "../db";
import { ErrorMessage } from "../web/layout";
import { holderOf, type Result } from "../admin/agents";
import { findUserById } from "../auth/users";
import { AdminFrame, personPage } from "../admin/pages";

type Ctx = Context<AppEnv>;

/** A refused admin change is audited (who tried what on whom), then shown. */
export async function auditRefusal(c: Ctx, result: Result<unknown>, action: string, targetId: string | null) {
  if (!result.ok && result.status === 403) {
    await recordAudit(c, {
      event: "access.refused",
      portal: "agent",
      actorId: c.var.auth.user.id,
      targetId: targetId ?? undefined,
      details: { action, reason: result.message },
    });
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

const PERSON_ID = /^(agt|cnt)_[a-z2-7]{16}$/;

type Person = NonNullable<Awaited<ReturnType<typeof findUserById>>>;
export type Refusal = { message: string; status: 403 | 409 | 503 };

/**
 * The person of the route's `:id`, when this admin may act on them now: they exist, the access
 * rule allows it (audited when it does not), and the action's own checks pass (`refuse`, in
 * order). Otherwise `refused` is the page that says why, titled `title`, with the way back.
 */
export async function personToActOn(
  c: Ctx,
  options: { title: string; what: string; action: string; refuse: (person: Person) => Refusal | null },
): Promise<{ person: Person; refused?: undefined } | { refused: Response }> {
  const id = c.req.param("id") ?? "";
  const person = PERSON_ID.test(id) ? await findUserById(getDb(c.env.DB), id) : null;
  if (!person) return { refused: await c.notFound() };
  // The rule first: someone out of reach is refused whole, never told to "enable them first".
  const refused = await refuseUnlessManageable(c, person.id, options.what, options.action);
  if (refused) return { refused };
  const stop = options.refuse(person);
  if (stop) {
    return {
      refused: await c.html(
        <AdminFrame auth={c.var.auth} title={options.title}>
          <ErrorMessage message={stop.message} />
          <p>
            <a href={personPage(person)}>Back to {person.name}</a>
          </p>
        </AdminFrame>,
        stop.status,
      ),
    };
  }
  return { person };
}
