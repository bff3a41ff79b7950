import { type Context, Hono } from "hono";
import { z } from "zod";
import type { AppEnv } from "../app-env";
import { PasswordRulesList } from "../account/pages";
import { auditOriginOf } from "../request/audit";
import { auditInsert } from "../audit/events";
import { deliverQueued, queueNotices } from "../mail/outbox";
import { sendAfterResponse } from "../request/mail";
import { getDb } from "../db";
import { MINUTE } from "../lib/clock";
import { afterResponse } from "../request/background";
import { readsForm } from "../request/validation";
import { emailField, formRefusal, passwordField, type FieldErrors } from "../lib/fields";
import { accountLimiter, countAttempt, LIMITS, limitKeys, retryAfterSeconds, waitMessage } from "../limits/limits";
import { sourceOf } from "../limits/source";
import { attempterOf, attemptRight, countAttemptAt, tooManyAttempts } from "./attempts";
import { endPauses } from "../auth/pauses";
import { type Portal, portalLabel } from "../portal/policy";
import { Card, ErrorMessage, Field, FormProblems, Layout } from "../web/layout";
import { setPassword } from "../auth/password-change";
import { passwordRules, type PasswordRule } from "../auth/password-policy";
import {
  claimPasswordReset,
  answerResetRequest,
  openPasswordReset,
  passwordResetNotice,
  recordResetRequest,
  releasePasswordReset,
  RESET_LIFETIME_MS,
} from "../auth/password-reset";
import { continueAfterPassword } from "./password-routes";
import { signInWays } from "./ways";
import { endAllSessionsOfUser } from "../auth/sessions";
import { requestDetails } from "../request/session-cookie";
import { normalizeEmail } from "../auth/users";
import { portalPolicy } from "../request/portal";
import { SignInEmailField } from "./pages";

const forgotForm = z.object({ email: emailField() });
const resetForm = z
  .object({ password: passwordField("a new password"), confirm: passwordField("the new password again") })
  .refine((f) => f.password === f.confirm, { message: "The two new passwords do not match.", path: ["confirm"] });

const RESET_LINK_GONE = "This link has expired or was already used. Ask for a new one below.";
const SSO_ONLY = "This portal signs in with Microsoft only, so there is no password to reset here.";

type Ctx = Context<AppEnv>;

function ForgotPage(props: { portal: Portal; email?: string; error?: string; sentTo?: string }) {
  return (
    <Layout title="Forgot password" portal={props.portal}>
      <Card title="Forgot your password?">
        <ErrorMessage message={props.error} />
        {props.sentTo ? (
          <div role="status" data-testid="reset-sent">
            <p>
              If an account on the {portalLabel(props.portal).toLowerCase()} uses <strong>{props.sentTo}</strong>, we have emailed it a link
              to choose a new password. The link works once, for {RESET_LIFETIME_MS / MINUTE} minutes.
            </p>
            <p class="hint">Nothing arrived? Check the spelling and your spam folder, then ask again.</p>
          </div>
        ) : (
          <p>Enter the email address you sign in with. We will email you a link to choose a new password.</p>
        )}
        <form method="post" action={`/${props.portal}/login/forgot`} class="stack">
          <SignInEmailField email={props.email} autofocus={!props.sentTo} />
          <button type="submit" class={props.sentTo ? "" : "primary"}>
            {props.sentTo ? "Send again" : "Email me a link"}
          </button>
        </form>
        <p>
          <a href={`/${props.portal}/login`}>Back to sign in</a>
        </p>
      </Card>
    </Layout>
  );
}

function ResetPage(props: {
  portal: Portal;
  action: string;
  rules: PasswordRule[];
  email: string;
  error?: string | undefined;
  errors?: FieldErrors | undefined;
}) {
  const errors = props.errors ?? {};
  return (
    <Layout title="Choose a new password" portal={props.portal}>
      <Card title="Choose a new password">
        <p>
          For <strong>{props.email}</strong>. Afterwards you confirm it's you with your second factor, if your account uses one, and every
          other session is signed out.
        </p>
        <FormProblems error={props.error} errors={errors} fields={["password", "confirm"]} />
        <form method="post" action={props.action} class="stack">
          <Field label="New password" name="password" type="password" autocomplete="new-password" autofocus error={errors.password} />
          <Field label="Confirm new password" name="confirm" type="password" autocomplete="new-password" error={errors.confirm} />
          <PasswordRulesList rules={props.rules} />
          <button type="submit" class="primary">
            Set password and continue
          </button>
        </form>
      </Card>
    </Layout>
  );
}

/** "Forgot password?" of one portal, mounted at /agent or /support. */
export function passwordResetRoutes(portal: Portal) {
  const app = new Hono<AppEnv>();

  async function passwordAllowed(c: Ctx) {
    const policy = await portalPolicy(c, portal);
    return { policy, allowed: signInWays(c.env, policy).password };
  }
  const gone = (c: Ctx) => c.html(<ForgotPage portal={portal} error={RESET_LINK_GONE} />, 410);

  app.get("/login/forgot", async (c) => {
    if (!(await passwordAllowed(c)).allowed) return c.html(<ForgotPage portal={portal} error={SSO_ONLY} />, 403);
    return c.html(<ForgotPage portal={portal} />);
  });

  app.post("/login/forgot", readsForm(forgotForm), async (c) => {
    if (!(await passwordAllowed(c)).allowed) return c.html(<ForgotPage portal={portal} error={SSO_ONLY} />, 403);
    const form = c.req.valid("form");
    if (!form.ok) return c.html(<ForgotPage portal={portal} error={form.message} />, 400);
    const email = normalizeEmail(form.data.email);
    const now = c.var.clock.now();
    // Counted per email typed (known or not) and per source, so a 429 says nothing about accounts;
    // the source first, so a throttled source's made-up emails make no objects (SECURITY.md 44).
    const perSource = await countAttempt(
      c.env,
      limitKeys.passwordResetSource(sourceOf(requestDetails(c).ip)),
      LIMITS.passwordResetPerSource,
      now,
    );
    const perEmail = perSource.allowed
      ? await countAttempt(c.env, limitKeys.passwordResetEmail(portal, email), LIMITS.passwordResetPerEmail, now)
      : perSource;
    const blocked = [perSource, perEmail].find((r) => !r.allowed);
    if (blocked && !blocked.allowed) {
      c.header("Retry-After", String(retryAfterSeconds(blocked.retryAfterMs)));
      return c.html(
        <ForgotPage
          portal={portal}
          email={email}
          error={`Too many reset links were asked for. Try again in ${waitMessage(blocked.retryAfterMs)}.`}
        />,
        429,
      );
    }
    // SECURITY.md 22: whether an account exists decides only work done after the response.
    // SECURITY.md 22: stored the same way whoever is asked for; whether an account exists decides
    // only work done after the response (and, should that fail, by the minute's scheduled run).
    const db = getDb(c.env.DB);
    const requestId = await recordResetRequest(db, portal, email, new URL(c.req.url).origin, auditOriginOf(c));
    await afterResponse(c, "A password reset request", async () => {
      await deliverQueued(c.env, await answerResetRequest(c.env, db, requestId, now, "first"), c.var.clock);
    });
    return c.html(<ForgotPage portal={portal} sentTo={email} />);
  });

  app.get("/login/reset/:token", async (c) => {
    const { policy, allowed } = await passwordAllowed(c);
    if (!allowed) return c.html(<ForgotPage portal={portal} error={SSO_ONLY} />, 403);
    const reset = await openPasswordReset(getDb(c.env.DB), portal, c.req.param("token"), c.var.clock.now());
    if (!reset) return gone(c);
    return c.html(<ResetPage portal={portal} action={c.req.path} rules={passwordRules(policy.password)} email={reset.user.email} />);
  });

  app.post("/login/reset/:token", readsForm(resetForm), async (c) => {
    const { policy, allowed } = await passwordAllowed(c);
    if (!allowed) return c.html(<ForgotPage portal={portal} error={SSO_ONLY} />, 403);
    const db = getDb(c.env.DB);
    const now = c.var.clock.now();
    const reset = await openPasswordReset(db, portal, c.req.param("token"), now);
    if (!reset) return gone(c);
    const page = (refused: { error?: string | undefined; errors?: FieldErrors | undefined }) =>
      c.html(
        <ResetPage portal={portal} action={c.req.path} rules={passwordRules(policy.password)} email={reset.user.email} {...refused} />,
        400,
      );
    const form = c.req.valid("form");
    if (!form.ok) return page(formRefusal(form));
    // SECURITY.md 45: setting a password hashes it, so each try counts per source and per account
    // before that, the refused ones included (a link handed back after a refusal is not a free hash).
    const who = await attempterOf(c, portal, reset.user.email);
    const counted = await countAttemptAt(c, who, "reset", {
      perSource: true,
      ceiling: false,
      method: "reset",
      holder: async () => reset.user,
      targetId: reset.user.id,
    });
    if (!counted.allowed)
      return c.html(
        <ResetPage
          portal={portal}
          action={c.req.path}
          rules={passwordRules(policy.password)}
          email={reset.user.email}
          error={tooManyAttempts(counted.retryAfterMs)}
        />,
        429,
      );
    // Claimed before the password is written, so two uses of one link set at most one password.
    if (!(await claimPasswordReset(db, reset.tokenHash, now))) return gone(c);
    // The new password, its audit row and the notice to the person are stored together.
    const origin = auditOriginOf(c);
    const mail = await queueNotices(c.env, db, [passwordResetNotice(reset.user, portal, origin.ip ?? "an unknown address", now)], now);
    const audit = auditInsert(db, { event: "password_reset.completed", portal, actorId: reset.user.id }, origin);
    const set = await setPassword(c.env, db, reset.user, form.data.password, policy.password, now, [audit, ...mail.statements]);
    if (!set.ok) {
      await releasePasswordReset(db, reset.tokenHash, now);
      return page({ error: set.message });
    }
    await attemptRight(c, who, counted);
    // Whoever holds the mailbox is the person: strangers' pauses on new browsers end here (SECURITY.md 43).
    await accountLimiter(c.env, portal, normalizeEmail(reset.user.email)).lift();
    await endPauses(db, reset.user.id);
    await endAllSessionsOfUser(c.env, reset.user.id);
    await sendAfterResponse(c, mail.ids);
    // SECURITY.md 22: a reset never skips the second factor; it stands for the password only.
    return continueAfterPassword(c, portal, reset.user, policy, {
      next: `/${portal}`,
      method: "password_reset",
      rememberedDevice: async () => false,
      newBrowser: false,
    });
  });

  return app;
}
