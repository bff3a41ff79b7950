import { type Context, Hono } from "hono";
import { eq } from "drizzle-orm";
import { z } from "zod";
import type { AppEnv } from "../app-env";
import { recordAudit } from "../audit/audit";
import { requireSession } from "../auth/middleware";
import { getDb } from "../db";
import { roles } from "../db/schema";
import { noteInput, requiredText } from "../lib/validation";
import { requirePermission } from "../settings/guard";
import { ALL_PERMISSIONS, type Permission, PERMISSIONS } from "../settings/permissions";
import { ErrorMessage, Notice } from "../web/layout";
import { deleteRole, listRoles, saveRole } from "./agents";
import { AdminFrame, RoleForm } from "./pages";

const roleForm = z.object({
  name: requiredText("a role name", 60),
  permissions: z
    .union([z.string(), z.array(z.string())])
    .optional()
    .transform((v) => (v === undefined ? [] : Array.isArray(v) ? v : [v]))
    .pipe(z.array(z.enum(ALL_PERMISSIONS as [Permission, ...Permission[]], { error: "One of the permissions is not known." }))),
});

type Ctx = Context<AppEnv>;

async function readRoleForm(c: Ctx) {
  const body = await c.req.parseBody({ all: true }).catch(() => null);
  noteInput(c, roleForm);
  const result = roleForm.safeParse(body ?? {});
  return result.success ? ({ ok: true, data: result.data } as const) : ({ ok: false, message: result.error.issues[0]?.message ?? "Check the form." } as const);
}

/** Roles: /agent/admin/roles. Custom roles with permission checkboxes; built-in roles stay. */
export const rolesRoutes = new Hono<AppEnv>();
rolesRoutes.use("*", requireSession("agent"), requirePermission("manageAgents"));

async function listPage(c: Ctx, extra: { error?: string; notice?: string } = {}, status: 200 | 400 = 200) {
  const rows = await listRoles(getDb(c.env.DB));
  return c.html(
    <AdminFrame auth={c.var.auth} title="Roles">
      <ErrorMessage message={extra.error} />
      <Notice message={extra.notice} />
      <p class="actions">
        <a class="button primary" href="/agent/admin/roles/new">New role</a>
      </p>
      <table>
        <thead>
          <tr>
            <th scope="col">Role</th>
            <th scope="col">Permissions</th>
            <th scope="col">Agents</th>
            <th scope="col"><span class="visually-hidden">Actions</span></th>
          </tr>
        </thead>
        <tbody>
          {rows.map((r) => (
            <tr>
              <td>
                <a href={`/agent/admin/roles/${r.id}`}>{r.name}</a> {r.builtin && <span class="badge">built-in</span>}
              </td>
              <td>{(r.builtin === "administrator" ? ALL_PERMISSIONS : r.permissions).map((p) => PERMISSIONS[p]).join("; ") || "None"}</td>
              <td>{r.agents}</td>
              <td>
                {!r.builtin && (
                  <form method="post" action={`/agent/admin/roles/${r.id}/delete`}>
                    <button type="submit" class="link" aria-label={`Delete ${r.name}`}>Delete</button>
                  </form>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </AdminFrame>,
    status,
  );
}

rolesRoutes.get("/", (c) => listPage(c, { notice: { saved: "Role saved.", deleted: "Role deleted." }[c.req.query("done") ?? ""] }));
rolesRoutes.get("/new", (c) => c.html(<AdminFrame auth={c.var.auth} title="New role"><RoleForm action="/agent/admin/roles/new" /></AdminFrame>));

async function save(c: Ctx, roleId: string | null) {
  const form = await readRoleForm(c);
  const title = roleId ? "Edit role" : "New role";
  const action = roleId ? `/agent/admin/roles/${roleId}` : "/agent/admin/roles/new";
  if (!form.ok) return c.html(<AdminFrame auth={c.var.auth} title={title}><ErrorMessage message={form.message} /><RoleForm action={action} /></AdminFrame>, 400);
  const saved = await saveRole(c.env, getDb(c.env.DB), roleId, form.data, c.var.clock.now());
  if (!saved.ok) {
    return c.html(<AdminFrame auth={c.var.auth} title={title}><ErrorMessage message={saved.message} /><RoleForm action={action} value={{ ...form.data, builtin: null }} /></AdminFrame>, 400);
  }
  await recordAudit(c, { event: "role.saved", portal: "agent", actorId: c.var.auth.user.id, targetId: saved.value, details: { name: form.data.name, permissions: form.data.permissions } });
  return c.redirect("/agent/admin/roles?done=saved", 303);
}

rolesRoutes.post("/new", (c) => save(c, null));
rolesRoutes.get("/:id", async (c) => {
  const role = await getDb(c.env.DB).select().from(roles).where(eq(roles.id, c.req.param("id"))).get();
  if (!role) return c.notFound();
  return c.html(<AdminFrame auth={c.var.auth} title={role.name}><RoleForm action={`/agent/admin/roles/${role.id}`} value={role} /></AdminFrame>);
});
rolesRoutes.post("/:id", (c) => save(c, c.req.param("id")));
rolesRoutes.post("/:id/delete", async (c) => {
  const deleted = await deleteRole(c.env, getDb(c.env.DB), c.req.param("id"));
  if (!deleted.ok) return listPage(c, { error: deleted.message }, 400);
  await recordAudit(c, { event: "role.deleted", portal: "agent", actorId: c.var.auth.user.id, targetId: c.req.param("id") });
  return c.redirect("/agent/admin/roles?done=deleted", 303);
});
