// "This wasn't me", from a new-device alert. The link opens a page that changes nothing (mail
// scanners follow links); its one button ends all the person's sessions, forgets their remembered
// devices and that browser, cancels the current password, removes every sign-in factor added since
// that sign-in (SECURITY.md 38) and emails a link to choose a new one (a new password at next
// sign-in would let whoever holds the old one set it first). Audited, and in the person's security
// activity.
import { type Context, Hono } from "hono";
import type { AppEnv } from "../app-env";
import { describeDevice } from "../lib/device";
import { auditOriginOf } from "../request/audit";
import { sendAfterResponse } from "../request/mail";
import { getDb } from "../db";
import { randomToken } from "../lib/crypto";
import { readsNothing } from "../request/validation";
import { type Portal, portalLabel } from "../portal/policy";
import { Card, ErrorMessage, Layout } from "../web/layout";
import { claimNotMeLink, openNotMeLink, releaseNotMeLink } from "./new-device";
import { hashPassword, scryptParamsFor } from "../auth/password";
import { queuePasswordResetLink, RESET_LIFETIME_MS } from "../auth/password-reset";
import { MINUTE, utcMinute } from "../lib/clock";
import { endAllSessionsOfUser } from "../auth/sessions";
import { requestDetails } from "../request/session-cookie";
import { userStub } from "../auth/user-object";
import { factorsCutoff, removeFactorsSince, type SecuredReport } from "../auth/secure-account";
import { accountLimiter } from "../limits/limits";
import { normalizeEmail } from "../auth/users";
import { portalPolicy } from "../request/portal";

type Ctx = Context<AppEnv>;
const GONE =
  "This link has expired or was already used. If you still think someone else signed in, choose a new password with “Forgot password?” on the sign-in page.";

function Gone({ portal }: { portal: Portal }) {
  return (
    <Layout title="Link expired" portal={portal}>
      <Card title="This link no longer works">
        <ErrorMessage message={GONE} />
        <p>
          <a href={`/${portal}/login/forgot`}>Forgot password?</a>
        </p>
      </Card>
    </Layout>
  );
}

/** The "This wasn't me" pages of one portal, mounted at /agent or /support. */
export function notMeRoutes(portal: Portal) {
  const app = new Hono<AppEnv>();
  const gone = (c: Ctx) => c.html(<Gone portal={portal} />, 404);

  app.get("/login/not-me/:token", async (c) => {
    const open = await openNotMeLink(getDb(c.env.DB), portal, c.req.param("token"), c.var.clock.now());
    if (!open) return gone(c);
    return c.html(
      <Layout title="Was this you?" portal={portal}>
        <Card title="Was this you?">
          <p>Your account on the EdgeDesk {portalLabel(portal).toLowerCase()} was signed in to from a browser it had not seen before:</p>
          <dl class="facts" data-testid="sign-in-facts">
            <dt>When</dt>
            <dd>{utcMinute(open.signedInAt)}</dd>
            <dt>Browser</dt>
            <dd>{describeDevice(open.userAgent)}</dd>
            <dt>From</dt>
            <dd>{open.ip}</dd>
          </dl>
          <p>
            If it was not you, secure your account: we sign you out everywhere, cancel your password and email {open.user.email} a link to
            choose a new one.
          </p>
          <form method="post" action={c.req.path} class="actions">
            <button type="submit" class="danger">
              This wasn't me: secure my account
            </button>
            <a href={`/${portal}/login`}>It was me</a>
          </form>
        </Card>
      </Layout>,
    );
  });

  app.post("/login/not-me/:token", readsNothing(), async (c) => {
    const db = getDb(c.env.DB);
    const now = c.var.clock.now();
    const open = await openNotMeLink(db, portal, c.req.param("token"), now);
    if (!open || !(await claimNotMeLink(db, open.tokenHash, now))) return gone(c);
    const { user } = open;
    let sessionsEnded: number;
    let report: SecuredReport;
    try {
      const seen = requestDetails(c);
      const details = { device: describeDevice(open.userAgent), ip: open.ip };
      // The password becomes one of 160 random bits nobody knows, so the old one stops working
      // while "Forgot password?" (and the link below) still can set a new one.
      const cancelled = user.passwordHash ? await hashPassword(randomToken(), scryptParamsFor(c.env)) : null;
      // Sessions end first: a factor the intruder's open session adds while this runs would
      // otherwise land after the removal and survive it.
      sessionsEnded = await endAllSessionsOfUser(c.env, user.id);
      const stub = userStub(c.env, user.id);
      await stub.forgetAllDevices();
      await stub.forgetKnownDevice(open.deviceHash);
      // No browser is known to the account's limits any more: the intruder may have made one known.
      await accountLimiter(c.env, portal, normalizeEmail(user.email)).forgetBrowsers();
      report = await removeFactorsSince(db, user, factorsCutoff(open.signedInAt), now, cancelled, {
        portal,
        ip: seen.ip,
        userAgent: seen.userAgent || null,
        details,
      });
    } catch (error) {
      await releaseNotMeLink(db, open.tokenHash, now);
      throw error;
    }
    // "We emailed … a link" only once the link and its mail are stored (src/mail/outbox.ts).
    const queued = user.passwordHash
      ? await queuePasswordResetLink(c.env, db, portal, user.email, new URL(c.req.url).origin, {
          origin: auditOriginOf(c),
          by: "not_me",
        }).catch(() => null)
      : null;
    const sent = queued?.outcome === "sent";
    if (queued) await sendAfterResponse(c, queued.mailIds);
    const setUpAgain = report.removed.some((f) => f.kind === "app") && (await portalPolicy(c, portal)).mfa.authenticatorApp;
    return c.html(
      <Layout title="Account secured" portal={portal}>
        <Card title="Your account is secured">
          <div role="status" data-testid="secured">
            <p>
              We signed you out everywhere ({sessionsEnded === 1 ? "1 session" : `${sessionsEnded} sessions`}) and forgot your remembered
              devices.
            </p>
            {user.passwordHash &&
              (sent ? (
                <p>
                  Your password no longer works. We emailed {user.email} a link to choose a new one; it works once, for{" "}
                  {RESET_LIFETIME_MS / MINUTE} minutes.
                </p>
              ) : (
                <p>
                  Your password no longer works. We could not email you a link just now: choose a new password with “Forgot password?” on
                  the sign-in page.
                </p>
              ))}
            <p>If you use the same password anywhere else, change it there too.</p>
          </div>
          <h2>Removed: added since that sign-in</h2>
          {report.removed.length ? (
            <ul data-testid="removed-factors">
              {report.removed.map((f) => (
                <li>
                  {f.label}, added {utcMinute(f.addedAt)}
                </li>
              ))}
            </ul>
          ) : (
            <p data-testid="removed-factors">Nothing was added to your account since that sign-in.</p>
          )}
          {report.removed.length > 0 && (
            <p>
              {setUpAgain ? "You will set up your authenticator app again the next time you sign in. " : ""}
              If you added any of these yourself, add them again from My account after you sign in.
            </p>
          )}
          <h2>Still on your account</h2>
          {report.kept.length ? (
            <>
              <ul data-testid="kept-factors">
                {report.kept.map((f) => (
                  <li>
                    {f.label}, added {utcMinute(f.addedAt)}
                  </li>
                ))}
              </ul>
              <p>
                These were there before that sign-in. If you do not recognise one, remove it on My account once you have chosen a new
                password.
              </p>
            </>
          ) : (
            <p data-testid="kept-factors">No passkeys, authenticator app or recovery codes.</p>
          )}
          <p>
            <a href={`/${portal}/login/forgot`}>Forgot password?</a>
          </p>
        </Card>
      </Layout>,
    );
  });

  return app;
}
