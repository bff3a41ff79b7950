import { Hono } from "hono";
import type { AppEnv } from "../app-env";
import { requireSession } from "../request/require-session";
import { hasPermission } from "../access/permissions";
import { GraceReminder } from "./grace-banner";
import { Layout } from "../web/layout";
import { getDb } from "../db";

/** The agent portal's home: what this agent may use. */
export const agentHomeRoutes = new Hono<AppEnv>().get("/", requireSession("agent"), (c) => {
  const auth = c.var.auth;
  const can = (p: Parameters<typeof hasPermission>[1]) => hasPermission(auth.permissions, p);
  return c.html(
    <Layout title="Home" auth={auth}>
      <section class="wide">
        <h1>Welcome, {auth.user.name}</h1>
        <GraceReminder auth={auth} db={getDb(c.env.DB)} now={c.var.clock.now()} />
        <ul class="tiles">
          {can("viewAssets") && (
            <li>
              <a href="/agent/assets">Assets</a>
              <p>Hardware your team looks after.</p>
            </li>
          )}
          {can("viewAssets") && (
            <li>
              <a href="/agent/software">Software</a>
              <p>Software and licences your team looks after.</p>
            </li>
          )}
          {can("manageAuthentication") && (
            <li>
              <a href="/agent/settings/security">Security and Compliance</a>
              <p>How agents and contacts sign in: portal access, MFA, passwords and sessions.</p>
            </li>
          )}
        </ul>
      </section>
    </Layout>,
  );
});

/** The support portal's home for a signed-in contact. */
export const supportHomeRoutes = new Hono<AppEnv>().get("/", requireSession("support"), (c) => {
  const auth = c.var.auth;
  return c.html(
    <Layout title="Support" auth={auth}>
      <section class="wide">
        <h1>Hello, {auth.user.name}</h1>
        <GraceReminder auth={auth} db={getDb(c.env.DB)} now={c.var.clock.now()} />
        <p>You are signed in to the support portal as {auth.user.email}.</p>
        <ul class="tiles">
          <li>
            <a href="/support/assets">My assets</a>
            <p>The equipment assigned to you.</p>
          </li>
          <li>
            <a href="/support/account">My account</a>
            <p>Your password, two-step verification and sessions.</p>
          </li>
        </ul>
      </section>
    </Layout>,
  );
});
