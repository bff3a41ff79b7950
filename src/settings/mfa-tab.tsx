import { z } from "zod";
import type { MfaPolicy } from "../portal/policy";
import { checkbox, Toggle } from "./fields";
import type { PolicyTab } from "./policy-tab";

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

const onOff = (v: boolean) => (v ? "on" : "off");

/** Settings > … > Multi-Factor Authentication. */
export const mfaTab: PolicyTab<MfaPolicy> = {
  slug: "mfa",
  title: "Multi-Factor Authentication",
  read: (policy) => policy.mfa,
  schema: z
    .object({ authenticatorApp: checkbox, emailOtp: checkbox, issuerName })
    .refine((f) => !f.authenticatorApp || f.issuerName.length > 0, {
      message: "Enter an Issuer Name: it is the label people see in their authenticator app.",
    })
    .transform((f) => ({ ...f, issuerName: f.issuerName || "EdgeDesk" })),
  describe(before, after) {
    const changes: string[] = [];
    if (before.authenticatorApp !== after.authenticatorApp) changes.push(`Authenticator App: ${onOff(before.authenticatorApp)} → ${onOff(after.authenticatorApp)}`);
    if (before.emailOtp !== after.emailOtp) changes.push(`Email OTP: ${onOff(before.emailOtp)} → ${onOff(after.emailOtp)}`);
    if (after.authenticatorApp && before.issuerName !== after.issuerName) changes.push(`Issuer Name: “${before.issuerName}” → “${after.issuerName}”`);
    return changes;
  },
  fields: (v) => ({ authenticatorApp: v.authenticatorApp ? "on" : "", emailOtp: v.emailOtp ? "on" : "", issuerName: v.issuerName }),
  write: (mfa) => ({ mfa }),
  Form: ({ action, value }) => (
    <form method="post" action={action} class="stack">
      <p class="hint">Multi-factor authentication applies to email and password sign-ins. People who sign in with single sign-on are never asked.</p>
      <Toggle name="authenticatorApp" label="Authenticator App" checked={value.authenticatorApp}>
        A 6-digit code from an app such as Microsoft Authenticator. With Email OTP also on, the app comes first.
      </Toggle>
      <div class="field">
        <label for="field-issuerName">Issuer Name</label>
        <input id="field-issuerName" name="issuerName" type="text" value={value.issuerName} maxlength={64} aria-describedby="issuer-hint" />
        <p class="hint" id="issuer-hint">
          The label shown in the authenticator app, e.g. “RTX Solutions – Agent App”. Needed when the Authenticator App is on.
        </p>
      </div>
      <Toggle name="emailOtp" label="Email OTP" checked={value.emailOtp}>
        A one-time password sent to the person's email address, valid for 10 minutes.
      </Toggle>
      <div class="actions">
        <button type="submit" class="primary">Save</button>
      </div>
    </form>
  ),
};
