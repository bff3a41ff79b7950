// Signing in again (/reauth): confirming it is you before a sensitive change, within 5 minutes.
import { type Context, Hono } from "hono";
import { z } from "zod";
import type { AppEnv } from "../app-env";
import { auditOriginOf } from "../request/audit";
import { owedAudit } from "../auth/owed-audits";
import { getDb } from "../db";
import { readsForm, readsNothing } from "../request/validation";
import { passwordField, safeNextPath } from "../lib/fields";
import { retryAfterSeconds } from "../limits/limits";
import type { Portal } from "../portal/policy";
import { Card, ErrorMessage, Field, Layout, Notice } from "../web/layout";
import { rotateSession } from "../request/session-cookie";
import { sendEmailOtp } from "../factors/email-otp";
import { findUserById } from "../auth/users";
import { requireSession } from "../request/require-session";
import { appProves, confirmFlowId, confirmIdentity } from "./reauth";
import { secondProofFor } from "./steps";
import { CODE_SENT, SecondProofFields } from "./reauth-pages";

type Ctx = Context<AppEnv>;

const reauthForm = z.object({
  current: passwordField("your password"),
  code: z.string().max(64).optional().default(""),
  next: z.string().max(2048).optional(),
});

function ReauthPage(props: {
  portal: Portal;
  next: string;
  proof: ReturnType<typeof secondProofFor>;
  issuer: string;
  hasPassword: boolean;
  error?: string;
  notice?: string;
}) {
  return (
    <Layout title="Confirm it's you" portal={props.portal}>
      <Card title="Confirm it's you">
        <p>This action needs you to confirm your identity again. It stays confirmed for 5 minutes.</p>
        <ErrorMessage message={props.error} />
        <Notice message={props.notice} />
        {props.hasPassword ? (
          <form method="post" action={`/${props.portal}/reauth`} class="stack">
            <input type="hidden" name="next" value={props.next} />
            <Field label="Password" name="current" type="password" autocomplete="current-password" autofocus />
            <SecondProofFields
              proof={props.proof}
              issuer={props.issuer}
              portal={props.portal}
              next={`/${props.portal}/reauth?next=${encodeURIComponent(props.next)}`}
            />
            <button type="submit" class="primary">
              Confirm
            </button>
          </form>
        ) : (
          <>
            <p>Microsoft will ask for your password again (signing in to Microsoft earlier does not count).</p>
            <a class="button sso" href={`/${props.portal}/sso/start?reauth=1&next=${encodeURIComponent(props.next)}`}>
              Confirm with Microsoft
            </a>
          </>
        )}
      </Card>
    </Layout>
  );
}

/** /{portal}/reauth: confirm identity again (password, plus the app's code when enrolled). */
export function reauthRoutes(portal: Portal) {
  const app = new Hono<AppEnv>();
  const home = `/${portal}`;
  async function page(c: Ctx, next: string, error?: string, status: 200 | 400 | 401 | 429 | 503 = 200, notice?: string) {
    const db = getDb(c.env.DB);
    const [user, hasApp] = await Promise.all([findUserById(db, c.var.auth.user.id), appProves(db, c.var.auth)]);
    return c.html(
      <ReauthPage
        portal={portal}
        next={next}
        proof={secondProofFor(hasApp, c.var.auth.policy, c.var.auth.session.passwordOnly)}
        issuer={c.var.auth.policy.mfa.issuerName}
        hasPassword={!!user?.passwordHash}
        error={error}
        notice={notice}
      />,
      status,
    );
  }
  app.get("/reauth", requireSession(portal), (c) =>
    page(c, safeNextPath(c.req.query("next"), home), undefined, 200, c.req.query("code_sent") === "1" ? CODE_SENT : undefined),
  );
  // A code mailed to confirm identity, for people whose second factor is email.
  app.post("/reauth/email", requireSession(portal), readsNothing(), async (c) => {
    const auth = c.var.auth;
    const back = safeNextPath(c.req.query("next"), home);
    if (!auth.policy.mfa.emailOtp && !auth.session.passwordOnly) return page(c, back, "This portal does not use email codes.", 400);
    const sent = await sendEmailOtp(c.env, auth.user, portal, confirmFlowId(auth), c.var.clock.now());
    if (!sent.ok) {
      if (sent.retryAfterMs) c.header("Retry-After", String(retryAfterSeconds(sent.retryAfterMs)));
      return page(c, back, sent.message, sent.status);
    }
    return c.redirect(`${back}${back.includes("?") ? "&" : "?"}code_sent=1`, 303);
  });
  app.post("/reauth", requireSession(portal), readsForm(reauthForm), async (c) => {
    const form = c.req.valid("form");
    if (!form.ok) return page(c, home, form.message, 400);
    const next = safeNextPath(form.data.next, home);
    const confirmed = await confirmIdentity(c, form.data);
    if (!confirmed.ok) return page(c, next, confirmed.message, confirmed.status);
    // ASVS 7.2.4: a new token after re-authentication too.
    const audit = owedAudit({ event: "reauthenticated", portal, actorId: c.var.auth.user.id }, auditOriginOf(c));
    await rotateSession(c, c.var.auth, { stage: "full", reauthenticated: true, proved: confirmed.proved }, [audit]);
    return c.redirect(next, 303);
  });
  return app;
}
