import { raw } from "hono/html";
import type { Auth } from "../access/auth";
import { Card, ErrorMessage, Field, Layout, Notice } from "../web/layout";

interface StepProps {
  auth: Auth;
  error?: string | undefined;
  notice?: string | undefined;
}

const base = (auth: Auth) => `/${auth.portal}/login`;

/** "Don't ask again on this device", when the portal allows it. */
function RememberDevice({ auth }: { auth: Auth }) {
  const days = auth.policy.mfa.rememberDays;
  if (days <= 0) return null;
  return (
    <div class="choice">
      <input type="checkbox" id="field-remember" name="remember" />
      <label for="field-remember">
        Don't ask again on this device for {days} {days === 1 ? "day" : "days"}
      </label>
    </div>
  );
}

/**
 * A code box. App and emailed codes are 6 digits (TOTP_DIGITS, EMAIL_OTP.digits), said in a hint
 * the field is described by, so a screen reader announces it with the label; the pattern lets the
 * browser stop a 5-digit or spaced code before it costs one of the limited attempts.
 */
function CodeField({ label, name, numeric = true }: { label: string; name: string; numeric?: boolean }) {
  if (!numeric) return <Field label={label} name={name} autocomplete="one-time-code" inputmode="text" maxlength={20} autofocus />;
  const id = `field-${name}`;
  return (
    <div class="field">
      <label for={id}>{label}</label>
      <input
        id={id}
        name={name}
        type="text"
        autocomplete="one-time-code"
        required
        inputmode="numeric"
        pattern="[0-9]{6}"
        maxlength={6}
        title="6 digits"
        autofocus
        aria-describedby={`${id}-hint`}
      />
      <p class="hint" id={`${id}-hint`}>
        The code has 6 digits.
      </p>
    </div>
  );
}

/** Buttons to the other ways of finishing sign-in; a temporary access pass from an admin is always one. */
function Alternatives({
  auth,
  methods,
}: {
  auth: Auth;
  methods: { app?: boolean; email?: boolean; recovery?: boolean; passkey?: boolean; pass?: boolean };
}) {
  return (
    <div class="alternatives">
      {methods.passkey && <a href={`${base(auth)}/verify?method=passkey`}>Use a passkey</a>}
      {methods.app && <a href={`${base(auth)}/verify?method=app`}>Use the authenticator app</a>}
      {methods.recovery && <a href={`${base(auth)}/verify?method=recovery`}>Use a recovery code</a>}
      {methods.email && (
        <form method="post" action={`${base(auth)}/verify/email/send`} data-dialog="[data-email-code]">
          <button type="submit" class="link">
            Enter OTP received via email
          </button>
        </form>
      )}
      {methods.pass !== false && <a href={`${base(auth)}/verify?method=pass`}>Use a temporary access pass</a>}
    </div>
  );
}

export function AppCodePage(props: StepProps & { emailFallback: boolean; passkey: boolean }) {
  return (
    <Layout title="Verify it's you" auth={props.auth}>
      <Card title="Verify it's you">
        <p>Open your authenticator app and enter the 6-digit code it shows for {props.auth.policy.mfa.issuerName}.</p>
        <ErrorMessage message={props.error} />
        <Notice message={props.notice} />
        <form method="post" action={`${base(props.auth)}/verify/app`} class="stack">
          <CodeField label="Authentication code" name="code" />
          <RememberDevice auth={props.auth} />
          <button type="submit" class="primary">
            Verify
          </button>
        </form>
        <Alternatives auth={props.auth} methods={{ recovery: true, email: props.emailFallback, passkey: props.passkey }} />
      </Card>
    </Layout>
  );
}

export function EmailCodePage(
  props: StepProps & { email: string; resendAt: number | null; now: number; app: boolean; passkey: boolean; nothingSent?: boolean },
) {
  const waitSeconds = props.resendAt ? Math.max(0, Math.ceil((props.resendAt - props.now) / 1000)) : 0;
  return (
    <Layout title="Check your email" auth={props.auth}>
      <Card title="Check your email">
        {/* What "Enter OTP received via email" opens as a popup when JavaScript runs (web/app.js). */}
        <div data-email-code>
          <h2 class="dialog-only">Check your email</h2>
          <p>
            {props.resendAt && !props.nothingSent ? "We sent a one-time password to " : "We will send a one-time password to "}
            <strong>{props.email}</strong>. It works for 10 minutes.
          </p>
          <ErrorMessage message={props.error} />
          <Notice message={props.notice} />
          <form method="post" action={`${base(props.auth)}/verify/email`} class="stack">
            <CodeField label="One-time password" name="code" />
            <RememberDevice auth={props.auth} />
            <button type="submit" class="primary">
              Verify
            </button>
          </form>
          <form method="post" action={`${base(props.auth)}/verify/email/send`} class="resend">
            <button type="submit" id="resend-otp" data-wait-seconds={String(waitSeconds)} disabled={waitSeconds > 0}>
              Resend OTP
            </button>
            <span class="hint" id="resend-countdown" aria-live="polite">
              {waitSeconds > 0 ? `You can resend in ${waitSeconds} s.` : ""}
            </span>
          </form>
          <p class="dialog-only">
            <a href={`${base(props.auth)}/verify`} data-close-dialog>
              Cancel
            </a>
          </p>
        </div>
        <Alternatives auth={props.auth} methods={{ app: props.app, recovery: props.app, passkey: props.passkey }} />
      </Card>
    </Layout>
  );
}

export function RecoveryCodePage(props: StepProps & { emailFallback: boolean; passkey: boolean }) {
  return (
    <Layout title="Use a recovery code" auth={props.auth}>
      <Card title="Use a recovery code">
        <p>Enter one of the recovery codes you saved when you set up your authenticator app. Each code works once.</p>
        <ErrorMessage message={props.error} />
        <Notice message={props.notice} />
        <form method="post" action={`${base(props.auth)}/verify/recovery`} class="stack">
          <CodeField label="Recovery code" name="code" numeric={false} />
          <RememberDevice auth={props.auth} />
          <button type="submit" class="primary">
            Verify
          </button>
        </form>
        <Alternatives auth={props.auth} methods={{ app: true, email: props.emailFallback, passkey: props.passkey }} />
        <form method="post" action={`${base(props.auth)}/verify/request-codes`} class="request-codes">
          <p class="hint">Lost your recovery codes too?</p>
          <button type="submit" class="link">
            Request new recovery codes
          </button>
        </form>
      </Card>
    </Layout>
  );
}

/** A deadline as people read it: "Monday 30 November 2026, 09:00 UTC". */
export function deadlineText(ms: number): string {
  return `${new Date(ms).toLocaleDateString("en-GB", { weekday: "long", day: "numeric", month: "long", year: "numeric", timeZone: "UTC" })}, ${new Date(ms).toISOString().slice(11, 16)} UTC`;
}

/** The second step with a passkey: the browser asks the authenticator (web/passkeys.js). */
export function PasskeyPage(props: StepProps & { app: boolean; email: boolean }) {
  return (
    <Layout title="Use a passkey" auth={props.auth} passkeys>
      <Card title="Use a passkey">
        <p>Use the passkey you added for EdgeDesk: Windows Hello, Touch ID, a security key or your phone.</p>
        <ErrorMessage message={props.error} />
        <p class="alert error" role="alert" id="passkey-error" aria-live="assertive"></p>
        <div class="stack">
          <RememberDevice auth={props.auth} />
          <button
            type="button"
            class="primary"
            id="passkey-sign-in"
            data-options={`${base(props.auth)}/verify/passkey/options`}
            data-verify={`${base(props.auth)}/verify/passkey`}
          >
            Use a passkey
          </button>
        </div>
        <Alternatives auth={props.auth} methods={{ app: props.app, recovery: props.app, email: props.email }} />
      </Card>
    </Layout>
  );
}

/** The second step with a temporary access pass an administrator gave the person. */
export function AccessPassPage(props: StepProps & { app: boolean; email: boolean; passkey: boolean }) {
  return (
    <Layout title="Use a temporary access pass" auth={props.auth}>
      <Card title="Use a temporary access pass">
        <p>
          If you cannot use your usual second step, an administrator can give you a temporary access pass. It works once; then you set up
          your authenticator app or a passkey again.
        </p>
        <ErrorMessage message={props.error} />
        <Notice message={props.notice} />
        <form method="post" action={`${base(props.auth)}/verify/pass`} class="stack">
          <Field label="Temporary access pass" name="code" autocomplete="off" inputmode="text" maxlength={24} autofocus />
          <button type="submit" class="primary">
            Verify
          </button>
        </form>
        <Alternatives
          auth={props.auth}
          methods={{ app: props.app, recovery: props.app, email: props.email, passkey: props.passkey, pass: false }}
        />
      </Card>
    </Layout>
  );
}

export function EnrollPage(props: StepProps & { qrSvg: string; manualKey: string; issuer: string; skipUntil?: number | null }) {
  // The account name the enrollment route puts in the otpauth:// label (keyUri): what the app lists under the issuer.
  const account = props.auth.user.email;
  return (
    <Layout title="Set up your authenticator app" auth={props.auth}>
      <Card title="Set up your authenticator app">
        <p>
          Your administrator requires an authenticator app (such as Microsoft Authenticator, Google Authenticator or 1Password) to sign in.
        </p>
        <p>In the app, add an account and scan this QR code.</p>
        <p>
          It will appear in the app as <strong>{props.issuer}</strong> ({account}).
        </p>
        {/* The SVG is made by qrcode-svg from our own URI; it holds no text of the user's. */}
        <div class="qr" role="img" aria-label={`QR code for ${props.issuer} (${account})`}>
          {raw(props.qrSvg)}
        </div>
        <p class="hint">Can't scan it? Enter this key in the app instead (time-based, 6 digits):</p>
        <p class="manual-key">
          <code data-testid="totp-secret">{props.manualKey}</code>
        </p>
        <ErrorMessage message={props.error} />
        <form method="post" action={`${base(props.auth)}/enroll`} class="stack">
          <CodeField label="Authentication code" name="code" />
          <button type="submit" class="primary">
            Verify
          </button>
        </form>
        {props.skipUntil && (
          <form method="post" action={`${base(props.auth)}/enroll/skip`} class="skip">
            <p class="hint">You can skip this until {deadlineText(props.skipUntil)}. After that you will need the app to sign in.</p>
            <button type="submit">Skip for now</button>
          </form>
        )}
      </Card>
    </Layout>
  );
}

export function RecoveryCodesPage(props: StepProps & { codes: string[] }) {
  return (
    <Layout title="Save your recovery codes" auth={props.auth}>
      <Card title="Save your recovery codes">
        <p>
          If you lose your phone, each of these codes lets you sign in once. Keep them somewhere safe, like a password manager. They will
          not be shown again.
        </p>
        <RecoveryCodesBlock codes={props.codes} downloadHref={`${base(props.auth)}/recovery-codes.txt`} />
        <form method="post" action={`${base(props.auth)}/finish`} class="stack">
          <button type="submit" class="primary">
            Finish
          </button>
        </form>
      </Card>
    </Layout>
  );
}

/** The codes, one per list item, with Download and Copy. */
export function RecoveryCodesBlock({ codes, downloadHref }: { codes: string[]; downloadHref: string }) {
  return (
    <>
      <ol class="recovery-codes" data-testid="recovery-codes">
        {codes.map((code) => (
          <li>
            <code>{code}</code>
          </li>
        ))}
      </ol>
      <div class="actions">
        <a class="button" href={downloadHref} download="edgedesk-recovery-codes.txt">
          Download
        </a>
        <button type="button" id="copy-recovery-codes" data-copy={codes.join("\n")}>
          Copy
        </button>
        <span class="hint" id="copy-status" aria-live="polite"></span>
      </div>
    </>
  );
}
