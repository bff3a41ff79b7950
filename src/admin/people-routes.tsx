import { type Context, Hono } from "hono";
import { z } from "zod";
import type { AppEnv } from "../app-env";
import { auditOriginOf } from "../request/audit";
import { type AuditEntry, auditInsert } from "../audit/events";
import { type Notice as MailNotice, queueNotices } from "../mail/outbox";
import { recordAuditWithNotices, sendAfterResponse } from "../request/mail";
import { owedAudit, storeOwedAudits } from "../auth/owed-audits";
import { AFTER_ONE_CHANGE, recorded } from "../audit/recording";
import { requireSession } from "../request/require-session";
import { passwordRules } from "../auth/password-policy";
import { recentlyReauthenticated, requireRecentAuth } from "../sign-in/reauth";
import { endAllSessionsOfUser } from "../auth/sessions";
import { userStub } from "../auth/user-object";
import { setPassword } from "../auth/password-change";
import { findUserById, normalizeEmail } from "../auth/users";
import { getDb } from "../db";
import { readsForm, readsFormLists, readsNothing } from "../request/validation";
import { emailField, type FieldErrors, type FormValues, type Parsed, passwordField, requiredText } from "../lib/fields";
import { hasConfirmedAuthenticator } from "../factors/totp";
import { listPasskeys, removePasskey } from "../factors/passkeys";
import { portalOfKind } from "../portal/policy";
import { countUnusedRecoveryCodes, listRecoveryCodes } from "../factors/recovery-codes";
import { actorOf, requirePermission } from "../request/guard";
import { type Decision, holdsAllOf, mayAssignRole, mayManagePerson } from "../access/grants";
import { hasPermission, type Permission } from "../access/permissions";
import { ErrorMessage, FormProblems, Notice } from "../web/layout";
import {
  type AgentChanges,
  createAgent,
  REAUTH_FIRST,
  groupIdsOf,
  holderOf,
  listAgents,
  listContacts,
  listGroups,
  listRoles,
  type Result,
  setContactActive,
  updateAgent,
} from "./agents";
import { emailChangedNotices, passwordSetByAdminNotice, roleChangedNotice, secondFactorRemovedNotice } from "./notices";
import { recoveryCodesViewedNotice, resetMfa } from "./mfa-admin";
import {
  AdminFrame,
  AgentForm,
  MfaPanel,
  PersonDevicesPanel,
  PersonSessionsPanel,
  personPage,
  ReauthLink,
  PeopleTable,
  RecoveryCodesView,
  type RoleChoice,
  SetPasswordForm,
  SsoPanel,
} from "./pages";
import { linkedIdentityOf } from "../sso/invitations";
import { ssoConfig } from "../sso/oidc";
import { ownValue } from "../lib/lookup";
import { auditRefusal, refuseUnlessManageable } from "../request/admin-refusals";
import { ssoInviteRoutes } from "./sso-invite-routes";
import { accessPassRoutes } from "./access-pass-routes";
import { personSessionsRoutes } from "./person-sessions-routes";
import { liveAccessPass } from "../factors/access-pass";
import { removalRoutes, removedNotice } from "./removal-routes";
import { RemovalPanel } from "./removal-pages";
import { portalPolicy } from "../request/portal";

type Ctx = Context<AppEnv>;
const ID = /^(agt|cnt)_[a-z2-7]{16}$/;

const groupIds = z
  .union([z.string(), z.array(z.string())])
  .optional()
  .transform((v) => (v === undefined ? [] : Array.isArray(v) ? v : [v]).filter(Boolean))
  .pipe(z.array(z.string().max(40)).max(50));
const agentFields = { name: requiredText("a name", 100), email: emailField(), roleId: requiredText("a role", 40), groupIds };
const newAgentForm = z.object({ ...agentFields, password: passwordField("a first password") });
const editAgentForm = z.object({
  ...agentFields,
  active: z
    .enum(["on", ""])
    .optional()
    .transform((v) => v === "on"),
});

const passwordForm = z.object({ password: passwordField("a new password") });
const activeForm = z.object({
  active: z.enum(["on", ""], { error: "The Active box had an unexpected value. Reload the page and try again." }).optional(),
});

/** Agents and contacts, for admins: /agent/admin/... */
export const peopleRoutes = new Hono<AppEnv>();
peopleRoutes.use("*", requireSession("agent"));
peopleRoutes.route("/", ssoInviteRoutes);
peopleRoutes.route("/", removalRoutes);
peopleRoutes.route("/", accessPassRoutes);
peopleRoutes.route("/", personSessionsRoutes);
const manage = requirePermission("manageAgents");
const recovery = requirePermission("manageRecoveryAndMfaReset");

/** The roles an admin sees on the agent form, each refused with its reason if not theirs to give. */
function roleChoices(
  c: Ctx,
  roles: { id: string; name: string; permissions: Permission[] }[],
  target: Awaited<ReturnType<typeof holderOf>>,
): RoleChoice[] {
  const actor = actorOf(c);
  return roles.map((r) => {
    const grant = mayAssignRole(actor, target, r);
    return { id: r.id, name: r.name, refused: grant.ok ? undefined : grant.message };
  });
}

/** What an admin is told back on an agent's or a contact's page after acting on them (`?done=`). */
const PERSON_NOTICES: Record<string, string> = {
  passkey_removed: "Passkey removed. They were emailed.",
  device_forgotten: "Device forgotten: it will be asked for the second step again. They were emailed.",
  signed_out: "Signed out of that session. They were emailed why.",
  signed_out_everywhere: "Signed out everywhere. They were emailed why.",
  reset: "MFA was reset. They were signed out and will set up their authenticator app again at their next sign-in.",
};

const reason = (decision: Decision) => (decision.ok ? undefined : decision.message);

/** The passkeys and remembered devices panel, for admins with the recovery permission over this person. */
async function devicesPanel(
  c: Ctx,
  person: { id: string; name: string; kind: "agent" | "contact" },
  passkeyList: Awaited<ReturnType<typeof listPasskeys>>,
) {
  const policy = await portalPolicy(c, portalOfKind(person.kind));
  const now = c.var.clock.now();
  const devices = await userStub(c.env, person.id).listDevices(policy.generation, now);
  return (
    <PersonDevicesPanel person={person} passkeys={passkeyList} devices={devices} now={now} base={`/agent/admin/people/${person.id}`} />
  );
}

/** A person's open sessions, for admins who may edit people and may act on this one. */
async function sessionsPanel(c: Ctx, person: { id: string; name: string; kind: "agent" | "contact" }) {
  const policy = await portalPolicy(c, portalOfKind(person.kind));
  const now = c.var.clock.now();
  const sessions = await userStub(c.env, person.id).listSessions({ generation: policy.generation, policy: policy.session, now });
  return (
    <PersonSessionsPanel person={person} sessions={sessions} now={now} action={`/agent/admin/people/${person.id}/sessions/sign-out`} />
  );
}

function statusOf(result: Result<unknown>): 400 | 401 | 403 | 404 | 409 {
  return result.ok ? 400 : (result.status ?? 400);
}

/** What a refused form had in it, as the form shows it again (never a password). */
function typedPerson(values: FormValues | undefined) {
  if (!values) return undefined;
  const text = (key: string) => (typeof values[key] === "string" ? (values[key] as string) : undefined);
  return { name: text("name"), email: text("email"), roleId: text("roleId"), groupIds: [values.groupIds ?? []].flat() };
}

async function agentPage(
  c: Ctx,
  agentId: string,
  extra: { error?: string; notice?: string; errors?: FieldErrors; values?: FormValues } = {},
  status: 200 | 400 | 401 | 403 | 404 | 409 = 200,
) {
  const db = getDb(c.env.DB);
  const agent = await findUserById(db, agentId);
  if (agent?.kind !== "agent") return c.notFound();
  const holder = (await holderOf(db, agentId))!;
  const actor = actorOf(c);
  const [roles, groups, memberOf, hasApp, codesLeft, passkeyList, policy, linked, accessPass] = await Promise.all([
    listRoles(db),
    listGroups(db),
    groupIdsOf(db, agentId),
    hasConfirmedAuthenticator(db, agentId),
    countUnusedRecoveryCodes(db, agentId),
    listPasskeys(db, agentId),
    portalPolicy(c, "agent"),
    linkedIdentityOf(db, agentId),
    liveAccessPass(db, agentId, c.var.clock.now()),
  ]);
  const auth = c.var.auth;
  return c.html(
    <AdminFrame auth={auth} title={agent.name}>
      <FormProblems error={extra.error} errors={extra.errors} fields={["name", "email", "roleId"]} />
      <Notice message={extra.notice} />
      {hasPermission(auth.permissions, "manageAgents") && (
        <>
          {extra.error === REAUTH_FIRST && <ReauthLink back={`/agent/admin/agents/${agentId}`} />}
          <AgentForm
            action={`/agent/admin/agents/${agentId}`}
            roles={roleChoices(c, roles, holder)}
            groups={groups}
            value={{ ...agent, groupIds: memberOf }}
            roleLocked={agent.id === actor.id ? "You cannot change your own role. Ask another administrator." : undefined}
            locked={reason(mayManagePerson(actor, holder, "change their name, groups, role, email or active state"))}
            reauthHint={!recentlyReauthenticated(c)}
            errors={extra.errors}
            typed={typedPerson(extra.values)}
          />
          {mayManagePerson(actor, holder, "set their password").ok ? (
            <SetPasswordForm action={`/agent/admin/agents/${agentId}/password`} rules={passwordRules(policy.password)} />
          ) : (
            <p class="hint">{reason(mayManagePerson(actor, holder, "set their password"))}</p>
          )}
          <SsoPanel
            person={agent}
            linked={linked}
            ssoReady={ssoConfig(c.env) !== null}
            refused={
              agent.id === actor.id
                ? "You cannot invite yourself: sign in with Microsoft, or ask another administrator."
                : reason(mayManagePerson(actor, holder, "invite them to sign in with Microsoft"))
            }
          />
          <RemovalPanel
            person={agent}
            blocked={
              agent.id === actor.id
                ? "You cannot remove yourself. Ask another administrator."
                : (reason(mayManagePerson(actor, holder, "remove them")) ??
                  (agent.active ? `To remove ${agent.name}, disable them first: untick Active above and save.` : undefined))
            }
          />
        </>
      )}
      {hasPermission(auth.permissions, "manageRecoveryAndMfaReset") && (
        <MfaPanel
          person={agent}
          hasApp={hasApp}
          passkeyCount={passkeyList.length}
          codesLeft={codesLeft}
          accessPass={accessPass}
          self={agent.id === auth.user.id}
          base={`/agent/admin/people/${agentId}`}
          refused={reason(
            mayManagePerson(actor, holder, "reset their MFA, view their recovery codes or issue them a temporary access pass"),
          )}
        />
      )}
      {hasPermission(auth.permissions, "manageRecoveryAndMfaReset") &&
        agent.id !== auth.user.id &&
        holdsAllOf(actor, holder.roleId, holder.permissions) &&
        (await devicesPanel(c, agent, passkeyList))}
      {hasPermission(auth.permissions, "manageAgents") &&
        agent.id !== auth.user.id &&
        mayManagePerson(actor, holder, "sign them out").ok &&
        (await sessionsPanel(c, agent))}
    </AdminFrame>,
    status,
  );
}

peopleRoutes.get("/agents", manage, async (c) => {
  const agents = await listAgents(getDb(c.env.DB));
  return c.html(
    <AdminFrame auth={c.var.auth} title="Agents">
      <Notice message={c.req.query("created") ? "Agent created." : removedNotice(c.req.query("removed"))} />
      <p class="actions">
        <a class="button primary" href="/agent/admin/agents/new">
          New agent
        </a>
      </p>
      <PeopleTable
        rows={agents.map((a) => ({ ...a, href: `/agent/admin/agents/${a.id}`, extra: [a.roleName ?? "", a.groups.join(", ")] }))}
        extraHeads={["Role", "Groups"]}
      />
    </AdminFrame>,
  );
});

/** The New agent page; a refused form comes back with each field's problem beside it and what was typed (but the password). */
async function newAgentPage(
  c: Ctx,
  refused: { error?: string; errors?: FieldErrors; values?: FormValues } = {},
  status: 200 | 400 | 401 | 403 | 404 | 409 = 200,
) {
  const db = getDb(c.env.DB);
  const [roles, groups, policy] = await Promise.all([listRoles(db), listGroups(db), portalPolicy(c, "agent")]);
  const typed = typedPerson(refused.values);
  return c.html(
    <AdminFrame auth={c.var.auth} title="New agent">
      <FormProblems error={refused.error} errors={refused.errors} fields={["name", "email", "roleId", "password"]} />
      {!recentlyReauthenticated(c) && <ReauthLink back="/agent/admin/agents/new" />}
      <AgentForm
        action="/agent/admin/agents/new"
        roles={roleChoices(c, roles, null)}
        groups={groups}
        rules={passwordRules(policy.password)}
        reauthHint={!recentlyReauthenticated(c)}
        errors={refused.errors}
        typed={typed}
      />
    </AdminFrame>,
    status,
  );
}

// Creating an agent gives a role and sets a password: createAgent asks for a recent re-authentication.
peopleRoutes.get("/agents/new", manage, (c) => newAgentPage(c));
peopleRoutes.post("/agents/new", manage, readsFormLists(newAgentForm), async (c) => {
  const form = c.req.valid("form");
  if (!form.ok)
    return newAgentPage(c, Object.keys(form.errors).length ? { errors: form.errors, values: form.values } : { error: form.message }, 400);
  const policy = await portalPolicy(c, "agent");
  const created = await createAgent(
    c.env,
    getDb(c.env.DB),
    actorOf(c),
    form.data,
    policy.password,
    c.var.clock.now(),
    recentlyReauthenticated(c),
    auditOriginOf(c),
  );
  await auditRefusal(c, created, "create an agent", null);
  // Refused as a whole (a weak password, a taken email): said above the form, with what was typed kept (but the password).
  if (!created.ok)
    return newAgentPage(
      c,
      {
        error: created.message,
        values: { name: form.data.name, email: form.data.email, roleId: form.data.roleId, groupIds: form.data.groupIds },
      },
      statusOf(created),
    );
  return c.redirect("/agent/admin/agents?created=1", 303);
});

peopleRoutes.get("/agents/:id", async (c) => {
  const auth = c.var.auth;
  if (!hasPermission(auth.permissions, "manageAgents") && !hasPermission(auth.permissions, "manageRecoveryAndMfaReset"))
    return requirePermission("manageAgents")(c, async () => {});
  if (!ID.test(c.req.param("id"))) return c.notFound();
  const notices: Record<string, string> = {
    ...PERSON_NOTICES,
    saved: "Saved.",
    password: "Password set. The agent was signed out everywhere.",
  };
  return agentPage(c, c.req.param("id"), { notice: ownValue(notices, c.req.query("done")) });
});

peopleRoutes.post("/agents/:id", manage, readsFormLists(editAgentForm), async (c) => {
  const agentId = c.req.param("id");
  if (!ID.test(agentId)) return c.notFound();
  const form = c.req.valid("form");
  if (!form.ok)
    return agentPage(
      c,
      agentId,
      Object.keys(form.errors).length ? { errors: form.errors, values: form.values } : { error: form.message },
      400,
    );
  const db = getDb(c.env.DB);
  const before = await holderOf(db, agentId);
  if (before?.kind !== "agent") return c.notFound();
  const now = c.var.clock.now();
  const actorId = c.var.auth.user.id;
  // What records the edit (its audit rows, the notices to the agent), stored with it in one batch.
  const after = { id: agentId, name: form.data.name.trim(), email: normalizeEmail(form.data.email), roleId: form.data.roleId };
  const record = {
    origin: auditOriginOf(c),
    build: async (changes: AgentChanges) => {
      const entries: AuditEntry[] = [
        {
          event: "user.updated",
          portal: "agent",
          actorId,
          targetId: agentId,
          details: {
            roleId: form.data.roleId,
            active: form.data.active,
            groupIds: form.data.groupIds,
            ...(changes.email ? { email: { from: before.email, to: form.data.email } } : {}),
          },
        },
      ];
      const notices: MailNotice[] = [];
      if (changes.role) {
        const roleName = (await listRoles(db)).find((r) => r.id === after.roleId)?.name ?? "";
        entries.push({
          event: "role.assigned",
          portal: "agent",
          actorId,
          targetId: agentId,
          details: { from: before.roleId, to: after.roleId },
        });
        notices.push(roleChangedNotice(after, roleName, c.var.auth.user));
      }
      if (changes.email) notices.push(...emailChangedNotices(after, before.email, c.var.auth.user));
      return { entries, notices };
    },
  };
  const updated = await updateAgent(c.env, db, actorOf(c), agentId, form.data, now, recentlyReauthenticated(c), record);
  await auditRefusal(c, updated, "change an agent", agentId);
  // Refused as a whole (an email taken, a re-authentication due): said above the form, with what was typed kept.
  if (!updated.ok)
    return agentPage(
      c,
      agentId,
      {
        error: updated.message,
        values: { name: form.data.name, email: form.data.email, roleId: form.data.roleId, groupIds: form.data.groupIds },
      },
      statusOf(updated),
    );
  await sendAfterResponse(c, updated.value.mailIds);
  return c.redirect(`/agent/admin/agents/${agentId}?done=saved`, 303);
});

/** An admin sets an agent's password: the agents' policy applies, and every session of that agent ends. */
peopleRoutes.post("/agents/:id/password", manage, requireRecentAuth(), readsForm(passwordForm), async (c) => {
  const agentId = c.req.param("id");
  const db = getDb(c.env.DB);
  const agent = ID.test(agentId) ? await findUserById(db, agentId) : null;
  if (agent?.kind !== "agent") return c.notFound();
  const form = c.req.valid("form");
  if (!form.ok) return agentPage(c, agentId, { error: form.message }, 400);
  const refused = await refuseUnlessManageable(c, agentId, "set their password", "set an agent's password");
  if (refused) return refused;
  const policy = await portalPolicy(c, "agent");
  const now = c.var.clock.now();
  // The password, its audit row and the notice to the agent are stored together.
  const mail = await queueNotices(c.env, db, [passwordSetByAdminNotice(agent, c.var.auth.user)], now);
  const audit = auditInsert(
    db,
    { event: "password.changed", portal: "agent", actorId: c.var.auth.user.id, targetId: agentId, details: { byAdmin: true } },
    auditOriginOf(c),
  );
  const changed = await setPassword(c.env, db, agent, form.data.password, policy.password, now, [audit, ...mail.statements]);
  if (!changed.ok) return agentPage(c, agentId, { error: changed.message }, 400);
  await endAllSessionsOfUser(c.env, agentId);
  await sendAfterResponse(c, mail.ids);
  return c.redirect(`/agent/admin/agents/${agentId}?done=password`, 303);
});

peopleRoutes.get("/contacts", manage, async (c) => {
  const contacts = await listContacts(getDb(c.env.DB));
  return c.html(
    <AdminFrame auth={c.var.auth} title="Contacts">
      <Notice message={removedNotice(c.req.query("removed"))} />
      <PeopleTable rows={contacts.map((p) => ({ ...p, href: `/agent/admin/contacts/${p.id}`, extra: [] }))} extraHeads={[]} />
    </AdminFrame>,
  );
});

peopleRoutes.get("/contacts/:id", async (c) => {
  const auth = c.var.auth;
  if (!hasPermission(auth.permissions, "manageAgents") && !hasPermission(auth.permissions, "manageRecoveryAndMfaReset"))
    return requirePermission("manageAgents")(c, async () => {});
  const db = getDb(c.env.DB);
  const contact = ID.test(c.req.param("id")) ? await findUserById(db, c.req.param("id")) : null;
  if (contact?.kind !== "contact") return c.notFound();
  const [hasApp, codesLeft, passkeyList, linked, holder, accessPass] = await Promise.all([
    hasConfirmedAuthenticator(db, contact.id),
    countUnusedRecoveryCodes(db, contact.id),
    listPasskeys(db, contact.id),
    linkedIdentityOf(db, contact.id),
    holderOf(db, contact.id),
    liveAccessPass(db, contact.id, c.var.clock.now()),
  ]);
  return c.html(
    <AdminFrame auth={auth} title={contact.name}>
      <Notice message={ownValue(PERSON_NOTICES, c.req.query("done"))} />
      <p>
        {contact.email} · {contact.active ? "Active" : "Disabled"}
      </p>
      {hasPermission(auth.permissions, "manageAgents") && (
        <>
          {!recentlyReauthenticated(c) && (
            <p class="hint">Enabling or disabling a contact asks you to confirm it's you (once every 5 minutes).</p>
          )}
          <form method="post" action={`/agent/admin/contacts/${contact.id}/active`} class="actions">
            <input type="hidden" name="active" value={contact.active ? "" : "on"} />
            <button type="submit">{contact.active ? "Disable contact" : "Enable contact"}</button>
          </form>
        </>
      )}
      {hasPermission(auth.permissions, "manageAgents") && (
        <SsoPanel
          person={contact}
          linked={linked}
          ssoReady={ssoConfig(c.env) !== null}
          refused={reason(mayManagePerson(actorOf(c), holder!, "invite them to sign in with Microsoft"))}
        />
      )}
      {hasPermission(auth.permissions, "manageAgents") && (
        <RemovalPanel person={contact} blocked={reason(mayManagePerson(actorOf(c), holder!, "remove them"))} />
      )}
      {hasPermission(auth.permissions, "manageRecoveryAndMfaReset") && (
        <MfaPanel
          person={contact}
          hasApp={hasApp}
          passkeyCount={passkeyList.length}
          codesLeft={codesLeft}
          accessPass={accessPass}
          self={false}
          base={`/agent/admin/people/${contact.id}`}
          canViewCodes={false}
        />
      )}
      {hasPermission(auth.permissions, "manageRecoveryAndMfaReset") && (await devicesPanel(c, contact, passkeyList))}
      {hasPermission(auth.permissions, "manageAgents") &&
        mayManagePerson(actorOf(c), holder!, "sign them out").ok &&
        (await sessionsPanel(c, contact))}
    </AdminFrame>,
  );
});

// Who may sign in (SECURITY.md 39).
peopleRoutes.post("/contacts/:id/active", manage, requireRecentAuth(), readsForm(activeForm), async (c) => {
  const id = c.req.param("id");
  if (!ID.test(id)) return c.notFound();
  const form = c.req.valid("form");
  if (!form.ok) return c.text(form.message, 400);
  const record = {
    origin: auditOriginOf(c),
    build: async (active: boolean) => ({
      entries: [
        { event: "user.updated", portal: "support", actorId: c.var.auth.user.id, targetId: id, details: { active } } satisfies AuditEntry,
      ],
      notices: [],
    }),
  };
  const result = await setContactActive(c.env, getDb(c.env.DB), actorOf(c), id, form.data.active === "on", c.var.clock.now(), record);
  await auditRefusal(c, result, "enable or disable a contact", id);
  if (!result.ok) return result.status === 403 ? c.text(result.message, 403) : c.notFound();
  return c.redirect(`/agent/admin/contacts/${id}`, 303);
});

peopleRoutes.get("/people/:id/reset-mfa", recovery, requireRecentAuth(), async (c) => {
  const target = ID.test(c.req.param("id")) ? await findUserById(getDb(c.env.DB), c.req.param("id")) : null;
  if (!target) return c.notFound();
  const refused = await refuseUnlessManageable(c, target.id, "reset their MFA", "reset MFA");
  if (refused) return refused;
  return c.html(
    <AdminFrame auth={c.var.auth} title={`Reset MFA of ${target.name}?`}>
      <p>
        This removes {target.name}'s authenticator app, passkeys and recovery codes, signs them out everywhere and emails them. They set up
        the app again at their next sign-in.
      </p>
      <form method="post" action={`/agent/admin/people/${target.id}/reset-mfa`} class="actions">
        <button type="submit" class="danger">
          Reset MFA
        </button>
        <a href={personPage(target)}>Cancel</a>
      </form>
    </AdminFrame>,
  );
});

/** SECURITY.md 17: reset someone's MFA. Permission, a re-authentication in the last 5 minutes, and never oneself. */
peopleRoutes.post("/people/:id/reset-mfa", recovery, requireRecentAuth(), readsNothing(), async (c) => {
  const auth = c.var.auth;
  const db = getDb(c.env.DB);
  const target = ID.test(c.req.param("id")) ? await findUserById(db, c.req.param("id")) : null;
  if (!target) return c.notFound();
  const back = personPage(target);
  if (target.id === auth.user.id)
    return agentPage(c, target.id, { error: "You cannot reset your own MFA here. Ask another administrator." }, 403);
  const refused = await refuseUnlessManageable(c, target.id, "reset their MFA", "reset MFA");
  if (refused) return refused;
  const origin = auditOriginOf(c);
  await sendAfterResponse(c, await resetMfa(c.env, db, target, auth.user, origin));
  return c.redirect(`${back}?done=reset`, 303);
});

/** SECURITY.md 11: an agent's recovery codes, which are used. Permission and re-authentication; audited; the agent is emailed. */
peopleRoutes.get("/people/:id/recovery-codes", recovery, requireRecentAuth(), async (c) => {
  const auth = c.var.auth;
  const db = getDb(c.env.DB);
  const target = ID.test(c.req.param("id")) ? await findUserById(db, c.req.param("id")) : null;
  if (target?.kind !== "agent") return c.notFound();
  const refused = await refuseUnlessManageable(c, target.id, "view their recovery codes", "view recovery codes");
  if (refused) return refused;
  const codes = await listRecoveryCodes(c.env, db, target.id);
  await recordAuditWithNotices(
    c,
    [{ event: "recovery_codes.viewed", portal: "agent", actorId: auth.user.id, targetId: target.id }],
    [recoveryCodesViewedNotice(target, auth.user)],
  );
  return c.html(
    <AdminFrame auth={auth} title={`Recovery codes of ${target.name}`}>
      <RecoveryCodesView codes={codes} />
      <p class="hint">{target.name} has been emailed that you viewed these. This view is in the audit log.</p>
      <a href={`/agent/admin/agents/${target.id}`}>Back to {target.name}</a>
    </AdminFrame>,
  );
});

const forgetForm = z.object({ reason: requiredText("a reason", 200) });

/** Remove one passkey, or forget one remembered device (with the reason the person is told), of another person. */
async function removeOne(c: Ctx, item: { kind: "passkey" } | { kind: "device"; form: Parsed<{ reason: string }> }) {
  const kind = item.kind;
  const auth = c.var.auth;
  const db = getDb(c.env.DB);
  const targetId = c.req.param("id") ?? "";
  const target = ID.test(targetId) ? await findUserById(db, targetId) : null;
  if (!target) return c.notFound();
  if (target.id === auth.user.id) return c.text("Remove your own passkeys and devices from My account.", 403);
  const refused = await refuseUnlessManageable(
    c,
    target.id,
    kind === "passkey" ? "remove their passkeys" : "forget their devices",
    kind === "passkey" ? "remove a passkey" : "forget a device",
  );
  if (refused) return refused;
  const itemId = c.req.param("itemId") ?? "";
  const back = personPage(target);
  if (item.kind === "passkey") {
    const passkey = (await listPasskeys(db, target.id)).find((p) => p.id === itemId);
    if (!passkey) return c.text("That passkey is not registered to this person.", 404);
    const origin = auditOriginOf(c);
    const records = await recorded(
      c.env,
      db,
      {
        origin,
        build: async () => ({
          entries: [
            {
              event: "passkey.removed",
              portal: portalOfKind(target.kind),
              actorId: auth.user.id,
              targetId: target.id,
              details: { byAdmin: true, name: passkey.name },
            },
          ],
          notices: [secondFactorRemovedNotice(target, `the passkey “${passkey.name}”`, auth.user)],
        }),
      },
      null,
      origin.at,
      AFTER_ONE_CHANGE,
    );
    const [first, ...rest] = records.statements;
    if (!first || !(await removePasskey(db, target.id, itemId, [first, ...rest])))
      return c.text("That passkey is not registered to this person.", 404);
    await sendAfterResponse(c, records.ids);
  } else {
    const { form } = item;
    if (!form.ok)
      return c.html(
        <AdminFrame auth={auth} title="Forget a device">
          <ErrorMessage message={form.message} />
          <p>
            <a href={back}>Back to {target.name}</a>
          </p>
        </AdminFrame>,
        400,
      );
    const { reason } = form.data;
    // The person's object forgets the device and owes its entry and notice in one transaction.
    const audit = owedAudit(
      {
        event: "devices.forgotten",
        portal: portalOfKind(target.kind),
        actorId: auth.user.id,
        targetId: target.id,
        details: { byAdmin: true, deviceId: itemId, reason },
      },
      auditOriginOf(c),
      [secondFactorRemovedNotice(target, "a remembered device (it will be asked for the second step again)", auth.user, reason)],
    );
    if (!/^dev_[a-z2-7]{16}$/.test(itemId) || !(await userStub(c.env, target.id).forgetDevice(itemId, [audit])))
      return c.text("That device is not remembered for this person.", 404);
    await sendAfterResponse(c, await storeOwedAudits(c.env, target.id, [audit]));
  }
  return c.redirect(`${back}?done=${kind === "passkey" ? "passkey_removed" : "device_forgotten"}`, 303);
}

peopleRoutes.post("/people/:id/passkeys/:itemId/remove", recovery, requireRecentAuth(), readsNothing(), (c) =>
  removeOne(c, { kind: "passkey" }),
);
peopleRoutes.post("/people/:id/devices/:itemId/forget", recovery, requireRecentAuth(), readsForm(forgetForm), (c) =>
  removeOne(c, { kind: "device", form: c.req.valid("form") }),
);
