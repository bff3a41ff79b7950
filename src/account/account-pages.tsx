import type { PasswordRule } from "../auth/password-policy";
import type { Auth } from "../access/auth";
import { secondProofFor } from "../sign-in/steps";
import { SecondProofFields } from "../sign-in/reauth-pages";
import type { RememberedDevice, SessionInfo } from "../auth/user-do";
import { Card, ErrorMessage, Field, FieldErrorsContext, Layout, Notice } from "../web/layout";
import type { FieldErrors } from "../lib/fields";
import { describeDevice } from "../lib/device";
import { PasswordRulesList } from "./pages";
import { RecoveryCodesBlock } from "../sign-in/second-step-pages";
import { LOW_RECOVERY_CODES } from "../factors/recovery-codes";
import { type PersonalEvent, SecurityLog } from "./security-log";

/** How long ago, as a session or device list says it. */
export function when(ms: number, now: number): string {
  const minutes = Math.round((now - ms) / 60_000);
  if (minutes < 1) return "just now";
  if (minutes < 60) return `${minutes} min ago`;
  if (minutes < 48 * 60) return `${Math.round(minutes / 60)} h ago`;
  return new Date(ms).toISOString().slice(0, 10);
}

/** A table row's one action (Sign out, Forget, Remove), named for screen readers by what it acts on. */
function RowAction(props: { action: string; label: string; of: string; reason?: boolean }) {
  return (
    <form method="post" action={props.action} class={props.reason ? "actions" : undefined}>
      {props.reason && (
        <input
          name="reason"
          required
          maxlength={200}
          placeholder="Reason"
          aria-label={`Reason to ${props.label.toLowerCase()} ${props.of}`}
        />
      )}
      <button type="submit" class="link" aria-label={`${props.label} ${props.of}`}>
        {props.label}
      </button>
    </form>
  );
}

const MAY_NEED_ADDING_AGAIN = "may need adding again";

interface PasskeyRow {
  id: string;
  name: string;
  createdAt: number;
  lastUsedAt: number | null;
  /** Shown after the name, e.g. that it may need adding again. */
  note?: string | undefined;
}

/** Passkeys with when each was added and last used, and a Remove for each (My account, and an admin's view of a person). */
export function PasskeysTable(props: { testId: string; passkeys: PasskeyRow[]; now: number; removeAction: (p: PasskeyRow) => string }) {
  return (
    <div class="table-scroll">
      <table data-testid={props.testId}>
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">Added</th>
            <th scope="col">Last used</th>
            <th scope="col">
              <span class="visually-hidden">Action</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {props.passkeys.map((p) => (
            <tr>
              <td>
                {p.name}
                {p.note && <span class="hint"> · {p.note}</span>}
              </td>
              <td>{when(p.createdAt, props.now)}</td>
              <td>{p.lastUsedAt ? when(p.lastUsedAt, props.now) : "never"}</td>
              <td>
                <RowAction action={props.removeAction(p)} label="Remove" of={`passkey ${p.name}`} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** Remembered devices with browser, IP, added and last used, and a Forget for each. */
export function DevicesTable(props: {
  testId: string;
  devices: RememberedDevice[];
  now: number;
  forgetAction: (d: RememberedDevice) => string;
  /** An admin forgetting another person's device gives the reason they are told. */
  withReason?: boolean;
}) {
  return (
    <div class="table-scroll">
      <table data-testid={props.testId}>
        <thead>
          <tr>
            <th scope="col">Device</th>
            <th scope="col">IP address</th>
            <th scope="col">Added</th>
            <th scope="col">Last used</th>
            <th scope="col">
              <span class="visually-hidden">Action</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {props.devices.map((d) => (
            <tr>
              <td>{describeDevice(d.userAgent)}</td>
              <td>{d.ip}</td>
              <td>{when(d.createdAt, props.now)}</td>
              <td>{when(d.lastUsedAt, props.now)}</td>
              <td>
                <RowAction
                  action={props.forgetAction(d)}
                  label="Forget"
                  of={`${describeDevice(d.userAgent)}, ${d.ip}`}
                  reason={props.withReason}
                />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

export function AccountPage(props: {
  auth: Auth;
  hasPassword: boolean;
  hasApp: boolean;
  /** Whether the app's code confirms it's them in this session (appProves in src/sign-in/reauth.tsx). */
  appProves: boolean;
  unusedRecoveryCodes: number;
  rules: PasswordRule[];
  sessions: SessionInfo[];
  devices: RememberedDevice[];
  passkeys: { id: string; name: string; createdAt: number; lastUsedAt: number | null; discoverable: boolean | null }[];
  canAddPasskey: boolean;
  /** The portal lets a passkey sign in without a password. */
  passwordless: boolean;
  recentlyConfirmed: boolean;
  securityLog: PersonalEvent[];
  now: number;
  error?: string;
  notice?: string;
  /** The password form's problems, each beside its field. */
  passwordErrors?: FieldErrors | undefined;
}) {
  const { auth } = props;
  const base = `/${auth.portal}/account`;
  const mfa = auth.policy.mfa;
  return (
    <Layout title="My account" auth={auth} passkeys={props.canAddPasskey}>
      <section class="wide account">
        <h1>My account</h1>
        <p class="hint">
          {auth.user.name} · {auth.user.email}
        </p>
        <ErrorMessage message={props.error} />
        <Notice message={props.notice} />

        <div class="panel">
          <h2>Password</h2>
          {props.hasPassword ? (
            // Its fields' problems are shown beside them here only: the page's other forms share field names.
            <FieldErrorsContext.Provider value={props.passwordErrors ?? {}}>
              <form method="post" action={`${base}/password`} class="stack narrow">
                <Field label="Current password" name="current" type="password" autocomplete="current-password" />
                <OwnSecondProof auth={auth} appProves={props.appProves} base={base} />
                <Field label="New password" name="password" type="password" autocomplete="new-password" />
                <Field label="Confirm new password" name="confirm" type="password" autocomplete="new-password" />
                <PasswordRulesList rules={props.rules} />
                <div class="actions">
                  <button type="submit" class="primary">
                    Change password
                  </button>
                </div>
                <p class="hint">Changing your password signs out your other sessions.</p>
              </form>
            </FieldErrorsContext.Provider>
          ) : (
            <p>You sign in with Microsoft, so your password is managed there.</p>
          )}
        </div>

        <div class="panel" id="two-step">
          <h2>Two-step verification</h2>
          <p data-testid="mfa-status">
            {props.hasApp
              ? "Authenticator app: set up."
              : mfa.authenticatorApp
                ? "Authenticator app: not set up yet."
                : "Authenticator app: not used for this portal."}
            {mfa.emailOtp ? " Email one-time passwords: on." : ""}
          </p>
          {props.hasApp && (
            <>
              <p class={props.unusedRecoveryCodes <= LOW_RECOVERY_CODES ? "alert warning" : ""} data-testid="recovery-codes-left">
                {props.unusedRecoveryCodes} of 10 recovery codes left.
                {props.unusedRecoveryCodes <= LOW_RECOVERY_CODES ? " Generate new ones so you are not locked out." : ""}
              </p>
              <form method="post" action={`${base}/recovery-codes`} class="stack narrow">
                <Field label="Current password" name="current" type="password" autocomplete="current-password" />
                <OwnSecondProof auth={auth} appProves={props.appProves} base={base} />
                <div class="actions">
                  <button type="submit">Generate new recovery codes</button>
                </div>
                <p class="hint">The old codes stop working. You can do this once every two hours.</p>
              </form>
            </>
          )}
          {!props.hasApp && mfa.authenticatorApp && props.hasPassword && (
            <form method="post" action={`${base}/mfa/enroll`} class="stack narrow">
              <Field label="Current password" name="current" type="password" autocomplete="current-password" />
              <OwnSecondProof auth={auth} appProves={props.appProves} base={base} />
              <div class="actions">
                <button type="submit" class="primary">
                  Set up authenticator app
                </button>
              </div>
            </form>
          )}
        </div>

        <div class="panel">
          <h2>Active sessions</h2>
          <div class="table-scroll">
            <table class="sessions">
              <thead>
                <tr>
                  <th scope="col">Device</th>
                  <th scope="col">IP address</th>
                  <th scope="col">Signed in</th>
                  <th scope="col">Last activity</th>
                  <th scope="col">
                    <span class="visually-hidden">Action</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {props.sessions.map((s) => (
                  <tr data-testid="session-row">
                    <td>
                      {describeDevice(s.userAgent)}
                      {/* A space before each badge, so a screen reader and a copied cell read the words apart. */}
                      {s.method === "sso" && (
                        <>
                          {" "}
                          <span class="badge">SSO</span>
                        </>
                      )}
                      {s.id === auth.session.id && (
                        <>
                          {" "}
                          <span class="badge current">This device</span>
                        </>
                      )}
                    </td>
                    <td>{s.ip}</td>
                    <td>{when(s.createdAt, props.now)}</td>
                    <td>{when(s.lastSeenAt, props.now)}</td>
                    <td>
                      <RowAction
                        action={`${base}/sessions/${s.id}/revoke`}
                        label="Sign out"
                        of={`${describeDevice(s.userAgent)}, ${s.ip}`}
                      />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          {props.sessions.length > 1 && (
            <form method="post" action={`${base}/sessions/others/revoke`} class="actions">
              <button type="submit">Sign out all other sessions</button>
            </form>
          )}
        </div>

        {(props.passkeys.length > 0 || props.canAddPasskey) && (
          <div class="panel" id="passkeys">
            <h2>Passkeys</h2>
            {props.passkeys.length === 0 ? (
              <p>No passkeys yet. A passkey signs you in with your fingerprint, face, PIN or security key instead of a code.</p>
            ) : (
              <PasskeysTable
                testId="passkeys"
                passkeys={props.passkeys.map((p) => ({
                  ...p,
                  note: props.passwordless && p.discoverable !== true ? MAY_NEED_ADDING_AGAIN : undefined,
                }))}
                now={props.now}
                removeAction={(p) => `${base}/passkeys/${encodeURIComponent(p.id)}/delete`}
              />
            )}
            {props.passwordless && props.passkeys.some((p) => p.discoverable !== true) && (
              <p class="hint" data-testid="passkeys-unknown">
                A passkey marked “{MAY_NEED_ADDING_AGAIN}” was added before EdgeDesk recorded whether it can sign you in without a password.
                If “Sign in with a passkey” does not offer it, add it again here.
              </p>
            )}
            {props.passwordless && props.passkeys.length === 1 && (
              <p class="hint" data-testid="passkeys-last">
                This is your only passkey. Without it you sign in with your email, password and second step.
              </p>
            )}
            {props.canAddPasskey &&
              (props.recentlyConfirmed ? (
                <div class="stack narrow">
                  <Field
                    label="Passkey name"
                    name="passkeyName"
                    maxlength={60}
                    hint="So you can tell your passkeys apart, e.g. “Work laptop”."
                  />
                  <div class="actions">
                    <button
                      type="button"
                      id="passkey-add"
                      data-options={`${base}/passkeys/options`}
                      data-verify={`${base}/passkeys`}
                      data-done={`${base}?done=passkey_added#passkeys`}
                    >
                      Add a passkey
                    </button>
                  </div>
                  <p class="hint" role="status" id="passkey-add-status" aria-live="polite"></p>
                </div>
              ) : (
                <p>
                  <a class="button" href={`/${auth.portal}/reauth?next=${encodeURIComponent(`${base}#passkeys`)}`}>
                    Confirm it's you to add or remove a passkey
                  </a>
                </p>
              ))}
          </div>
        )}

        {(props.devices.length > 0 || mfa.rememberDays > 0) && (
          <div class="panel">
            <h2>Remembered devices</h2>
            {props.devices.length === 0 ? (
              <p>No device skips the second step. Tick “Don't ask again on this device” when you next sign in to add this one.</p>
            ) : (
              <DevicesTable
                testId="remembered-devices"
                devices={props.devices}
                now={props.now}
                forgetAction={(d) => `${base}/devices/${d.id}/forget`}
              />
            )}
            <p class="hint">
              A remembered device signs in with your password alone until it expires. A password change or an MFA reset forgets them all.
            </p>
          </div>
        )}

        <SecurityLog events={props.securityLog} />

        <div class="panel" id="my-data">
          <h2>Your data</h2>
          <p>
            Download what EdgeDesk holds about you: your profile, how you sign in, your sessions and devices, your security activity and the
            assets you use, as a JSON file. It holds no password or code.
          </p>
          <div class="actions">
            <a class="button" href={`${base}/export`} download>
              Download my data
            </a>
          </div>
        </div>
      </section>
    </Layout>
  );
}

export function NewRecoveryCodesPage(props: { auth: Auth; codes: string[] }) {
  return (
    <Layout title="Your new recovery codes" auth={props.auth}>
      <Card title="Your new recovery codes">
        <p>Your old codes no longer work. Save these somewhere safe: each signs you in once, and they will not be shown again.</p>
        <RecoveryCodesBlock codes={props.codes} downloadHref={`/${props.auth.portal}/account/recovery-codes.txt`} />
        <p>
          <a class="button primary" href={`/${props.auth.portal}/account`}>
            Back to My account
          </a>
        </p>
      </Card>
    </Layout>
  );
}

/** What a form that confirms identity asks besides the password, for this session. */
function OwnSecondProof(props: { auth: Auth; appProves: boolean; base: string }) {
  const proof = secondProofFor(props.appProves, props.auth.policy, props.auth.session.passwordOnly);
  return <SecondProofFields proof={proof} issuer={props.auth.policy.mfa.issuerName} portal={props.auth.portal} next={props.base} />;
}
