import { z } from "zod";
import { ACCESS_MODES, type AccessMode, accessModeLabel, allowsSso } from "../portal/policy";
import { ssoConfig } from "../sso/oidc";
import type { PolicyTab } from "./policy-tab";

/** Settings > … > Portal Access: email and password, Microsoft Entra SSO, or both. */
export const accessTab: PolicyTab<{ access: AccessMode }> = {
  slug: "access",
  title: "Portal Access",
  read: (policy) => ({ access: policy.access }),
  schema: z.object({ access: z.enum(ACCESS_MODES as [AccessMode, ...AccessMode[]], { error: "Choose how people sign in." }) }),
  // Choosing SSO before it is set up would offer a button that cannot work.
  check: (value, env) =>
    allowsSso(value.access) && !ssoConfig(env)
      ? "Microsoft Entra SSO is not set up yet: set ENTRA_CLIENT_ID, ENTRA_TENANT_ID and the ENTRA_CLIENT_SECRET secret first (docs/CONFIGURATION.md says how)."
      : null,
  describe: (before, after, portal) =>
    before.access === after.access
      ? []
      : [`Portal access: ${accessModeLabel(portal, before.access)} → ${accessModeLabel(portal, after.access)}`],
  fields: (v) => ({ access: v.access }),
  write: (v) => ({ access: v.access }),
  Form: ({ action, value, portal, env }) => (
    <form method="post" action={action} class="stack" data-dialog="form.confirm-apply">
      <fieldset class="choices">
        <legend>How {portal === "agent" ? "agents" : "contacts"} sign in</legend>
        {ACCESS_MODES.map((mode) => (
          <div class="choice">
            <input type="radio" id={`access-${mode}`} name="access" value={mode} checked={value.access === mode} />
            <label for={`access-${mode}`}>{accessModeLabel(portal, mode)}</label>
          </div>
        ))}
      </fieldset>
      {!ssoConfig(env) && (
        <p class="hint">
          Microsoft Entra SSO is not set up for this EdgeDesk yet, so only email and password can be chosen. docs/CONFIGURATION.md in
          EdgeDesk's repository says how to set it up.
        </p>
      )}
      <p class="hint">Multi-factor authentication applies only to email and password sign-ins.</p>
      <div class="actions">
        <button type="submit" class="primary">
          Save
        </button>
      </div>
    </form>
  ),
};
