import type { Child } from "hono/jsx";
import { type Context, Hono } from "hono";
import { z } from "zod";
import type { AppEnv } from "../app-env";
import { portalStub } from "../auth/sessions";
import { parseForm } from "../lib/validation";
import type { MfaPolicy } from "../portal/policy";
import { ErrorMessage, Notice } from "../web/layout";
import { AUDIENCES, type Audience, parseAudience, SETTINGS_ROOT } from "./audiences";
import { ApplyChoice, SettingsFrame } from "./pages";

const checkbox = z
  .union([z.literal("on"), z.literal("")])
  .optional()
  .transform((v) => v === "on");

const mfaForm = z
  .object({
    authenticatorApp: checkbox,
    emailOtp: checkbox,
    issuerName: z
      .string()
      .optional()
      .default("")
      .transform((v) => v.trim())
      .pipe(z.string().max(64, "Keep the Issuer Name to 64 characters or fewer.").regex(/^[^\p{Cc}:]*$/u, "The Issuer Name cannot contain a colon or control characters.")),
  })
  .refine((f) => !f.authenticatorApp || f.issuerName.length > 0, {
    message: "Enter an Issuer Name: it is the label people see in their authenticator app.",
  });

const applyForm = z.object({ apply: z.enum(["immediately", "next_login"], { error: "Choose when the change applies." }) });

function describeChanges(before: MfaPolicy, after: MfaPolicy): string[] {
  const onOff = (v: boolean) => (v ? "on" : "off");
  const changes: string[] = [];
  if (before.authenticatorApp !== after.authenticatorApp) changes.push(`Authenticator App: ${onOff(before.authenticatorApp)} → ${onOff(after.authenticatorApp)}`);
  if (before.emailOtp !== after.emailOtp) changes.push(`Email OTP: ${onOff(before.emailOtp)} → ${onOff(after.emailOtp)}`);
  if (after.authenticatorApp && before.issuerName !== after.issuerName) changes.push(`Issuer Name: “${before.issuerName}” → “${after.issuerName}”`);
  return changes;
}

/** A checkbox whose label is only its name; the explanation is linked, not part of the label. */
export function Toggle(props: { name: string; label: string; checked: boolean; children?: Child }) {
  const id = `field-${props.name}`;
  return (
    <div class="toggle">
      <input type="checkbox" id={id} name={props.name} checked={props.checked} aria-describedby={`${id}-hint`} />
      <div>
        <label for={id}>{props.label}</label>
        <p class="hint" id={`${id}-hint`}>
          {props.children}
        </p>
      </div>
    </div>
  );
}

function MfaForm(props: { audience: Audience; mfa: MfaPolicy }) {
  const action = `${SETTINGS_ROOT}/${props.audience}/mfa`;
  return (
    <form method="post" action={action} class="stack">
      <p class="hint">Multi-factor authentication applies to email and password sign-ins. People who sign in with single sign-on are never asked.</p>
      <Toggle name="authenticatorApp" label="Authenticator App" checked={props.mfa.authenticatorApp}>
        A 6-digit code from an app such as Microsoft Authenticator. With Email OTP also on, the app comes first.
      </Toggle>
      <div class="field">
        <label for="field-issuerName">Issuer Name</label>
        <input id="field-issuerName" name="issuerName" type="text" value={props.mfa.issuerName} maxlength={64} aria-describedby="issuer-hint" />
        <p class="hint" id="issuer-hint">
          The label shown in the authenticator app, e.g. “RTX Solutions – Agent App”. Needed when the Authenticator App is on.
        </p>
      </div>
      <Toggle name="emailOtp" label="Email OTP" checked={props.mfa.emailOtp}>
        A one-time password sent to the person's email address, valid for 10 minutes.
      </Toggle>
      <div class="actions">
        <button type="submit" class="primary">Save</button>
      </div>
    </form>
  );
}

type Ctx = Context<AppEnv>;

/** Settings > Security and Compliance > {Agent|Contact} Authentication > Multi-Factor Authentication. */
export const mfaSettingsRoutes = new Hono<AppEnv>();

async function currentMfa(c: Ctx, audience: Audience) {
  return (await portalStub(c.env, AUDIENCES[audience]).getPolicy()).mfa;
}

function page(c: Ctx, audience: Audience, mfa: MfaPolicy, extra: { error?: string; notice?: string; confirm?: Child } = {}, status: 200 | 400 = 200) {
  return c.html(
    <SettingsFrame auth={c.var.auth} audience={audience} tab="mfa">
      <h1>Multi-Factor Authentication</h1>
      <ErrorMessage message={extra.error} />
      <Notice message={extra.notice} />
      {extra.confirm ?? <MfaForm audience={audience} mfa={mfa} />}
    </SettingsFrame>,
    status,
  );
}

const SAVED_NOTICES: Record<string, string> = {
  immediately: "Saved. Everyone was signed out and signs in under the new policy.",
  next_login: "Saved. The new policy applies as people next sign in.",
  unchanged: "Nothing changed.",
};

mfaSettingsRoutes.get("/:audience/mfa", async (c) => {
  const audience = parseAudience(c.req.param("audience"));
  if (!audience) return c.notFound();
  return page(c, audience, await currentMfa(c, audience), { notice: SAVED_NOTICES[c.req.query("saved") ?? ""] });
});

/** Save: validate, then ask when the change applies (nothing is written yet). */
mfaSettingsRoutes.post("/:audience/mfa", async (c) => {
  const audience = parseAudience(c.req.param("audience"));
  if (!audience) return c.notFound();
  const before = await currentMfa(c, audience);
  const form = await parseForm(c, mfaForm);
  if (!form.ok) return page(c, audience, before, { error: form.message }, 400);
  const after: MfaPolicy = { ...form.data, issuerName: form.data.issuerName || before.issuerName };
  const changes = describeChanges(before, after);
  if (changes.length === 0) return c.redirect(`${SETTINGS_ROOT}/${audience}/mfa?saved=unchanged`, 303);
  const fields = { authenticatorApp: after.authenticatorApp ? "on" : "", emailOtp: after.emailOtp ? "on" : "", issuerName: after.issuerName };
  const action = `${SETTINGS_ROOT}/${audience}/mfa/apply`;
  return page(c, audience, before, {
    confirm: <ApplyChoice action={action} fields={fields} changes={changes} cancel={`${SETTINGS_ROOT}/${audience}/mfa`} audience={audience} />,
  });
});

/** Apply: write the policy; "Immediately" moves the portal's session generation on in the same write. */
mfaSettingsRoutes.post("/:audience/mfa/apply", async (c) => {
  const audience = parseAudience(c.req.param("audience"));
  if (!audience) return c.notFound();
  const before = await currentMfa(c, audience);
  const form = await parseForm(c, mfaForm.and(applyForm));
  if (!form.ok) return page(c, audience, before, { error: form.message }, 400);
  const { apply, ...mfa } = form.data;
  const portal = AUDIENCES[audience];
  await portalStub(c.env, portal).updatePolicy({ mfa }, apply === "immediately");
  // The admin's own agent session ends too when the agents' policy applies immediately.
  if (apply === "immediately" && portal === c.var.auth.portal) return c.redirect("/agent/login?policy_applied=1", 303);
  return c.redirect(`${SETTINGS_ROOT}/${audience}/mfa?saved=${apply}`, 303);
});
