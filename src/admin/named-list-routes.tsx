import { changedAny } from "../db";
import { type Context, Hono } from "hono";
import { z } from "zod";
import type { AppEnv } from "../app-env";
import { auditOriginOf } from "../request/audit";
import { auditStatementWhere } from "../audit/events";
import { requireSession } from "../request/require-session";
import { newId } from "../lib/crypto";
import { readsForm, readsNothing } from "../request/validation";
import { requiredText } from "../lib/fields";
import { requirePermission } from "../request/guard";
import type { Permission } from "../access/permissions";
import { ErrorMessage, Field, Notice } from "../web/layout";
import { AdminFrame } from "./pages";

interface NamedList {
  table: "locations" | "groups";
  path: string;
  title: string;
  noun: string;
  idPrefix: string;
  permission: Permission;
  /** Counts what still refers to a row; a row in use cannot be deleted. */
  usage: string;
}

/** A small admin page for a list of names (locations, groups): list with usage, add, rename, delete when unused. */
export function namedListRoutes(list: NamedList) {
  const app = new Hono<AppEnv>();
  app.use("*", requireSession("agent"), requirePermission(list.permission));
  const form = z.object({ name: requiredText(`a ${list.noun} name`, 80) });

  async function page(c: Context<AppEnv>, extra: { error?: string; notice?: string } = {}, status: 200 | 400 = 200) {
    const { results } = await c.env.DB.prepare(`SELECT t.id, t.name, (${list.usage}) AS uses FROM ${list.table} t ORDER BY t.name`).all<{
      id: string;
      name: string;
      uses: number;
    }>();
    return c.html(
      <AdminFrame auth={c.var.auth} title={list.title}>
        <ErrorMessage message={extra.error} />
        <Notice message={extra.notice} />
        <form method="post" action={list.path} class="actions add-named">
          <Field label={`New ${list.noun}`} name="name" maxlength={80} />
          <button type="submit" class="primary">
            Add
          </button>
        </form>
        <div class="table-scroll">
          <table>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">In use by</th>
                <th scope="col">
                  <span class="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {results.map((r) => (
                <tr data-testid="named-row">
                  <td>
                    <form method="post" action={`${list.path}/${r.id}/rename`} class="actions">
                      <input name="name" value={r.name} maxlength={80} aria-label={`Name of ${r.name}`} />
                      <button type="submit" class="link">
                        Rename
                      </button>
                    </form>
                  </td>
                  <td>{r.uses}</td>
                  <td>
                    {r.uses === 0 && (
                      <form method="post" action={`${list.path}/${r.id}/delete`}>
                        <button type="submit" class="link" aria-label={`Delete ${r.name}`}>
                          Delete
                        </button>
                      </form>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </AdminFrame>,
      status,
    );
  }

  app.get("/", (c) => page(c));
  app.post("/", readsForm(form), async (c) => {
    const parsed = c.req.valid("form");
    if (!parsed.ok) return page(c, { error: parsed.message }, 400);
    const added = await c.env.DB.prepare(`INSERT OR IGNORE INTO ${list.table} (id, name, created_at) VALUES (?, ?, ?)`)
      .bind(newId(list.idPrefix), parsed.data.name, c.var.clock.now())
      .run();
    if (!changedAny(added)) return page(c, { error: `A ${list.noun} with this name already exists.` }, 400);
    return page(c, { notice: `Added ${parsed.data.name}.` });
  });
  app.post("/:id/rename", readsForm(form), async (c) => {
    const parsed = c.req.valid("form");
    if (!parsed.ok) return page(c, { error: parsed.message }, 400);
    const taken = await c.env.DB.prepare(`SELECT id FROM ${list.table} WHERE name = ? AND id != ?`)
      .bind(parsed.data.name, c.req.param("id"))
      .first();
    if (taken) return page(c, { error: `A ${list.noun} with this name already exists.` }, 400);
    const renamed = await c.env.DB.prepare(`UPDATE ${list.table} SET name = ? WHERE id = ?`)
      .bind(parsed.data.name, c.req.param("id"))
      .run();
    if (!changedAny(renamed)) return page(c, { error: `That ${list.noun} does not exist.` }, 400);
    return c.redirect(list.path, 303);
  });
  app.post("/:id/delete", readsNothing(), async (c) => {
    // Deleted only while nothing refers to it: the check and the delete are one statement.
    // Its audit entry in the same batch, stored only where the delete took.
    const entry = { event: "settings.changed", portal: "agent", actorId: c.var.auth.user.id, targetId: null } as const;
    const [deleted] = await c.env.DB.batch([
      c.env.DB.prepare(`DELETE FROM ${list.table} AS t WHERE t.id = ? AND (${list.usage}) = 0`).bind(c.req.param("id")),
      auditStatementWhere(
        c.env.DB,
        { ...entry, details: { deleted: list.table, id: c.req.param("id") } },
        auditOriginOf(c),
        "changes() = 1",
      ),
    ]);
    if (!changedAny(deleted!)) return page(c, { error: `That ${list.noun} is in use or does not exist.` }, 400);
    return c.redirect(list.path, 303);
  });
  return app;
}

export const locationsRoutes = namedListRoutes({
  table: "locations",
  path: "/agent/admin/locations",
  title: "Locations",
  noun: "location",
  idPrefix: "loc",
  permission: "manageAssets",
  usage: "SELECT count(*) FROM assets a WHERE a.location_id = t.id) + (SELECT count(*) FROM software s WHERE s.location_id = t.id",
});
export const groupsRoutes = namedListRoutes({
  table: "groups",
  path: "/agent/admin/groups",
  title: "Groups",
  noun: "group",
  idPrefix: "grp",
  permission: "manageAgents",
  usage:
    "SELECT count(*) FROM group_members m WHERE m.group_id = t.id) + (SELECT count(*) FROM assets a WHERE a.group_id = t.id) + (SELECT count(*) FROM software s WHERE s.group_id = t.id",
});
