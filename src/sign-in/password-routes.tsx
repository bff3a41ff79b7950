import { type Context, Hono } from "hono";
import { z } from "zod";
import type { AppEnv } from "../app-env";
import { auditOriginOf, recordAudit } from "../request/audit";
import { owedAudit } from "../auth/owed-audits";
import { getDb } from "../db";
import { readsForm, readsNothing } from "../request/validation";
import { emailField, passwordField, safeNextPath } from "../lib/fields";
import { sendEmailOtp } from "../factors/email-otp";
import { kindOfPortal, type Portal, type PortalPolicy } from "../portal/policy";
import { rememberedHere } from "./device-cookie";
import { SignInPage } from "./pages";
import { endCurrentSession, readSession, startSession } from "../request/session-cookie";
import { scryptParamsFor } from "../auth/password";
import { POLICY_APPLIED } from "../request/require-session";
import { checkPassword, nextStage } from "./steps";
import { findUserByEmail, normalizeEmail } from "../auth/users";
import { signInSucceeded } from "./new-device";
import { signInWays } from "./ways";
import { attempterOf, attemptRight, countAttemptAt, fromNewBrowser, tooManyAttempts } from "./attempts";
import { portalPolicy } from "../request/portal";
import { afterResponse } from "../request/background";

const signInForm = z.object({
  email: emailField(),
  password: passwordField(),
  next: z.string().max(2048).optional(),
});

export const INVALID_CREDENTIALS = "Invalid email or password";

/**
 * The password is proven (typed at sign-in, or just set with a reset link): start the session at
 * the stage nextStage says and go there, mailing the code first when the second step is an email code.
 */
export async function continueAfterPassword(
  c: Context<AppEnv>,
  portal: Portal,
  user: { id: string; email: string; name: string },
  policy: PortalPolicy,
  how: { next: string; method: "password" | "password_reset"; rememberedDevice: () => Promise<boolean>; newBrowser: boolean },
): Promise<Response> {
  const now = c.var.clock.now();
  const after = await nextStage(
    getDb(c.env.DB),
    portal,
    user.id,
    policy,
    now,
    { passed: "password", rememberedDevice: how.rememberedDevice },
    how.next,
  );
  // SECURITY.md 38: a password typed in a browser new to the account proves only the password (a
  // reset link proves the mailbox too); a second step, if one follows, proves more.
  const passwordOnly = how.method === "password" && !after.remembered && how.newBrowser;
  const flowId = await startSession(c, portal, user.id, { stage: after.stage, method: "password", policy, passwordOnly });
  if (after.secondStep === "none") {
    await signInSucceeded(
      c,
      portal,
      user,
      { method: how.method, ...(after.remembered ? { secondFactor: "remembered_device" } : {}) },
      { passwordOnly },
    );
  }
  if (after.secondStep === "email") {
    // The code goes out now; if the mail fails, the page says so and Resend OTP works at once.
    const sent = await sendEmailOtp(c.env, user, portal, flowId, now);
    // A code mailed moments ago (an earlier sign-in) is a wait, not a failure: the page says how long.
    const outcome = sent.ok
      ? "&sent=1"
      : sent.status === 429 && sent.retryAfterMs
        ? `&wait=${Math.ceil(sent.retryAfterMs / 1000)}`
        : "&unsent=1";
    return c.redirect(`${after.location}?method=email${outcome}`, 303);
  }
  return c.redirect(after.location, 303);
}

/** Sign-in and sign-out of one portal, mounted at /agent or /support. */
export function passwordRoutes(portal: Portal) {
  const app = new Hono<AppEnv>();
  const home = `/${portal}`;
  const ways = signInWays;

  app.get("/login", async (c) => {
    const next = safeNextPath(c.req.query("next"), home);
    const auth = await readSession(c, portal);
    if (auth?.session.stage === "full") return c.redirect(next, 303);
    const notice =
      c.req.query("signed_out") === "1" ? "You have signed out." : c.req.query("policy_applied") === "1" ? POLICY_APPLIED : undefined;
    const policy = await portalPolicy(c, portal);
    return c.html(<SignInPage portal={portal} {...ways(c.env, policy)} next={next === home ? undefined : next} notice={notice} />);
  });

  app.post("/login", readsForm(signInForm), async (c) => {
    const policy = await portalPolicy(c, portal);
    const allowed = ways(c.env, policy);
    // The access mode is enforced here too, not only by hiding the form.
    if (!allowed.password)
      return c.html(<SignInPage portal={portal} {...allowed} error="This portal signs in with Microsoft only." />, 403);
    const form = c.req.valid("form");
    if (!form.ok)
      return c.html(
        <SignInPage
          portal={portal}
          {...allowed}
          error={form.message}
          email={typeof form.values.email === "string" ? form.values.email : undefined}
        />,
        400,
      );
    const { email, password } = form.data;
    const next = safeNextPath(form.data.next, home);
    const keepNext = next === home ? undefined : next;

    const now = c.var.clock.now();
    const db = getDb(c.env.DB);

    // SECURITY.md 3, 37, 43: counted per source and per account as typed, known or not, before
    // the password is checked, so a 429 reveals nothing; a right password gives its count back.
    const who = await attempterOf(c, portal, email);
    const counted = await countAttemptAt(c, who, "password", {
      perSource: true,
      method: "password",
      holder: async () => {
        const holder = await findUserByEmail(db, kindOfPortal(portal), email);
        return holder?.active ? holder : null;
      },
    });
    if (!counted.allowed) {
      return c.html(
        <SignInPage portal={portal} {...allowed} email={email} next={keepNext} error={tooManyAttempts(counted.retryAfterMs)} />,
        429,
      );
    }

    const result = await checkPassword(db, scryptParamsFor(c.env), portal, email, password, now);
    if (!result.ok) {
      // SECURITY.md 44: a failure is kept for an account that exists (bounded by its own limits);
      // a made-up email's are the source's throttled row. After the response, so both take as long.
      const { accountId, reason } = result;
      if (accountId)
        await afterResponse(c, "The failed sign-in's audit entry", () =>
          recordAudit(c, {
            event: "sign_in.failed",
            portal,
            targetId: accountId,
            details: { email: normalizeEmail(email), method: "password", reason },
          }),
        );
      const error = result.reason === "disabled" ? "This account is disabled. Ask your administrator to enable it." : INVALID_CREDENTIALS;
      return c.html(
        <SignInPage portal={portal} {...allowed} email={email} next={keepNext} error={error} />,
        result.reason === "disabled" ? 403 : 401,
      );
    }
    await attemptRight(c, who, counted);

    return continueAfterPassword(c, portal, result.user, policy, {
      next,
      method: "password",
      rememberedDevice: () => rememberedHere(c, portal, result.user.id, policy),
      newBrowser: await fromNewBrowser(c.env, result.user.id, who, counted, now),
    });
  });

  app.post("/logout", readsNothing(), async (c) => {
    const auth = await readSession(c, portal);
    await endCurrentSession(c, portal, auth ? [owedAudit({ event: "sign_out", portal, actorId: auth.user.id }, auditOriginOf(c))] : []);
    return c.redirect(`/${portal}/login?signed_out=1`, 303);
  });

  return app;
}
