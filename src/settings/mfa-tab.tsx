import { z } from "zod";
import { DAY } from "../lib/clock";
import type { MfaPolicy } from "../portal/policy";
import { relyingParty } from "../factors/passkeys";
import { EnrollmentCoverage } from "./coverage";
import { checkbox, NumberField, Toggle, wholeNumber } from "./fields";
import type { PolicyTab } from "./policy-tab";

/** What the tab edits; when the grace period ends is worked out as the change is applied. */
type MfaSettings = Omit<MfaPolicy, "graceUntil">;

const issuerName = z
  .string()
  .optional()
  .default("")
  .transform((v) => v.trim())
  .pipe(
    z
      .string()
      .max(64, "Keep the Issuer Name to 64 characters or fewer.")
      .regex(/^[^\p{Cc}:]*$/u, "The Issuer Name cannot contain a colon or control characters."),
  );

// A form from before these settings existed (or a hand-made request) means "off".
const daysOrOff = (label: string, max: number) =>
  z
    .string()
    .optional()
    .transform((v) => v || "0")
    .pipe(wholeNumber(label, 0, max));

const onOff = (v: boolean) => (v ? "on" : "off");

/** Settings > … > Multi-Factor Authentication. */
export const mfaTab: PolicyTab<MfaSettings> = {
  slug: "mfa",
  title: "Multi-Factor Authentication",
  read: ({ mfa: { graceUntil: _, ...settings } }) => settings,
  schema: z
    .object({
      authenticatorApp: checkbox,
      emailOtp: checkbox,
      issuerName,
      graceDays: daysOrOff("Grace period", 30),
      rememberDays: daysOrOff("Remember devices", 90),
      passkeys: checkbox,
      passwordlessPasskeys: checkbox,
    })
    .refine((f) => !f.authenticatorApp || f.issuerName.length > 0, {
      message: "Enter an Issuer Name: it is the label people see in their authenticator app.",
    })
    .refine((f) => !f.passwordlessPasskeys || f.passkeys, {
      message: "Turn on Passkeys too: signing in with a passkey alone needs people to be able to add one.",
    })
    .transform((f) => ({ ...f, issuerName: f.issuerName || "EdgeDesk" })),
  check: (value, env) =>
    value.passkeys && !relyingParty(env) ? "Passkeys need WEBAUTHN_RP_ID and WEBAUTHN_ORIGINS in the Worker's configuration first." : null,
  describe(before, after) {
    const changes: string[] = [];
    if (before.authenticatorApp !== after.authenticatorApp)
      changes.push(`Authenticator App: ${onOff(before.authenticatorApp)} → ${onOff(after.authenticatorApp)}`);
    if (before.emailOtp !== after.emailOtp) changes.push(`Email OTP: ${onOff(before.emailOtp)} → ${onOff(after.emailOtp)}`);
    if (after.authenticatorApp && before.issuerName !== after.issuerName)
      changes.push(`Issuer Name: “${before.issuerName}” → “${after.issuerName}”`);
    if (before.graceDays !== after.graceDays) changes.push(`Grace period: ${before.graceDays} → ${after.graceDays} days`);
    if (before.passkeys !== after.passkeys) changes.push(`Passkeys: ${onOff(before.passkeys)} → ${onOff(after.passkeys)}`);
    if (before.passwordlessPasskeys !== after.passwordlessPasskeys)
      changes.push(`Passkeys can sign in without a password: ${onOff(before.passwordlessPasskeys)} → ${onOff(after.passwordlessPasskeys)}`);
    if (before.rememberDays !== after.rememberDays)
      changes.push(
        `Remember devices: ${before.rememberDays ? `${before.rememberDays} days` : "off"} → ${after.rememberDays ? `${after.rememberDays} days` : "off"}`,
      );
    return changes;
  },
  fields: (v) => ({
    authenticatorApp: v.authenticatorApp ? "on" : "",
    emailOtp: v.emailOtp ? "on" : "",
    issuerName: v.issuerName,
    graceDays: String(v.graceDays),
    rememberDays: String(v.rememberDays),
    passkeys: v.passkeys ? "on" : "",
    passwordlessPasskeys: v.passwordlessPasskeys ? "on" : "",
  }),
  // The grace period runs from when the app is turned on, or from when its length is changed.
  write(settings, { before, now }) {
    const restart = !before.mfa.authenticatorApp || before.mfa.graceDays !== settings.graceDays;
    const graceUntil =
      !settings.authenticatorApp || settings.graceDays === 0 ? null : restart ? now + settings.graceDays * DAY : before.mfa.graceUntil;
    return { mfa: { ...settings, graceUntil } };
  },
  Form: ({ action, value, portal, env }) => (
    <>
      <EnrollmentCoverage env={env} portal={portal} />
      <form method="post" action={action} class="stack" data-dialog="form.confirm-apply">
        <p class="hint">
          Multi-factor authentication applies to email and password sign-ins. People who sign in with single sign-on are never asked.
        </p>
        <Toggle name="authenticatorApp" label="Authenticator App" checked={value.authenticatorApp}>
          A 6-digit code from an app such as Microsoft Authenticator. With Email OTP also on, the app comes first.
        </Toggle>
        <div class="field">
          <label for="field-issuerName">Issuer Name</label>
          <input
            id="field-issuerName"
            name="issuerName"
            type="text"
            value={value.issuerName}
            maxlength={64}
            aria-describedby="issuer-hint"
          />
          <p class="hint" id="issuer-hint">
            The label shown in the authenticator app, e.g. “RTX Solutions – Agent App”. Needed when the Authenticator App is on.
          </p>
        </div>
        <NumberField
          name="graceDays"
          label="Grace period (days)"
          value={value.graceDays}
          min={0}
          max={30}
          hint="With the Authenticator App on, people who have not set it up may skip it for this many days (0 to 30) and see a reminder; after that they set it up at sign-in. 0 asks at once."
        />
        <Toggle name="emailOtp" label="Email OTP" checked={value.emailOtp}>
          A one-time password sent to the person's email address, valid for 10 minutes.
        </Toggle>
        <Toggle name="passkeys" label="Passkeys" checked={value.passkeys}>
          People may add passkeys (Windows Hello, Touch ID, a security key or a phone) on My account and use one at the second step.
        </Toggle>
        <Toggle name="passwordlessPasskeys" label="Passkeys can sign in without a password" checked={value.passwordlessPasskeys}>
          The sign-in page offers “Sign in with a passkey”. The passkey must verify the person (a PIN, fingerprint or face), so it counts as
          both steps: no password and no second step follows, even with the Authenticator App required. Not offered when the portal signs in
          with Microsoft only. Needs Passkeys on.
        </Toggle>
        <NumberField
          name="rememberDays"
          label="Remember devices (days)"
          value={value.rememberDays}
          min={0}
          max={90}
          hint={
            "Lets people tick “Don't ask again on this device” at the second step, for this many days (1 to 90); 0 turns it off. " +
            "An MFA reset, a password change and Immediately forget every device."
          }
        />
        <div class="actions">
          <button type="submit" class="primary">
            Save
          </button>
        </div>
      </form>
    </>
  ),
};
