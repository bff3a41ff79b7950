// Removing a person, from the admin area. Needs "Manage Agents, Groups and Roles", a
// re-authentication in the last 5 minutes, and the one access rule (src/access/grants.ts).
import { type Context, Hono } from "hono";
import { z } from "zod";
import type { AppEnv } from "../app-env";
import { actorOf, requirePermission } from "../request/guard";
import { hasPermission } from "../access/permissions";
import { requireRecentAuth } from "../sign-in/reauth";
import { getDb } from "../db";
import { ASSET_KIND, SOFTWARE_KIND } from "../assets/kinds";
import { bulkUpdate } from "../assets/inventory";
import { loadOptions } from "../assets/listing";
import { assetsUsedBy, managedRecordIds, managedRecords, outsideGroupsOf, pseudonymFor, removePerson } from "../lifecycle/removal";
import { readsForm } from "../request/validation";
import { requiredText } from "../lib/fields";
import { holderOf } from "./agents";
import { refuseUnlessManageable } from "../request/admin-refusals";
import { RemovalPage } from "./removal-pages";

type Ctx = Context<AppEnv>;
const ID = /^(agt|cnt)_[a-z2-7]{16}$/;
const removeForm = z.object({ confirm: requiredText("their email address", 254) });
const reassignForm = z.object({ agentId: requiredText("an agent", 40) });

export const removalRoutes = new Hono<AppEnv>();
const manage = requirePermission("manageAgents");

const backTo = (person: { id: string; kind: "agent" | "contact" }) =>
  `/agent/admin/${person.kind === "agent" ? "agents" : "contacts"}/${person.id}`;

async function removalPage(
  c: Ctx,
  id: string,
  extra: { error?: string; notice?: string } = {},
  status: 200 | 400 | 401 | 403 | 404 | 409 = 200,
) {
  const db = getDb(c.env.DB);
  const person = ID.test(id) ? await holderOf(db, id) : null;
  if (!person) return c.notFound();
  const refused = await refuseUnlessManageable(c, person.id, "remove them", "remove a person");
  if (refused) return refused;
  const back = backTo(person);
  const actor = actorOf(c);
  const page = { auth: c.var.auth, person, back, pseudonym: pseudonymFor(person.kind, person.id) };
  if (person.id === actor.id)
    return c.html(
      <RemovalPage
        {...page}
        managed={null}
        usedAssets={0}
        reassignTo={null}
        refusal="You cannot remove yourself. Ask another administrator."
      />,
      403,
    );
  if (person.kind === "agent" && person.active)
    return c.html(
      <RemovalPage
        {...page}
        managed={null}
        usedAssets={0}
        reassignTo={null}
        refusal={`Disable ${person.name} first: only a disabled agent can be removed.`}
      />,
      409,
    );
  const [managed, usedAssets, options] = await Promise.all([
    person.kind === "agent" ? managedRecords(c.env.DB, person.id) : null,
    assetsUsedBy(c.env.DB, person.id),
    hasPermission(c.var.auth.permissions, "manageAssets") ? loadOptions(c.env.DB) : null,
  ]);
  const reassignTo = options ? options.agents.filter((a) => a.id !== person.id).map((a) => ({ id: a.id, name: a.name })) : null;
  return c.html(<RemovalPage {...page} managed={managed} usedAssets={usedAssets} reassignTo={reassignTo} {...extra} />, status);
}

removalRoutes.get("/people/:id/remove", manage, requireRecentAuth(), (c) =>
  removalPage(c, c.req.param("id"), { notice: c.req.query("done") === "reassigned" ? "Reassigned." : undefined }),
);

const PSEUDONYM = /^Removed (agent|contact) [A-Z2-7]{10}$/;
export const removedNotice = (pseudonym: string | undefined) =>
  pseudonym && PSEUDONYM.test(pseudonym) ? `Removed. In the audit log and asset history they now appear as “${pseudonym}”.` : undefined;

removalRoutes.post("/people/:id/remove", manage, requireRecentAuth(), readsForm(removeForm), async (c) => {
  const id = c.req.param("id");
  if (!ID.test(id)) return c.notFound();
  const form = c.req.valid("form");
  if (!form.ok) return removalPage(c, id, { error: form.message }, 400);
  // The access rule's refusal is audited here once; removePerson checks it again against the row it removes.
  const refused = await refuseUnlessManageable(c, id, "remove them", "remove a person");
  if (refused) return refused;
  const removed = await removePerson(c.env, getDb(c.env.DB), {
    actor: actorOf(c),
    targetId: id,
    confirm: form.data.confirm,
    now: c.var.clock.now(),
    ip: c.req.header("CF-Connecting-IP") ?? null,
    userAgent: (c.req.header("User-Agent") ?? "").slice(0, 512) || null,
  });
  if (!removed.ok) return removed.status === 404 ? c.notFound() : removalPage(c, id, { error: removed.message }, removed.status ?? 400);
  const list = removed.value.kind === "agent" ? "agents" : "contacts";
  return c.redirect(`/agent/admin/${list}?removed=${encodeURIComponent(removed.value.pseudonym)}`, 303);
});

/** Every open record the agent manages goes to another agent (or none), each list all or nothing, with history and Undo as any bulk change. */
removalRoutes.post("/people/:id/reassign", manage, requirePermission("manageAssets"), readsForm(reassignForm), async (c) => {
  const id = c.req.param("id");
  const person = ID.test(id) ? await holderOf(getDb(c.env.DB), id) : null;
  if (person?.kind !== "agent") return c.notFound();
  const form = c.req.valid("form");
  if (!form.ok) return removalPage(c, id, { error: form.message }, 400);
  const to = form.data.agentId === "none" ? null : form.data.agentId;
  if (to === person.id) return removalPage(c, id, { error: `Choose another agent than ${person.name}.` }, 400);
  const newAgent = to === null ? null : (await loadOptions(c.env.DB)).agents.find((a) => a.id === to);
  if (newAgent === undefined) return removalPage(c, id, { error: "Choose an active agent from the list." }, 400);
  if (newAgent) {
    const outside = await outsideGroupsOf(c.env.DB, person.id, newAgent);
    if (outside.assets + outside.software > 0) {
      return removalPage(
        c,
        id,
        {
          error: `${newAgent.name} is not in the Managed By Group of ${outside.assets} of these assets and ${outside.software} of these software records. Nothing was changed.`,
        },
        409,
      );
    }
  }
  const problems: string[] = [];
  for (const kind of [ASSET_KIND, SOFTWARE_KIND]) {
    const ids = await managedRecordIds(c.env.DB, kind.table, person.id);
    if (ids.length === 0) continue;
    const result = await bulkUpdate(c.env.DB, kind, { ids }, "agent", to, c.var.auth.user.id, c.var.clock.now());
    if (!result.ok) problems.push(`${kind.title}: ${result.message}`);
  }
  if (problems.length) return removalPage(c, id, { error: problems.join(" ") }, 409);
  return c.redirect(`/agent/admin/people/${id}/remove?done=reassigned`, 303);
});
