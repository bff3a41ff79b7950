import { type Context, Hono } from "hono";
import { eq } from "drizzle-orm";
import { z } from "zod";
import type { AppEnv } from "../app-env";
import { auditOriginOf } from "../request/audit";
import type { AuditEntry } from "../audit/events";
import { requireSession } from "../request/require-session";
import { getDb } from "../db";
import { roles } from "../db/schema";
import { type Read, readsFormLists, readsNothing } from "../request/validation";
import { type FieldErrors, requiredText } from "../lib/fields";
import { actorOf, requirePermission } from "../request/guard";
import { grantablePermissions, mayChangeRole } from "../access/grants";
import { recentlyReauthenticated } from "../sign-in/reauth";
import { sendAfterResponse } from "../request/mail";
import { auditRefusal } from "../request/admin-refusals";
import { ALL_PERMISSIONS, type Permission, PERMISSIONS } from "../access/permissions";
import { ErrorMessage, FormProblems, Notice } from "../web/layout";
import { deleteRole, holdersOfRole, listRoles, REAUTH_FIRST, saveRole } from "./agents";
import { rolePermissionsChangedNotice } from "./notices";
import { AdminFrame, ReauthLink, RoleForm } from "./pages";
import { ownValue } from "../lib/lookup";
import { portalWriter } from "../request/portal";
import { reloadRolePermissions } from "../portal/state-cache";

const roleForm = z.object({
  name: requiredText("a role name", 60),
  permissions: z
    .union([z.string(), z.array(z.string())])
    .optional()
    .transform((v) => (v === undefined ? [] : Array.isArray(v) ? v : [v]))
    .pipe(z.array(z.enum(ALL_PERMISSIONS as [Permission, ...Permission[]], { error: "One of the permissions is not known." }))),
});

type Ctx = Context<AppEnv>;

/** Roles: /agent/admin/roles. Custom roles with permission checkboxes; built-in roles stay. */
export const rolesRoutes = new Hono<AppEnv>();
rolesRoutes.use("*", requireSession("agent"), requirePermission("manageAgents"));

async function listPage(c: Ctx, extra: { error?: string; notice?: string } = {}, status: 200 | 400 | 401 | 403 | 404 | 409 = 200) {
  const rows = await listRoles(getDb(c.env.DB));
  return c.html(
    <AdminFrame auth={c.var.auth} title="Roles">
      <ErrorMessage message={extra.error} />
      {extra.error === REAUTH_FIRST && <ReauthLink back="/agent/admin/roles" />}
      <Notice message={extra.notice} />
      <p class="actions">
        <a class="button primary" href="/agent/admin/roles/new">
          New role
        </a>
      </p>
      <div class="table-scroll">
        <table>
          <thead>
            <tr>
              <th scope="col">Role</th>
              <th scope="col">Permissions</th>
              <th scope="col">Agents</th>
              <th scope="col">
                <span class="visually-hidden">Actions</span>
              </th>
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

/** The role form: only the permissions this admin holds can be ticked, and their own role is read-only. */
async function formPage(
  c: Ctx,
  roleId: string | null,
  extra: { error?: string; errors?: FieldErrors; value?: { name: string; permissions: Permission[]; builtin: string | null } } = {},
  status: 200 | 400 | 401 | 403 | 404 | 409 = 200,
) {
  const actor = actorOf(c);
  const role = roleId ? await getDb(c.env.DB).select().from(roles).where(eq(roles.id, roleId)).get() : null;
  if (roleId && !role) return c.notFound();
  const decision = role ? mayChangeRole(actor, role.id, role.permissions, role.permissions) : { ok: true as const };
  const action = roleId ? `/agent/admin/roles/${roleId}` : "/agent/admin/roles/new";
  return c.html(
    <AdminFrame auth={c.var.auth} title={role ? role.name : "New role"}>
      <FormProblems error={extra.error} errors={extra.errors} fields={["name"]} />
      {(extra.error === REAUTH_FIRST || (!recentlyReauthenticated(c) && decision.ok)) && (
        <ReauthLink back={roleId ? `/agent/admin/roles/${roleId}` : "/agent/admin/roles/new"} />
      )}
      <RoleForm
        action={action}
        value={extra.value ?? role ?? undefined}
        grantable={grantablePermissions(actor)}
        locked={decision.ok ? undefined : decision.message}
        errors={extra.errors}
      />
    </AdminFrame>,
    status,
  );
}

rolesRoutes.get("/", (c) => listPage(c, { notice: ownValue({ saved: "Role saved.", deleted: "Role deleted." }, c.req.query("done")) }));
rolesRoutes.get("/new", (c) => formPage(c, null));

async function save(c: Ctx, roleId: string | null, form: Read<z.output<typeof roleForm>>) {
  if (!form.ok) {
    // What was typed and ticked comes back with each field's problem (only known permissions are kept).
    const ticked = [form.values.permissions ?? []]
      .flat()
      .filter((p): p is Permission => (ALL_PERMISSIONS as readonly string[]).includes(p));
    const value = { name: typeof form.values.name === "string" ? form.values.name : "", permissions: ticked, builtin: null };
    return formPage(c, roleId, Object.keys(form.errors).length ? { errors: form.errors, value } : { error: form.message, value }, 400);
  }
  const value = { ...form.data, builtin: null };
  const db = getDb(c.env.DB);
  const now = c.var.clock.now();
  // The role's audit row and the notices to those who hold it are stored with the change.
  const record = {
    origin: auditOriginOf(c),
    build: async (id: string) => ({
      entries: [
        {
          event: "role.saved",
          portal: "agent",
          actorId: c.var.auth.user.id,
          targetId: id,
          details: { name: form.data.name, permissions: form.data.permissions },
        } satisfies AuditEntry,
      ],
      notices: (roleId ? await holdersOfRole(db, roleId) : []).map((holder) =>
        rolePermissionsChangedNotice(holder, form.data.name, c.var.auth.user),
      ),
    }),
  };
  const saved = await saveRole(c.env, db, actorOf(c), roleId, form.data, now, recentlyReauthenticated(c), record);
  await auditRefusal(c, saved, roleId ? "change a role" : "create a role", roleId);
  if (!saved.ok) return formPage(c, roleId, { error: saved.message, value }, saved.status ?? 400);
  // Answers only once no isolate still holds the role's permissions from before (src/portal/state-cache.ts).
  await reloadRolePermissions(portalWriter(c));
  await sendAfterResponse(c, saved.value.mailIds);
  return c.redirect("/agent/admin/roles?done=saved", 303);
}

rolesRoutes.post("/new", readsFormLists(roleForm), (c) => save(c, null, c.req.valid("form")));
rolesRoutes.get("/:id", (c) => formPage(c, c.req.param("id")));
rolesRoutes.post("/:id", readsFormLists(roleForm), (c) => save(c, c.req.param("id"), c.req.valid("form")));
rolesRoutes.post("/:id/delete", readsNothing(), async (c) => {
  const deleted = await deleteRole(getDb(c.env.DB), actorOf(c), c.req.param("id"), recentlyReauthenticated(c), auditOriginOf(c));
  await auditRefusal(c, deleted, "delete a role", c.req.param("id"));
  if (!deleted.ok) return listPage(c, { error: deleted.message }, deleted.status ?? 400);
  await reloadRolePermissions(portalWriter(c));
  return c.redirect("/agent/admin/roles?done=deleted", 303);
});
