import type { Portal } from "../portal/policy";
import { portalLabel } from "../portal/policy";
import type { Auth } from "../access/auth";
import { PasswordRulesList } from "../account/pages";
import type { PasswordRule } from "../auth/password-policy";
import type { FieldErrors } from "../lib/fields";
import { Card, ErrorMessage, Field, FormProblems, Layout, Notice } from "../web/layout";

/**
 * The email a person signs in with, as every sign-in form asks it (the password, a reset link, a
 * temporary access pass): named for password managers, bounded as the server bounds it.
 * `passkeys`: the browser may offer passkeys as it is filled in.
 */
export function SignInEmailField(props: { email?: string; autofocus: boolean; passkeys?: boolean }) {
  return (
    <Field
      label="Email"
      name="email"
      type="email"
      value={props.email}
      autocomplete={props.passkeys ? "username webauthn" : "username"}
      autofocus={props.autofocus}
      maxlength={254}
    />
  );
}

export interface SignInPageProps {
  portal: Portal;
  /** Which ways the portal's access mode allows. */
  password: boolean;
  sso: boolean;
  /** A passkey may sign in alone. */
  passkey?: boolean;
  email?: string;
  next?: string | undefined;
  error?: string;
  notice?: string;
}

export function SignInPage(props: SignInPageProps) {
  const ssoHref = `/${props.portal}/sso/start${props.next ? `?next=${encodeURIComponent(props.next)}` : ""}`;
  return (
    <Layout title="Sign in" portal={props.portal} passkeys={props.passkey}>
      <Card title={`Sign in to the ${portalLabel(props.portal).toLowerCase()}`}>
        <ErrorMessage message={props.error} />
        <Notice message={props.notice} />
        {props.sso && (
          <a class="button sso" href={ssoHref}>
            Sign in with Microsoft
          </a>
        )}
        {props.sso && props.password && <p class="divider">or</p>}
        {props.password && (
          <form method="post" action={`/${props.portal}/login`} class="stack">
            {props.next && <input type="hidden" name="next" value={props.next} />}
            {/* "webauthn" lets the browser offer passkeys in the Email field's autofill (conditional mediation, web/passkeys.js). */}
            <SignInEmailField email={props.email} autofocus={!props.email} passkeys={props.passkey} />
            <Field label="Password" name="password" type="password" autocomplete="current-password" autofocus={!!props.email} />
            <button type="submit" class="primary">
              Sign in
            </button>
          </form>
        )}
        {props.password && (
          <p>
            <a href={`/${props.portal}/login/forgot`}>Forgot password?</a>
          </p>
        )}
        {props.passkey && (
          <div class="stack passkey-alone">
            <p class="divider">or</p>
            <button
              type="button"
              id="passkey-sign-in-alone"
              data-options={`/${props.portal}/login/passkey/options`}
              data-verify={`/${props.portal}/login/passkey`}
              data-next={props.next ?? ""}
            >
              Sign in with a passkey
            </button>
            <p class="alert error" role="alert" id="passkey-error" aria-live="assertive"></p>
            <p>
              <a href={`/${props.portal}/login/pass`}>Use a temporary access pass</a>
            </p>
          </div>
        )}
      </Card>
    </Layout>
  );
}

/** The last step of a sign-in whose password has expired under the portal's policy. */
export function ChangeExpiredPasswordPage(props: {
  auth: Auth;
  rules: PasswordRule[];
  error?: string | undefined;
  errors?: FieldErrors | undefined;
}) {
  const errors = props.errors ?? {};
  return (
    <Layout title="Change password" auth={props.auth}>
      <Card title="Change password">
        <p>Your password has expired under your organisation's policy. Choose a new one to continue.</p>
        <FormProblems error={props.error} errors={errors} fields={["password", "confirm"]} />
        <form method="post" action={`/${props.auth.portal}/login/change-password`} class="stack">
          <Field label="New password" name="password" type="password" autocomplete="new-password" autofocus error={errors.password} />
          <Field label="Confirm new password" name="confirm" type="password" autocomplete="new-password" error={errors.confirm} />
          <PasswordRulesList rules={props.rules} />
          <button type="submit" class="primary">
            Change password
          </button>
        </form>
      </Card>
    </Layout>
  );
}
