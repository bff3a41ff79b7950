import type { Child } from "hono/jsx";
import type { PasswordRule } from "../auth/password-policy";
import type { Auth } from "../access/auth";
import { PasswordRulesList } from "../account/pages";
import { DevicesTable, PasskeysTable, when } from "../account/account-pages";
import type { RememberedDevice, SessionInfo, SessionStage, SignInMethod } from "../auth/user-do";
import { describeDevice } from "../lib/device";
import { ALL_PERMISSIONS, hasPermission, type Permission, PERMISSIONS } from "../access/permissions";
import { Field, FieldError, Layout } from "../web/layout";
import type { FieldErrors } from "../lib/fields";
import { utcMinute } from "../lib/clock";

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
          {can("manageRecoveryAndMfaReset") && <a href="/agent/admin/paused-sign-ins">Paused sign-ins</a>}
        </nav>
        <h1>{props.title}</h1>
        <div class="panel">{props.children}</div>
      </section>
    </Layout>
  );
}

/** "Confirm it's you", coming back to `back` afterwards. */
export function ReauthLink(props: { back: string }) {
  return (
    <p class="actions">
      <a class="button" href={`/agent/reauth?next=${encodeURIComponent(props.back)}`}>
        Confirm it's you
      </a>
    </p>
  );
}

export function PeopleTable(props: {
  rows: { id: string; name: string; email: string; active: boolean; href: string; extra: string[] }[];
  extraHeads: string[];
}) {
  return (
    <div class="table-scroll">
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
    </div>
  );
}

/** A role as the agent form offers it: `refused` says why this admin may not give it (shown, not selectable). */
export interface RoleChoice {
  id: string;
  name: string;
  refused?: string;
}

export function AgentForm(props: {
  action: string;
  roles: RoleChoice[];
  groups: { id: string; name: string }[];
  value?: { name: string; email: string; roleId: string | null; active: boolean; groupIds: string[] };
  rules?: PasswordRule[];
  /** Why this admin may not change the role (their own). */
  roleLocked?: string | undefined;
  /** Why this admin may not change anything here (someone holding more): every field is shown read-only, with no Save. */
  locked?: string | undefined;
  /** Changing the role or email asks for a re-authentication first. */
  reauthHint?: boolean;
  /** Each field's problem, from a refused save. */
  errors?: FieldErrors | undefined;
  /** What a refused form had in it, shown again over the stored values. */
  typed?: { name?: string; email?: string; roleId?: string; groupIds?: string[] } | undefined;
}) {
  const v = props.value;
  const typed = props.typed ?? {};
  const errors = props.errors ?? {};
  const current = typed.roleId ?? v?.roleId ?? "role_agent";
  const refusals = props.roles.filter((r) => r.refused && r.id !== current);
  const locked = !!props.locked;
  const roleLocked = props.locked ?? props.roleLocked;
  const fields = (
    <>
      {props.locked && (
        <p class="hint" id="agent-locked">
          {props.locked}
        </p>
      )}
      <Field label="Name" name="name" value={typed.name ?? v?.name} maxlength={100} readonly={locked} error={errors.name} />
      <Field
        label="Email"
        name="email"
        type="email"
        value={typed.email ?? v?.email}
        maxlength={254}
        readonly={locked}
        error={errors.email}
      />
      <div class="field">
        <label for="field-roleId">Role</label>
        {roleLocked ? (
          <>
            {!locked && <input type="hidden" name="roleId" value={current} />}
            <select id="field-roleId" disabled aria-describedby={locked ? "agent-locked" : "role-locked"}>
              <option selected>{props.roles.find((r) => r.id === current)?.name ?? current}</option>
            </select>
            {!locked && (
              <p class="hint" id="role-locked">
                {props.roleLocked}
              </p>
            )}
          </>
        ) : (
          <>
            <select
              id="field-roleId"
              name="roleId"
              aria-invalid={errors.roleId ? "true" : undefined}
              aria-describedby={
                [refusals.length ? "role-refusals" : "", errors.roleId ? "field-roleId-error" : ""].filter(Boolean).join(" ") || undefined
              }
            >
              {props.roles.map((r) => (
                <option value={r.id} selected={current === r.id} disabled={!!r.refused && r.id !== current}>
                  {r.refused && r.id !== current ? `${r.name} (not yours to give)` : r.name}
                </option>
              ))}
            </select>
            <FieldError id="field-roleId" error={errors.roleId} />
            {refusals.length > 0 && (
              <ul class="hint" id="role-refusals">
                {refusals.map((r) => (
                  <li>{r.refused}</li>
                ))}
              </ul>
            )}
          </>
        )}
      </div>
      <fieldset class="choices" aria-describedby={locked ? "agent-locked" : undefined}>
        <legend>Groups</legend>
        {props.groups.map((g) => (
          <div class="choice">
            <input
              type="checkbox"
              id={`group-${g.id}`}
              name="groupIds"
              value={g.id}
              checked={(typed.groupIds ?? v?.groupIds)?.includes(g.id)}
              disabled={locked}
            />
            <label for={`group-${g.id}`}>{g.name}</label>
          </div>
        ))}
      </fieldset>
      {v ? (
        <div class="choice">
          <input type="checkbox" id="field-active" name="active" checked={v.active} disabled={locked} />
          <label for="field-active">Active (can sign in)</label>
        </div>
      ) : (
        <>
          <Field label="First password" name="password" type="password" autocomplete="new-password" error={errors.password} />
          {props.rules && <PasswordRulesList rules={props.rules} />}
        </>
      )}
    </>
  );
  // Someone out of reach is shown, not offered: no form to post, so nothing looks changeable.
  if (locked) return <div class="stack narrow">{fields}</div>;
  return (
    <form method="post" action={props.action} class="stack narrow">
      {fields}
      {props.reauthHint && (
        <p class="hint">Changing the role, the email or whether they are active asks you to confirm it's you (once every 5 minutes).</p>
      )}
      <div class="actions">
        <button type="submit" class="primary">
          {v ? "Save" : "Create agent"}
        </button>
      </div>
    </form>
  );
}

export function MfaPanel(props: {
  person: { id: string; name: string };
  hasApp: boolean;
  passkeyCount: number;
  codesLeft: number;
  self: boolean;
  base: string;
  canViewCodes?: boolean;
  /** Their unused temporary access pass, if any. */
  accessPass?: { expiresAt: number } | null;
  /** Why this admin may not touch this person's second factors (the access rule). */
  refused?: string | undefined;
}) {
  const nothingToReset = !props.hasApp && props.passkeyCount === 0 && props.codesLeft === 0;
  const status = [
    props.hasApp ? `Authenticator app set up; ${props.codesLeft} of 10 recovery codes unused.` : "No authenticator app set up.",
    props.passkeyCount ? `${props.passkeyCount} passkey${props.passkeyCount === 1 ? "" : "s"}.` : "",
    props.accessPass ? `A temporary access pass works until ${utcMinute(props.accessPass.expiresAt)}.` : "",
  ]
    .join(" ")
    .trim();
  return (
    <section class="mfa-admin">
      <h2>Two-step verification</h2>
      <p data-testid="admin-mfa-status">{status}</p>
      {props.self ? (
        <p class="hint">You cannot reset your own MFA here: ask another administrator.</p>
      ) : props.refused ? (
        <p class="hint">{props.refused}</p>
      ) : (
        <>
          {nothingToReset && (
            <p class="hint" data-testid="admin-mfa-nothing">
              Reset MFA is not needed: {props.person.name} has no authenticator app, passkey or recovery codes.
            </p>
          )}
          <div class="actions">
            {props.hasApp && props.canViewCodes !== false && (
              <a class="button" href={`${props.base}/recovery-codes`}>
                View recovery codes
              </a>
            )}
            <a class="button" href={`${props.base}/access-pass`}>
              Issue temporary access pass
            </a>
            {!nothingToReset && (
              <a class="button danger" href={`${props.base}/reset-mfa`}>
                Reset MFA
              </a>
            )}
          </div>
        </>
      )}
    </section>
  );
}

/**
 * How a person signs in with Microsoft: the Microsoft account linked (tenant and object
 * id, as Entra ID shows them), and "Invite to sign in with Microsoft" for people who cannot link by
 * a verified email (or its reason, when this admin may not).
 */
export function SsoPanel(props: {
  person: { id: string; name: string };
  linked: { tenantId: string; objectId: string; createdAt: number } | undefined;
  ssoReady: boolean;
  refused?: string | undefined;
}) {
  return (
    <section class="sso-admin">
      <h2>Microsoft sign-in</h2>
      {props.linked ? (
        <dl data-testid="sso-link">
          <dt>Tenant ID</dt>
          <dd>{props.linked.tenantId}</dd>
          <dt>Object ID</dt>
          <dd>{props.linked.objectId}</dd>
          <dt>Linked</dt>
          <dd>{new Date(props.linked.createdAt).toUTCString()}</dd>
        </dl>
      ) : (
        <p data-testid="sso-link">Not linked to a Microsoft account.</p>
      )}
      {!props.ssoReady ? (
        <p class="hint">Single sign-on is not set up for EdgeDesk yet.</p>
      ) : props.refused ? (
        <p class="hint">{props.refused}</p>
      ) : (
        <>
          <p class="hint">
            People whose Microsoft account has no verified email cannot link by signing in. Invite them: they sign in with Microsoft through
            a one-time link.
          </p>
          <div class="actions">
            <a class="button" href={`/agent/admin/people/${props.person.id}/sso-invite`}>
              Invite to sign in with Microsoft
            </a>
          </div>
        </>
      )}
    </section>
  );
}

/**
 * One person's passkeys and remembered devices, each removable on its own (an MFA
 * reset removes them all). Removing needs a re-authentication, is audited, and the person is told.
 */
export function PersonDevicesPanel(props: {
  person: { id: string; name: string };
  passkeys: { id: string; name: string; createdAt: number; lastUsedAt: number | null }[];
  devices: RememberedDevice[];
  now: number;
  base: string;
}) {
  return (
    <section class="person-devices">
      <h2>Passkeys</h2>
      {props.passkeys.length === 0 ? (
        <p>{props.person.name} has no passkeys.</p>
      ) : (
        <PasskeysTable
          testId="admin-passkeys"
          passkeys={props.passkeys}
          now={props.now}
          removeAction={(p) => `${props.base}/passkeys/${encodeURIComponent(p.id)}/remove`}
        />
      )}
      <h2>Remembered devices</h2>
      {props.devices.length === 0 ? (
        <p>No device of {props.person.name} skips the second step.</p>
      ) : (
        <DevicesTable
          testId="admin-devices"
          devices={props.devices}
          now={props.now}
          forgetAction={(d) => `${props.base}/devices/${d.id}/forget`}
          withReason
        />
      )}
      <p class="hint">
        Removing one needs you to have confirmed your identity in the last 5 minutes. {props.person.name} is emailed (with the reason you
        give for a device), and it is in the audit log.
      </p>
    </section>
  );
}

export function RecoveryCodesView({ codes }: { codes: { code: string; usedAt: number | null }[] }) {
  return (
    <ol class="recovery-codes admin-view" data-testid="admin-recovery-codes">
      {codes.map((c) => (
        <li class={c.usedAt ? "used" : ""}>
          <code>{c.code}</code>{" "}
          {c.usedAt ? (
            <span class="badge">used {new Date(c.usedAt).toISOString().slice(0, 16).replace("T", " ")} UTC</span>
          ) : (
            <span class="badge current">unused</span>
          )}
        </li>
      ))}
    </ol>
  );
}

export function RoleForm(props: {
  action: string;
  value?: { name: string; permissions: Permission[]; builtin: string | null };
  /** Why this admin may not tick a permission (null: they may). */
  grantable: Map<Permission, string | null>;
  /** Why this admin may not change this role at all (the role they hold). */
  locked?: string;
  errors?: FieldErrors | undefined;
}) {
  const builtinAdmin = props.value?.builtin === "administrator";
  const locked = builtinAdmin ? "The Administrator role always holds every permission." : props.locked;
  return (
    <form method="post" action={props.action} class="stack narrow">
      <Field label="Role name" name="name" value={props.value?.name} maxlength={60} readonly={!!locked} error={props.errors?.name} />
      <fieldset class="choices">
        <legend>Permissions</legend>
        {ALL_PERMISSIONS.map((p) => {
          const checked = builtinAdmin || props.value?.permissions.includes(p);
          const refused = props.grantable.get(p);
          return (
            <div class="choice">
              <input
                type="checkbox"
                id={`perm-${p}`}
                name="permissions"
                value={p}
                checked={checked}
                disabled={!!locked || !!refused}
                aria-describedby={refused && !locked ? `perm-${p}-why` : undefined}
              />
              <label for={`perm-${p}`}>{PERMISSIONS[p]}</label>
              {refused && !locked && (
                <span class="hint" id={`perm-${p}-why`}>
                  {" "}
                  {refused}
                </span>
              )}
            </div>
          );
        })}
      </fieldset>
      {locked ? (
        <p class="hint">{locked}</p>
      ) : (
        <>
          <p class="hint">Saving a role asks you to confirm it's you (once every 5 minutes); its holders are emailed.</p>
          <div class="actions">
            <button type="submit" class="primary">
              {props.value ? "Save role" : "Create role"}
            </button>
          </div>
        </>
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

/** Something shown to an admin once, to pass on: read-only, selectable, and a Copy button (web/app.js). */
export function CopyableSecret(props: { id: string; label: string; noun: string; value: string; class?: string }) {
  return (
    <>
      <p>
        <label for={props.id}>{props.label}</label>
        <input id={props.id} type="text" readonly value={props.value} class={props.class} data-testid={props.id} />
      </p>
      <p class="actions">
        <button
          type="button"
          data-copy={props.value}
          data-copy-status={`${props.id}-copied`}
          data-copy-blocked={`Copying is blocked here: select the ${props.noun} and copy it.`}
        >
          Copy {props.noun}
        </button>
        <span id={`${props.id}-copied`} role="status" />
      </p>
    </>
  );
}

/** The admin page of an agent or a contact. */
export const personPage = (person: { id: string; kind: "agent" | "contact" }) =>
  person.kind === "agent" ? `/agent/admin/agents/${person.id}` : `/agent/admin/contacts/${person.id}`;

/** Where a sign-in stands that has not finished yet. */
const STAGES: Record<SessionStage, string> = {
  full: "signed in",
  second_factor: "at the second step",
  enroll: "setting up the authenticator app",
  recovery_codes: "saving recovery codes",
  change_password: "changing an expired password",
};

const SIGN_IN_METHODS: Record<SignInMethod, string> = {
  password: "Password",
  sso: "Microsoft",
  passkey: "Passkey",
  pass: "Temporary access pass",
};

/**
 * A person's open sessions, for an admin who may act on them: where each is, how it signed in,
 * and a way to end one or all of them, with the reason the person is told.
 */
export function PersonSessionsPanel(props: { person: { id: string; name: string }; sessions: SessionInfo[]; now: number; action: string }) {
  return (
    <section class="person-sessions">
      <h2>Sessions</h2>
      {props.sessions.length === 0 ? (
        <p>{props.person.name} is not signed in anywhere.</p>
      ) : (
        <form method="post" action={props.action} class="stack">
          <div class="table-scroll">
            <table data-testid="admin-sessions">
              <thead>
                <tr>
                  <th scope="col">Device</th>
                  <th scope="col">IP address</th>
                  <th scope="col">Country</th>
                  <th scope="col">Signed in with</th>
                  <th scope="col">Signed in</th>
                  <th scope="col">Last activity</th>
                  <th scope="col">
                    <span class="visually-hidden">Action</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {props.sessions.map((s) => (
                  <tr>
                    <td>{describeDevice(s.userAgent)}</td>
                    <td>{s.ip}</td>
                    <td>{s.country ?? "—"}</td>
                    <td>
                      {s.stage === "full" ? SIGN_IN_METHODS[s.method] : `${SIGN_IN_METHODS[s.method]}, not finished (${STAGES[s.stage]})`}
                    </td>
                    <td>{when(s.createdAt, props.now)}</td>
                    <td>{when(s.lastSeenAt, props.now)}</td>
                    <td>
                      <button type="submit" name="session" value={s.id} aria-label={`Sign out ${describeDevice(s.userAgent)}, ${s.ip}`}>
                        Sign out
                      </button>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <Field label="Reason" name="reason" maxlength={200} hint={`Recorded in the audit log, and emailed to ${props.person.name}.`} />
          <div class="actions">
            <button type="submit" name="session" value="all">
              Sign out everywhere
            </button>
          </div>
        </form>
      )}
      <p class="hint">
        Signing someone out needs you to have confirmed your identity in the last 5 minutes. It takes effect at their next request. Their
        remembered devices stay remembered (they still need the password there), and a Microsoft sign-in may be silent while their Microsoft
        session lasts: for a lost device, also forget it under Remembered devices, or reset their MFA.
      </p>
    </section>
  );
}
