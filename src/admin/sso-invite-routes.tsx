// The admin's side of "Invite to sign in with Microsoft", for an agent or a contact whose
// Microsoft account has no verified email to link by. The one access rule decides who may (the
// inviter must hold at least what the person holds), it needs a re-authentication within 5
// minutes, and it is audited. The link is emailed to the person and shown once here to pass on.
import { type Context, Hono } from "hono";
import { readsNothing } from "../request/validation";
import type { AppEnv } from "../app-env";
import { requireRecentAuth } from "../sign-in/reauth";
import { getDb } from "../db";
import { auditOriginOf } from "../request/audit";
import { sendAfterResponse } from "../request/mail";
import { requirePermission } from "../request/guard";
import { portalOfKind } from "../portal/policy";
import { createInvitation, INVITATION_LIFETIME_MS } from "../sso/invitations";
import { ssoConfig } from "../sso/oidc";
import { ssoInvitedNotice } from "./notices";
import { AdminFrame, CopyableSecret } from "./pages";
import { personToActOn } from "../request/admin-refusals";
import { personPage } from "./pages";

type Ctx = Context<AppEnv>;
const WHAT = "invite them to sign in with Microsoft";

/** Mounted inside the people routes, behind their signed-in check. */
export const ssoInviteRoutes = new Hono<AppEnv>();
const manage = requirePermission("manageAgents");

/** The person, when this admin may invite them now; otherwise the page that says why not. */
function invitee(c: Ctx) {
  return personToActOn(c, {
    title: "Invite to sign in with Microsoft",
    what: WHAT,
    action: "invite to sign in with Microsoft",
    refuse: (person) =>
      !ssoConfig(c.env)
        ? {
            message: "Single sign-on is not set up for EdgeDesk yet (docs/CONFIGURATION.md, Single sign-on with Microsoft Entra ID).",
            status: 503,
          }
        : person.id === c.var.auth.user.id
          ? { message: "You cannot invite yourself: sign in with Microsoft, or ask another administrator.", status: 403 }
          : !person.active
            ? { message: `${person.name} is disabled. Enable them first.`, status: 409 }
            : null,
  });
}

ssoInviteRoutes.get("/people/:id/sso-invite", manage, requireRecentAuth(), async (c) => {
  const found = await invitee(c);
  if (found.refused) return found.refused;
  const { person } = found;
  return c.html(
    <AdminFrame auth={c.var.auth} title={`Invite ${person.name} to sign in with Microsoft?`}>
      <p>
        This makes a link that works once, for {INVITATION_LIFETIME_MS / 3_600_000} hours. Whoever signs in with Microsoft through it links
        that Microsoft account to {person.name}'s EdgeDesk account, replacing any earlier link, and can then sign in as {person.name}. Any
        earlier invitation stops working.
      </p>
      <p>We email the link to {person.email} and show it to you once, to pass on if they have no mailbox.</p>
      <form method="post" action={`/agent/admin/people/${person.id}/sso-invite`} class="actions">
        <button type="submit">Create invitation</button>
        <a href={personPage(person)}>Cancel</a>
      </form>
    </AdminFrame>,
  );
});

ssoInviteRoutes.post("/people/:id/sso-invite", manage, requireRecentAuth(), readsNothing(), async (c) => {
  const found = await invitee(c);
  if (found.refused) return found.refused;
  const { person } = found;
  const auth = c.var.auth;
  const now = c.var.clock.now();
  const portal = portalOfKind(person.kind);
  const linkTo = (token: string) => `${new URL(c.req.url).origin}/${portal}/sso/invitation/${token}`;
  const { token, expiresAt, mailIds } = await createInvitation(c.env, getDb(c.env.DB), person.id, auth.user.id, now, {
    origin: auditOriginOf(c),
    build: async (made) => ({
      entries: [{ event: "sso.invited", portal, actorId: auth.user.id, targetId: person.id, details: { expiresAt: made.expiresAt } }],
      notices: [ssoInvitedNotice(person, portal, linkTo(made.token), made.expiresAt, auth.user)],
    }),
  });
  const link = linkTo(token);
  await sendAfterResponse(c, mailIds);
  c.header("Cache-Control", "no-store");
  return c.html(
    <AdminFrame auth={auth} title={`Invitation for ${person.name}`}>
      <p>
        Pass this link to {person.name}. It is shown only now; it works once, until {new Date(expiresAt).toUTCString()}.
      </p>
      <CopyableSecret id="invitation-link" label="Invitation link" noun="link" value={link} />
      <p class="hint">We also emailed it to {person.email}. The invitation is in the audit log.</p>
      <p>
        <a href={personPage(person)}>Back to {person.name}</a>
      </p>
    </AdminFrame>,
  );
});
