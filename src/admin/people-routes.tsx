import { type Context, Hono } from "hono";
import { z } from "zod";
import type { AppEnv } from "../app-env";
import { recordAudit } from "../audit/audit";
import { requireSession } from "../auth/middleware";
import { passwordRules } from "../auth/password-policy";
import { requireRecentAuth } from "../auth/reauth";
import { endAllSessionsOfUser, portalStub } from "../auth/sessions";
import { setPassword } from "../auth/password-change";
import { findUserById } from "../auth/users";
import { getDb } from "../db";
import { emailField, noteInput, parseForm, passwordField, requiredText } from "../lib/validation";
import { hasConfirmedAuthenticator } from "../mfa/totp";
import { countUnusedRecoveryCodes, listRecoveryCodes } from "../mfa/recovery-codes";
import { requirePermission } from "../settings/guard";
import { hasPermission } from "../settings/permissions";
import { ErrorMessage, Notice } from "../web/layout";
import { createAgent, groupIdsOf, listAgents, listContacts, listGroups, listRoles, setContactActive, updateAgent } from "./agents";
import { notifyRecoveryCodesViewed, resetMfa } from "./mfa-admin";
import { AdminFrame, AgentForm, MfaPanel, PeopleTable, RecoveryCodesView, SetPasswordForm } from "./pages";

type Ctx = Context<AppEnv>;
const ID = /^(agt|cnt)_[a-z2-7]{16}$/;

const groupIds = z
  .union([z.string(), z.array(z.string())])
  .optional()
  .transform((v) => (v === undefined ? [] : Array.isArray(v) ? v : [v]).filter(Boolean))
  .pipe(z.array(z.string().max(40)).max(50));
const agentFields = { name: requiredText("a name", 100), email: emailField(), roleId: requiredText("a role", 40), groupIds };
const newAgentForm = z.object({ ...agentFields, password: passwordField("a first password") });
const editAgentForm = z.object({ ...agentFields, active: z.enum(["on", ""]).optional().transform((v) => v === "on") });

async function parseAgentForm<S extends z.ZodType>(c: Ctx, schema: S) {
  // Checkbox groups arrive as repeated fields: parseBody's `all` keeps them as arrays.
  const body = await c.req.parseBody({ all: true }).catch(() => null);
  if (!body) return { ok: false as const, message: "The form could not be read." };
  noteInput(c, schema);
  const result = schema.safeParse({ ...body, groupIds: body["groupIds"] });
  return result.success ? { ok: true as const, data: result.data as z.output<S> } : { ok: false as const, message: result.error.issues[0]?.message ?? "Check the form." };
}

/** Agents and contacts, for admins: /agent/admin/... */
export const peopleRoutes = new Hono<AppEnv>();
peopleRoutes.use("*", requireSession("agent"));
const manage = requirePermission("manageAgents");
const recovery = requirePermission("manageRecoveryAndMfaReset");

async function agentPage(c: Ctx, agentId: string, extra: { error?: string; notice?: string } = {}, status: 200 | 400 | 403 = 200) {
  const db = getDb(c.env.DB);
  const agent = await findUserById(db, agentId);
  if (!agent || agent.kind !== "agent") return c.notFound();
  const [roles, groups, memberOf, hasApp, codesLeft, policy] = await Promise.all([
    listRoles(db),
    listGroups(db),
    groupIdsOf(db, agentId),
    hasConfirmedAuthenticator(db, agentId),
    countUnusedRecoveryCodes(db, agentId),
    portalStub(c.env, "agent").getPolicy(),
  ]);
  const auth = c.var.auth;
  return c.html(
    <AdminFrame auth={auth} title={agent.name}>
      <ErrorMessage message={extra.error} />
      <Notice message={extra.notice} />
      {hasPermission(auth.permissions, "manageAgents") && (
        <>
          <AgentForm action={`/agent/admin/agents/${agentId}`} roles={roles} groups={groups} value={{ ...agent, groupIds: memberOf }} />
          <SetPasswordForm action={`/agent/admin/agents/${agentId}/password`} rules={passwordRules(policy.password)} />
        </>
      )}
      {hasPermission(auth.permissions, "manageRecoveryAndMfaReset") && (
        <MfaPanel person={agent} hasApp={hasApp} codesLeft={codesLeft} self={agent.id === auth.user.id} base={`/agent/admin/people/${agentId}`} />
      )}
    </AdminFrame>,
    status,
  );
}

peopleRoutes.get("/agents", manage, async (c) => {
  const agents = await listAgents(getDb(c.env.DB));
  return c.html(
    <AdminFrame auth={c.var.auth} title="Agents">
      <Notice message={c.req.query("created") ? "Agent created." : undefined} />
      <p class="actions">
        <a class="button primary" href="/agent/admin/agents/new">New agent</a>
      </p>
      <PeopleTable rows={agents.map((a) => ({ ...a, href: `/agent/admin/agents/${a.id}`, extra: [a.roleName ?? "", a.groups.join(", ")] }))} extraHeads={["Role", "Groups"]} />
    </AdminFrame>,
  );
});

async function newAgentPage(c: Ctx, error?: string, status: 200 | 400 = 200) {
  const db = getDb(c.env.DB);
  const [roles, groups, policy] = await Promise.all([listRoles(db), listGroups(db), portalStub(c.env, "agent").getPolicy()]);
  return c.html(
    <AdminFrame auth={c.var.auth} title="New agent">
      <ErrorMessage message={error} />
      <AgentForm action="/agent/admin/agents/new" roles={roles} groups={groups} rules={passwordRules(policy.password)} />
    </AdminFrame>,
    status,
  );
}

peopleRoutes.get("/agents/new", manage, (c) => newAgentPage(c));
peopleRoutes.post("/agents/new", manage, async (c) => {
  const form = await parseAgentForm(c, newAgentForm);
  if (!form.ok) return newAgentPage(c, form.message, 400);
  const policy = await portalStub(c.env, "agent").getPolicy();
  const created = await createAgent(c.env, getDb(c.env.DB), form.data, policy.password, c.var.clock.now());
  if (!created.ok) return newAgentPage(c, created.message, 400);
  await recordAudit(c, { event: "user.created", portal: "agent", actorId: c.var.auth.user.id, targetId: created.value, details: { email: form.data.email, roleId: form.data.roleId } });
  return c.redirect("/agent/admin/agents?created=1", 303);
});

peopleRoutes.get("/agents/:id", async (c) => {
  const auth = c.var.auth;
  if (!hasPermission(auth.permissions, "manageAgents") && !hasPermission(auth.permissions, "manageRecoveryAndMfaReset")) return requirePermission("manageAgents")(c, async () => {});
  if (!ID.test(c.req.param("id"))) return c.notFound();
  const notices: Record<string, string> = { saved: "Saved.", password: "Password set. The agent was signed out everywhere.", reset: "MFA was reset. They were signed out and will set up their authenticator app again at their next sign-in." };
  return agentPage(c, c.req.param("id"), { notice: notices[c.req.query("done") ?? ""] });
});

peopleRoutes.post("/agents/:id", manage, async (c) => {
  const agentId = c.req.param("id");
  if (!ID.test(agentId)) return c.notFound();
  const form = await parseAgentForm(c, editAgentForm);
  if (!form.ok) return agentPage(c, agentId, { error: form.message }, 400);
  const updated = await updateAgent(c.env, getDb(c.env.DB), agentId, form.data, c.var.clock.now());
  if (!updated.ok) return agentPage(c, agentId, { error: updated.message }, 400);
  await recordAudit(c, { event: "user.updated", portal: "agent", actorId: c.var.auth.user.id, targetId: agentId, details: { roleId: form.data.roleId, active: form.data.active, groupIds: form.data.groupIds } });
  return c.redirect(`/agent/admin/agents/${agentId}?done=saved`, 303);
});

/** An admin sets an agent's password: the agents' policy applies, and every session of that agent ends. */
peopleRoutes.post("/agents/:id/password", manage, requireRecentAuth(), async (c) => {
  const agentId = c.req.param("id");
  const db = getDb(c.env.DB);
  const agent = ID.test(agentId) ? await findUserById(db, agentId) : null;
  if (!agent || agent.kind !== "agent") return c.notFound();
  const form = await parseForm(c, z.object({ password: passwordField("a new password") }));
  if (!form.ok) return agentPage(c, agentId, { error: form.message }, 400);
  const policy = await portalStub(c.env, "agent").getPolicy();
  const changed = await setPassword(c.env, db, agent, form.data.password, policy.password, c.var.clock.now());
  if (!changed.ok) return agentPage(c, agentId, { error: changed.message }, 400);
  await endAllSessionsOfUser(c.env, agentId);
  await recordAudit(c, { event: "password.changed", portal: "agent", actorId: c.var.auth.user.id, targetId: agentId, details: { byAdmin: true } });
  return c.redirect(`/agent/admin/agents/${agentId}?done=password`, 303);
});

peopleRoutes.get("/contacts", manage, async (c) => {
  const contacts = await listContacts(getDb(c.env.DB));
  return c.html(
    <AdminFrame auth={c.var.auth} title="Contacts">
      <PeopleTable rows={contacts.map((p) => ({ ...p, href: `/agent/admin/contacts/${p.id}`, extra: [] }))} extraHeads={[]} />
    </AdminFrame>,
  );
});

peopleRoutes.get("/contacts/:id", async (c) => {
  const auth = c.var.auth;
  if (!hasPermission(auth.permissions, "manageAgents") && !hasPermission(auth.permissions, "manageRecoveryAndMfaReset")) return requirePermission("manageAgents")(c, async () => {});
  const db = getDb(c.env.DB);
  const contact = ID.test(c.req.param("id")) ? await findUserById(db, c.req.param("id")) : null;
  if (!contact || contact.kind !== "contact") return c.notFound();
  const [hasApp, codesLeft] = await Promise.all([hasConfirmedAuthenticator(db, contact.id), countUnusedRecoveryCodes(db, contact.id)]);
  return c.html(
    <AdminFrame auth={auth} title={contact.name}>
      <Notice message={c.req.query("done") === "reset" ? "MFA was reset. They were signed out and will set up their authenticator app again at their next sign-in." : undefined} />
      <p>
        {contact.email} · {contact.active ? "Active" : "Disabled"}
      </p>
      {hasPermission(auth.permissions, "manageAgents") && (
        <form method="post" action={`/agent/admin/contacts/${contact.id}/active`} class="actions">
          <input type="hidden" name="active" value={contact.active ? "" : "on"} />
          <button type="submit">{contact.active ? "Disable contact" : "Enable contact"}</button>
        </form>
      )}
      {hasPermission(auth.permissions, "manageRecoveryAndMfaReset") && (
        <MfaPanel person={contact} hasApp={hasApp} codesLeft={codesLeft} self={false} base={`/agent/admin/people/${contact.id}`} canViewCodes={false} />
      )}
    </AdminFrame>,
  );
});

peopleRoutes.post("/contacts/:id/active", manage, async (c) => {
  const id = c.req.param("id");
  if (!ID.test(id)) return c.notFound();
  const form = await parseForm(c, z.object({ active: z.enum(["on", ""], { error: "The Active box had an unexpected value. Reload the page and try again." }).optional() }));
  if (!form.ok) return c.text(form.message, 400);
  const result = await setContactActive(c.env, getDb(c.env.DB), id, form.data.active === "on", c.var.clock.now());
  if (!result.ok) return c.notFound();
  await recordAudit(c, { event: "user.updated", portal: "support", actorId: c.var.auth.user.id, targetId: id, details: { active: form.data.active === "on" } });
  return c.redirect(`/agent/admin/contacts/${id}`, 303);
});

peopleRoutes.get("/people/:id/reset-mfa", recovery, requireRecentAuth(), async (c) => {
  const target = ID.test(c.req.param("id")) ? await findUserById(getDb(c.env.DB), c.req.param("id")) : null;
  if (!target) return c.notFound();
  return c.html(
    <AdminFrame auth={c.var.auth} title={`Reset MFA of ${target.name}?`}>
      <p>
        This removes {target.name}'s authenticator app, passkeys and recovery codes, signs them out everywhere and emails them. They set up the app again at
        their next sign-in.
      </p>
      <form method="post" action={`/agent/admin/people/${target.id}/reset-mfa`} class="actions">
        <button type="submit" class="danger">Reset MFA</button>
        <a href={target.kind === "agent" ? `/agent/admin/agents/${target.id}` : `/agent/admin/contacts/${target.id}`}>Cancel</a>
      </form>
    </AdminFrame>,
  );
});

/** SECURITY.md 17: reset someone's MFA. Permission, a re-authentication in the last 5 minutes, and never oneself. */
peopleRoutes.post("/people/:id/reset-mfa", recovery, requireRecentAuth(), async (c) => {
  const auth = c.var.auth;
  const db = getDb(c.env.DB);
  const target = ID.test(c.req.param("id")) ? await findUserById(db, c.req.param("id")) : null;
  if (!target) return c.notFound();
  const back = target.kind === "agent" ? `/agent/admin/agents/${target.id}` : `/agent/admin/contacts/${target.id}`;
  if (target.id === auth.user.id) return agentPage(c, target.id, { error: "You cannot reset your own MFA here. Ask another administrator." }, 403);
  await resetMfa(c.env, db, target, auth.user, c.var.clock.now());
  await recordAudit(c, { event: "mfa.reset", portal: target.kind === "agent" ? "agent" : "support", actorId: auth.user.id, targetId: target.id });
  return c.redirect(`${back}?done=reset`, 303);
});

/** SECURITY.md 11: an agent's recovery codes, which are used. Permission and re-authentication; audited; the agent is emailed. */
peopleRoutes.get("/people/:id/recovery-codes", recovery, requireRecentAuth(), async (c) => {
  const auth = c.var.auth;
  const db = getDb(c.env.DB);
  const target = ID.test(c.req.param("id")) ? await findUserById(db, c.req.param("id")) : null;
  if (!target || target.kind !== "agent") return c.notFound();
  const codes = await listRecoveryCodes(c.env, db, target.id);
  await recordAudit(c, { event: "recovery_codes.viewed", portal: "agent", actorId: auth.user.id, targetId: target.id });
  await notifyRecoveryCodesViewed(c.env, target, auth.user, c.var.clock.now());
  return c.html(
    <AdminFrame auth={auth} title={`Recovery codes of ${target.name}`}>
      <RecoveryCodesView codes={codes} />
      <p class="hint">{target.name} has been emailed that you viewed these. This view is in the audit log.</p>
      <a href={`/agent/admin/agents/${target.id}`}>Back to {target.name}</a>
    </AdminFrame>,
  );
});
