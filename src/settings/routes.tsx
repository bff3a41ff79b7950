import { Hono } from "hono";
import type { AppEnv } from "../app-env";
import { requireSession } from "../request/require-session";
import { Layout } from "../web/layout";
import { audienceTitle, SETTINGS_ROOT } from "./audiences";
import { requirePermission } from "../request/guard";
import { accessTab } from "./access-tab";
import { auditLogRoutes } from "./audit-routes";
import { apiTokenRoutes } from "./api-token-routes";
import { streamingRoutes } from "./streaming-routes";
import { mfaTab } from "./mfa-tab";
import { passwordTab } from "./password-tab";
import { sessionTab } from "./session-tab";
import { policyTabRoutes } from "./policy-tab-routes";
import { TABS } from "./pages";

/** Settings > Security and Compliance, mounted at /agent/settings/security. */
export const securitySettingsRoutes = new Hono<AppEnv>();
securitySettingsRoutes.use("*", requireSession("agent"), requirePermission("manageAuthentication"));

securitySettingsRoutes.get("/", (c) =>
  c.html(
    <Layout title="Security and Compliance" auth={c.var.auth}>
      <section class="wide">
        <h1>Security and Compliance</h1>
        <ul class="tiles">
          {(["agents", "contacts"] as const).map((audience) => (
            <li>
              <a href={`${SETTINGS_ROOT}/${audience}/${TABS[0].slug}`}>{audienceTitle(audience)}</a>
              <p>
                How {audience} sign in to the {audience === "agents" ? "agent" : "support"} portal.
              </p>
            </li>
          ))}
          <li>
            <a href={`${SETTINGS_ROOT}/audit`}>Audit log</a>
            <p>Every sign-in, MFA and settings event, with filters and CSV export.</p>
          </li>
          <li>
            <a href={`${SETTINGS_ROOT}/streaming`}>Audit log streaming</a>
            <p>Send every audit event to your SIEM: Splunk, or any HTTPS endpoint.</p>
          </li>
          <li>
            <a href={`${SETTINGS_ROOT}/api-tokens`}>API tokens</a>
            <p>Tokens for scripts and SIEMs: read the audit log, sign people out.</p>
          </li>
        </ul>
      </section>
    </Layout>,
  ),
);
securitySettingsRoutes.route("/", auditLogRoutes);
securitySettingsRoutes.route("/", apiTokenRoutes);
securitySettingsRoutes.route("/", streamingRoutes);
securitySettingsRoutes.route("/", policyTabRoutes(accessTab));
securitySettingsRoutes.route("/", policyTabRoutes(mfaTab));
securitySettingsRoutes.route("/", policyTabRoutes(passwordTab));
securitySettingsRoutes.route("/", policyTabRoutes(sessionTab));
