import { type Context, Hono } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import { z } from "zod";
import type { AppEnv } from "../app-env";
import { SignInPage } from "./pages";
import { signInWays } from "./ways";
import { readSession, requestDetails, rotateSession, startSession } from "../request/session-cookie";
import { REAUTH_WINDOW_MS } from "./reauth";
import { Card, Layout } from "../web/layout";
import { auditOriginOf, recordAudit } from "../request/audit";
import { owedAudit } from "../auth/owed-audits";
import { getDb } from "../db";
import { MINUTE } from "../lib/clock";
import { hmacHex, hmacMatches } from "../lib/encryption";
import { readsQuery } from "../request/validation";
import { safeNextPath } from "../lib/fields";
import { countAttempt, LIMITS, retryAfterSeconds, waitMessage } from "../limits/limits";
import { countFromSource, giveBack, type SourceRules } from "../limits/sign-in-guard";
import { sourceOf } from "../limits/source";
import { allowsSso, type Portal } from "../portal/policy";
import { findLinkedUser, findOrLinkUser } from "../sso/accounts";
import { invitationRoutes, linkThroughInvitation } from "./sso-invitation-routes";
import {
  type EntraIdentity,
  entraErrorMessage,
  exchangeCode,
  type SsoConfig,
  type SsoFlow,
  ssoConfig,
  startFlow,
  verifyIdToken,
} from "../sso/oidc";
import { allowedTenantIds } from "../sso/tenants";
import { portalPolicy } from "../request/portal";

const FLOW_LIFETIME_MS = 10 * MINUTE;
const flowCookie = (portal: Portal) => `edgedesk_sso_${portal}`;

const flowSchema = z.object({
  state: z.string().min(20).max(100),
  codeVerifier: z.string().min(43).max(128),
  nonce: z.string().min(20).max(100),
  next: z.string().max(2048),
  reauthFor: z.string().max(40).optional(),
  invite: z
    .string()
    .regex(/^[0-9a-f]{64}$/)
    .optional(),
});
const callbackQuery = z.union([
  z.object({ code: z.string().min(1).max(4096), state: z.string().min(1).max(100) }),
  z.object({ error: z.string().max(200), error_description: z.string().max(2000).optional(), state: z.string().max(100).optional() }),
]);

// SECURITY.md 46: the flow cookie carries an HMAC (HMAC_KEY) over the portal and the flow, so a
// callback for a flow we did not issue is refused before any limiter object is made or Microsoft's
// token endpoint is called with our client secret.
const flowMessage = (portal: Portal, payload: string) => `edgedesk sso flow\n${portal}\n${payload}`;

async function readFlow(c: Context<AppEnv>, portal: Portal): Promise<SsoFlow | null> {
  const raw = getCookie(c, flowCookie(portal), "host");
  const signed = raw && /^([A-Za-z0-9_=-]{1,4096})\.([0-9a-f]{8}\.[0-9a-f]{64})$/.exec(raw);
  if (!signed || !(await hmacMatches(c.env, flowMessage(portal, signed[1]!), signed[2]!))) return null;
  try {
    const parsed = flowSchema.safeParse(JSON.parse(atob(signed[1]!.replace(/-/g, "+").replace(/_/g, "/"))));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}

function redirectUri(c: Context<AppEnv>, portal: Portal): string {
  return `${new URL(c.req.url).origin}/${portal}/sso/callback`;
}

/** Start a flow: its state travels in an HttpOnly cookie, signed, and the browser goes to Microsoft. */
async function goToMicrosoft(
  c: Context<AppEnv>,
  portal: Portal,
  config: SsoConfig,
  next: string,
  purpose: Parameters<typeof startFlow>[3],
) {
  const { url, flow } = startFlow(config, redirectUri(c, portal), next, purpose);
  const payload = btoa(JSON.stringify(flow)).replace(/\+/g, "-").replace(/\//g, "_");
  // SECURITY.md 26: SameSite=Lax still travels on Microsoft's top-level redirect back to us.
  setCookie(c, flowCookie(portal), `${payload}.${await hmacHex(c.env, flowMessage(portal, payload))}`, {
    prefix: "host",
    httpOnly: true,
    sameSite: "Lax",
    maxAge: FLOW_LIFETIME_MS / 1000,
  });
  return c.redirect(url.toString(), 302);
}

/** How Microsoft callbacks count against their source: per address or /64, and per /48. */
const SSO_SOURCE: SourceRules = { own: LIMITS.ssoCallbacksPerSource, wider: LIMITS.ssoCallbacksPerWiderSource, window: "sso" };

/** "Sign in with Microsoft" for one portal, mounted at /agent or /support. MFA is never asked after it. */
export function ssoRoutes(portal: Portal) {
  const app = new Hono<AppEnv>();
  const home = `/${portal}`;
  // A refused Microsoft sign-in returns to the sign-in page with every way the portal offers, so
  // "Sign in with Microsoft" is there to try again.
  const refuse = async (c: Context<AppEnv>, error: string, status: 400 | 403 | 404 | 429 | 502 | 503) =>
    c.html(<SignInPage portal={portal} error={error} {...signInWays(c.env, await portalPolicy(c, portal))} />, status);

  app.get("/sso/start", async (c) => {
    const config = ssoConfig(c.env);
    if (!config) return refuse(c, "Single sign-on is not set up for EdgeDesk yet.", 404);
    if (!allowsSso((await portalPolicy(c, portal)).access)) return refuse(c, "This portal does not use Microsoft sign-in.", 403);
    // A tenant named by a domain that does not resolve stops here, naming the setting.
    const tenants = await allowedTenantIds(config, c.var.clock.now());
    if (!tenants.ok) {
      console.error(`SSO: ${tenants.message}`);
      return refuse(c, tenants.message, 503);
    }
    // ?reauth=1: a signed-in person confirms it's them with a fresh Microsoft sign-in.
    const reauthFor = c.req.query("reauth") === "1" ? (await readSession(c, portal))?.user.id : undefined;
    if (c.req.query("reauth") === "1" && !reauthFor) return c.redirect(`/${portal}/login`, 303);
    return goToMicrosoft(c, portal, config, safeNextPath(c.req.query("next"), home), { reauthFor });
  });

  app.route("/", invitationRoutes(portal, goToMicrosoft));

  app.get("/sso/callback", readsQuery(callbackQuery), async (c) => {
    const config = ssoConfig(c.env);
    if (!config) return refuse(c, "Single sign-on is not set up for EdgeDesk yet.", 404);
    const flow = await readFlow(c, portal);
    deleteCookie(c, flowCookie(portal), { prefix: "host", secure: true, path: "/" });
    const policy = await portalPolicy(c, portal);
    if (!allowsSso(policy.access)) return refuse(c, "This portal does not use Microsoft sign-in.", 403);

    const query = c.req.valid("query");
    if (!query.ok) return refuse(c, "Microsoft's answer was incomplete. Start the sign-in again.", 400);
    // SECURITY.md 23, 44: the state must be the one this browser started with, before anything is
    // written or asked: a stranger's made-up callback leaves no audit row and no object behind.
    if (!flow || flow.state !== query.data.state)
      return refuse(c, "This sign-in expired or was not started in this browser. Start again.", 400);
    const now = c.var.clock.now();
    // SECURITY.md 44: anyone may start a flow, so each callback counts against its source (its
    // address or /64, and the /48 around it) before any audit row, limiter object or call to
    // Microsoft with our client secret; a completed sign-in gives its count back, so an office
    // signs in all morning.
    const source = await countFromSource(c.env, { portal, source: sourceOf(requestDetails(c).ip) }, now, { ceiling: false }, SSO_SOURCE);
    if (!source.result.allowed) {
      c.header("Retry-After", String(retryAfterSeconds(source.result.retryAfterMs)));
      return refuse(c, `Too many sign-in attempts. For your security, try again in ${waitMessage(source.result.retryAfterMs)}.`, 429);
    }
    const signedIn = () => giveBack(c.env, source.counters);
    // Each state is good for one callback, an error included: a replayed callback (and its code,
    // or its error, which would write another audit row) is refused here.
    const firstUse = await countAttempt(c.env, `sso-state:${flow.state}`, { limit: 1, windowMs: FLOW_LIFETIME_MS }, now);
    if (!firstUse.allowed) return refuse(c, "This sign-in was already used. Start again.", 400);
    if ("error" in query.data) {
      const { error, error_description: description = "" } = query.data;
      console.warn(`SSO: Microsoft answered ${error}: ${description}`);
      const aadsts = /AADSTS\d+/.exec(description)?.[0];
      await recordAudit(c, {
        event: "sign_in.failed",
        portal,
        details: { method: "sso", reason: aadsts ? `${error} (${aadsts})` : error },
      });
      return refuse(c, entraErrorMessage(error, description), 400);
    }

    let idToken: string;
    try {
      idToken = await exchangeCode(config, redirectUri(c, portal), query.data.code, flow.codeVerifier);
    } catch (error) {
      console.warn("SSO: code exchange failed:", error instanceof Error ? error.message : error);
      return refuse(c, "Microsoft did not accept this sign-in. Start again.", 400);
    }
    const checked = await verifyIdToken(config, idToken, flow.nonce, now);
    if (!checked.ok) {
      if (checked.misconfigured) return refuse(c, checked.reason, 503);
      await recordAudit(c, { event: "sign_in.failed", portal, details: { method: "sso", reason: checked.reason } });
      return refuse(c, checked.reason, 403);
    }
    const { tenantId, objectId } = checked.identity;
    // A confirmation or an invitation Microsoft answered for a real account is a person's, not a stranger's.
    if (flow.reauthFor || flow.invite) await signedIn();
    if (flow.reauthFor) return confirmWithMicrosoft(c, flow, checked.identity, now);
    if (flow.invite) return linkThroughInvitation(c, portal, flow.invite, flow.state, checked.identity, refuse);
    const linked = await findOrLinkUser(getDb(c.env.DB), portal, checked.identity, now);
    if (!linked.ok) {
      await recordAudit(c, { event: "sign_in.failed", portal, details: { method: "sso", tenantId, objectId, reason: linked.message } });
      return refuse(c, linked.message, 403);
    }
    await signedIn();
    const audit = owedAudit(
      { event: "sign_in.succeeded", portal, actorId: linked.user.id, details: { method: "sso", tenantId, objectId } },
      auditOriginOf(c),
    );
    await startSession(c, portal, linked.user.id, { stage: "full", method: "sso", audits: [audit] });
    return c.redirect(safeNextPath(flow.next, home), 303);
  });

  /**
   * A re-authentication through Microsoft counts only if Microsoft itself asked for
   * the credentials within the last 5 minutes (auth_time, which Entra sends as an optional claim),
   * for the account linked to the person signed in here. It renews this session; it starts none.
   */
  async function confirmWithMicrosoft(c: Context<AppEnv>, flow: SsoFlow, identity: EntraIdentity, now: number) {
    const auth = await readSession(c, portal);
    const refuseReauth = async (message: string) => {
      await recordAudit(c, {
        event: "sign_in.failed",
        portal,
        actorId: auth?.user.id,
        details: { method: "sso", reauth: true, reason: message },
      });
      return c.html(
        <Layout title="Confirm it's you" portal={portal}>
          <Card title="Confirm it's you">
            <p role="alert">{message}</p>
            <p>
              <a href={`/${portal}/reauth?next=${encodeURIComponent(flow.next)}`}>Try again</a>
            </p>
          </Card>
        </Layout>,
        403,
      );
    };
    if (!auth || auth.user.id !== flow.reauthFor || auth.session.stage !== "full")
      return refuseReauth("You are no longer signed in here as the person who started this. Sign in again.");
    const linked = await findLinkedUser(getDb(c.env.DB), portal, identity);
    if (linked?.id !== auth.user.id) return refuseReauth("That Microsoft account is not the one linked to your EdgeDesk account.");
    if (identity.authTime === null) {
      return refuseReauth(
        "Microsoft did not say when you last signed in (the ID token has no auth_time claim), so this cannot confirm it's you. Ask your administrator " +
          "to add the optional claim auth_time to EdgeDesk's app registration.",
      );
    }
    if (now - identity.authTime > REAUTH_WINDOW_MS)
      return refuseReauth(
        "Microsoft did not ask for your password just now, so this cannot confirm it's you. Try again, and sign in at Microsoft when it asks.",
      );
    const audit = owedAudit({ event: "reauthenticated", portal, actorId: auth.user.id, details: { method: "sso" } }, auditOriginOf(c));
    await rotateSession(c, auth, { stage: "full", reauthenticated: true }, [audit]);
    return c.redirect(safeNextPath(flow.next, home), 303);
  }

  return app;
}
