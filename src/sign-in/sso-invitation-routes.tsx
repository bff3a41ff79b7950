// The person's side of "Invite to sign in with Microsoft". The link opens a page that
// says who invited them and what happens; its link starts a Microsoft sign-in that carries the
// invitation (in the HttpOnly flow cookie, never in Microsoft's URL), and the callback binds the
// Microsoft account's (tenant id, object id) to them. Opening the page uses nothing up.
import { type Context, Hono } from "hono";
import type { Child } from "hono/jsx";
import type { AppEnv } from "../app-env";
import { auditOriginOf, recordAudit } from "../request/audit";
import type { AuditEntry } from "../audit/events";
import { owedAudit } from "../auth/owed-audits";
import type { User } from "../db/schema";
import { startSession } from "../request/session-cookie";
import { getDb } from "../db";
import { ssoLinkedNotice } from "../admin/notices";
import { sendAfterResponse } from "../request/mail";
import { allowsSso, kindOfPortal, type Portal, portalLabel } from "../portal/policy";
import { Card, Layout } from "../web/layout";
import { acceptInvitation, INVITATION_GONE, openInvitation } from "../sso/invitations";
import { type EntraIdentity, type SsoConfig, ssoConfig } from "../sso/oidc";
import { portalPolicy } from "../request/portal";

/** How a route sends the browser to Microsoft with a flow of its own (src/sign-in/sso-routes.tsx). */
export type GoToMicrosoft = (c: Ctx, portal: Portal, config: SsoConfig, next: string, purpose: { invite?: string }) => Promise<Response>;

type Ctx = Context<AppEnv>;
type Refuse = (c: Ctx, error: string, status: 400 | 403 | 404 | 502 | 503) => Promise<Response>;

function InvitationPage(props: { portal: Portal; title: string; children?: Child }) {
  return (
    <Layout title={props.title} portal={props.portal}>
      <Card title={props.title}>{props.children}</Card>
    </Layout>
  );
}

export function invitationRoutes(portal: Portal, goToMicrosoft: GoToMicrosoft) {
  const app = new Hono<AppEnv>();
  const formatter = new Intl.DateTimeFormat("en-GB", { dateStyle: "medium", timeStyle: "short", timeZone: "UTC" });

  /** The invitation with the SSO settings when it can be used here now; otherwise the page saying why not. */
  async function unusable(c: Ctx, token: string) {
    const gone = (message: string, status: 403 | 404 | 410 | 503) =>
      c.html(
        <InvitationPage portal={portal} title="Sign in with Microsoft">
          <p role="alert">{message}</p>
        </InvitationPage>,
        status,
      );
    const config = ssoConfig(c.env);
    if (!config) return { page: gone("Single sign-on is not set up for EdgeDesk yet. Ask your administrator.", 503) };
    const invitation = await openInvitation(getDb(c.env.DB), token, c.var.clock.now());
    if (!invitation || invitation.user.kind !== kindOfPortal(portal)) return { page: gone(INVITATION_GONE, 410) };
    if (!allowsSso((await portalPolicy(c, portal)).access)) {
      return {
        page: gone(
          `The ${portalLabel(portal).toLowerCase()} does not use Microsoft sign-in yet. Ask your administrator to turn it on, then open this link again.`,
          403,
        ),
      };
    }
    return { config, invitation };
  }

  app.get("/sso/invitation/:token", async (c) => {
    const found = await unusable(c, c.req.param("token"));
    if ("page" in found) return found.page;
    const { invitation } = found;
    return c.html(
      <InvitationPage portal={portal} title="Link your Microsoft account">
        <p>
          Hello {invitation.user.name}. {invitation.invitedBy} invited you to sign in to the EdgeDesk {portalLabel(portal).toLowerCase()}{" "}
          with your Microsoft account.
        </p>
        <p>
          Sign in with the Microsoft account you use for work. It is then linked to your EdgeDesk account ({invitation.user.email}), and
          "Sign in with Microsoft" signs you in from now on. This link works once, until {formatter.format(invitation.expiresAt)} UTC.
        </p>
        {/* A link, as "Sign in with Microsoft" is everywhere: the CSP's form-action would stop a form redirecting to Microsoft. */}
        <p class="actions">
          <a class="button sso" href={`/${portal}/sso/invitation/${c.req.param("token")}/start`}>
            Sign in with Microsoft
          </a>
        </p>
      </InvitationPage>,
    );
  });

  // Starting uses nothing up either: the invitation is spent only when Microsoft's answer comes back.
  app.get("/sso/invitation/:token/start", async (c) => {
    const found = await unusable(c, c.req.param("token"));
    if ("page" in found) return found.page;
    return goToMicrosoft(c, portal, found.config, `/${portal}`, { invite: found.invitation.tokenHash });
  });

  return app;
}

/** The callback of an invitation's sign-in: bind the identity, sign the person in, audit, tell them. */
export async function linkThroughInvitation(
  c: Ctx,
  portal: Portal,
  tokenHash: string,
  signIn: string,
  identity: EntraIdentity,
  refuse: Refuse,
) {
  const { tenantId, objectId } = identity;
  const now = c.var.clock.now();
  // The link's audit row and the notice to the person are stored with the link itself.
  const record = {
    origin: auditOriginOf(c),
    build: async ({ user, replaced }: { user: User; replaced: boolean }) =>
      user.kind !== kindOfPortal(portal)
        ? { entries: [], notices: [] }
        : {
            entries: [
              {
                event: "sso.linked",
                portal,
                actorId: user.id,
                targetId: user.id,
                details: { via: "invitation", tenantId, objectId, replacedEarlierLink: replaced },
              } satisfies AuditEntry,
            ],
            notices: [ssoLinkedNotice(user, portal)],
          },
  };
  const accepted = await acceptInvitation(c.env, getDb(c.env.DB), tokenHash, identity, signIn, now, record);
  if (!accepted.ok || accepted.user.kind !== kindOfPortal(portal)) {
    const message = accepted.ok ? INVITATION_GONE : accepted.message;
    await recordAudit(c, {
      event: "sign_in.failed",
      portal,
      details: { method: "sso", invitation: true, tenantId, objectId, reason: message },
    });
    return refuse(c, message, 403);
  }
  const { user } = accepted;
  await sendAfterResponse(c, accepted.mailIds);
  const audit = owedAudit(
    { event: "sign_in.succeeded", portal, actorId: user.id, details: { method: "sso", tenantId, objectId } },
    auditOriginOf(c),
  );
  await startSession(c, portal, user.id, { stage: "full", method: "sso", audits: [audit] });
  return c.redirect(`/${portal}`, 303);
}
