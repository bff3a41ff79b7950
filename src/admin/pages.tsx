import type { Child } from "hono/jsx";
import type { PasswordRule } from "../auth/password-policy";
import type { Auth } from "../auth/sessions";
import { PasswordRulesList } from "../account/pages";
import { ALL_PERMISSIONS, hasPermission, type Permission, PERMISSIONS } from "../settings/permissions";
import { Field, Layout } from "../web/layout";

/** The admin area's frame, with its own navigation of what this admin may use. */
export function AdminFrame(props: { auth: Auth; title: string; children?: Child }) {
  const can = (p: Permission) => hasPermission(props.auth.permissions, p);
  return (
    <Layout title={props.title} auth={props.auth}>
      <section class="wide admin">
        <nav class="tabs" aria-label="Administration">
          {can("manageAgents") && <a href="/agent/admin/agents">Agents</a>}
          {can("manageAgents") && <a href="/agent/admin/contacts">Contacts</a>}
          {can("manageAgents") && <a href="/agent/admin/roles">Roles</a>}
          {can("manageAgents") && <a href="/agent/admin/groups">Groups</a>}
          {can("manageAssets") && <a href="/agent/admin/locations">Locations</a>}
          {can("manageRecoveryAndMfaReset") && <a href="/agent/admin/recovery-requests">Recovery code requests</a>}
        </nav>
        <h1>{props.title}</h1>
        <div class="panel">{props.children}</div>
      </section>
    </Layout>
  );
}

export function PeopleTable(props: { rows: { id: string; name: string; email: string; active: boolean; href: string; extra: string[] }[]; extraHeads: string[] }) {
  return (
    <table>
      <thead>
        <tr>
          <th scope="col">Name</th>
          <th scope="col">Email</th>
          {props.extraHeads.map((h) => (
            <th scope="col">{h}</th>
          ))}
          <th scope="col">Status</th>
        </tr>
      </thead>
      <tbody>
        {props.rows.map((row) => (
          <tr>
            <td>
              <a href={row.href}>{row.name}</a>
            </td>
            <td>{row.email}</td>
            {row.extra.map((x) => (
              <td>{x}</td>
            ))}
            <td>{row.active ? "Active" : "Disabled"}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export function AgentForm(props: {
  action: string;
  roles: { id: string; name: string }[];
  groups: { id: string; name: string }[];
  value?: { name: string; email: string; roleId: string | null; active: boolean; groupIds: string[] };
  rules?: PasswordRule[];
}) {
  const v = props.value;
  return (
    <form method="post" action={props.action} class="stack narrow">
      <Field label="Name" name="name" value={v?.name} maxlength={100} />
      <Field label="Email" name="email" type="email" value={v?.email} maxlength={254} />
      <div class="field">
        <label for="field-roleId">Role</label>
        <select id="field-roleId" name="roleId">
          {props.roles.map((r) => (
            <option value={r.id} selected={(v?.roleId ?? "role_agent") === r.id}>
              {r.name}
            </option>
          ))}
        </select>
      </div>
      <fieldset class="choices">
        <legend>Groups</legend>
        {props.groups.map((g) => (
          <div class="choice">
            <input type="checkbox" id={`group-${g.id}`} name="groupIds" value={g.id} checked={v?.groupIds.includes(g.id)} />
            <label for={`group-${g.id}`}>{g.name}</label>
          </div>
        ))}
      </fieldset>
      {v ? (
        <div class="choice">
          <input type="checkbox" id="field-active" name="active" checked={v.active} />
          <label for="field-active">Active (can sign in)</label>
        </div>
      ) : (
        <>
          <Field label="First password" name="password" type="password" autocomplete="new-password" />
          {props.rules && <PasswordRulesList rules={props.rules} />}
        </>
      )}
      <div class="actions">
        <button type="submit" class="primary">{v ? "Save" : "Create agent"}</button>
      </div>
    </form>
  );
}

export function MfaPanel(props: { person: { id: string; name: string }; hasApp: boolean; codesLeft: number; self: boolean; base: string; canViewCodes?: boolean }) {
  return (
    <section class="mfa-admin">
      <h2>Two-step verification</h2>
      <p data-testid="admin-mfa-status">
        {props.hasApp ? `Authenticator app set up; ${props.codesLeft} of 10 recovery codes unused.` : "No authenticator app set up."}
      </p>
      {props.self ? (
        <p class="hint">You cannot reset your own MFA here: ask another administrator.</p>
      ) : (
        <div class="actions">
          {props.hasApp && props.canViewCodes !== false && (
            <a class="button" href={`${props.base}/recovery-codes`}>
              View recovery codes
            </a>
          )}
          <a class="button danger" href={`${props.base}/reset-mfa`}>
            Reset MFA
          </a>
        </div>
      )}
    </section>
  );
}

export function RecoveryCodesView({ codes }: { codes: { code: string; usedAt: number | null }[] }) {
  return (
    <ol class="recovery-codes admin-view" data-testid="admin-recovery-codes">
      {codes.map((c) => (
        <li class={c.usedAt ? "used" : ""}>
          <code>{c.code}</code> {c.usedAt ? <span class="badge">used {new Date(c.usedAt).toISOString().slice(0, 16).replace("T", " ")} UTC</span> : <span class="badge current">unused</span>}
        </li>
      ))}
    </ol>
  );
}

export function RoleForm(props: { action: string; value?: { name: string; permissions: Permission[]; builtin: string | null } }) {
  const locked = props.value?.builtin === "administrator";
  return (
    <form method="post" action={props.action} class="stack narrow">
      <Field label="Role name" name="name" value={props.value?.name} maxlength={60} />
      <fieldset class="choices">
        <legend>Permissions</legend>
        {ALL_PERMISSIONS.map((p) => (
          <div class="choice">
            <input type="checkbox" id={`perm-${p}`} name="permissions" value={p} checked={locked || props.value?.permissions.includes(p)} disabled={locked} />
            <label for={`perm-${p}`}>{PERMISSIONS[p]}</label>
          </div>
        ))}
      </fieldset>
      {locked ? <p class="hint">The Administrator role always holds every permission.</p> : (
        <div class="actions">
          <button type="submit" class="primary">{props.value ? "Save role" : "Create role"}</button>
        </div>
      )}
    </form>
  );
}

export function SetPasswordForm(props: { action: string; rules: PasswordRule[] }) {
  return (
    <form method="post" action={props.action} class="stack narrow set-password">
      <h2>Set a new password</h2>
      <Field label="New password" name="password" type="password" autocomplete="new-password" />
      <PasswordRulesList rules={props.rules} />
      <div class="actions">
        <button type="submit">Set password</button>
      </div>
      <p class="hint">The agent is signed out everywhere. Needs you to have confirmed your identity in the last 5 minutes.</p>
    </form>
  );
}
