import type { Context, MiddlewareHandler } from "hono";
import type { AppEnv } from "../app-env";
import { getDb } from "../db";
import { MINUTE } from "../lib/clock";
import { safeNextPath } from "../lib/fields";
import { waitMessage } from "../limits/limits";
import { attempterOf, attemptRight, attemptUnjudged, countAttemptAt, trustThisBrowser } from "./attempts";
import { findAuthenticator, verifyAuthenticatorCode } from "../factors/totp";
import { Card, ErrorMessage, Layout } from "../web/layout";
import { verifyPassword } from "../auth/password";
import { userStub } from "../auth/user-object";
import { findUserById } from "../auth/users";
import { Unavailable } from "../lib/failures";
import { CODE_CHECK_UNAVAILABLE } from "../auth/user-do/email-otp-rules";
import { secondProofFor } from "./steps";

/** SECURITY.md 11, 17: sensitive admin actions need a re-authentication this recent. */
export const REAUTH_WINDOW_MS = 5 * MINUTE;

type Ctx = Context<AppEnv>;
/** `proved`: more than the password was shown (the app's code, or a mailed code). */
type Confirmed =
  | { ok: true; user: NonNullable<Awaited<ReturnType<typeof findUserById>>>; proved: boolean }
  | { ok: false; status: 400 | 401 | 429; message: string };

/** The email code that confirms identity belongs to this session's own flow, never a sign-in's. */
export const confirmFlowId = (auth: { session: { id: string } }) => `confirm:${auth.session.id}`;

/**
 * Whether the person's authenticator app proves it's them in this session: it does unless the
 * session signed in with just a password from a new browser and the app was set up since (by
 * whoever holds the password, as far as we know: SECURITY.md 38).
 */
export async function appProves(
  db: ReturnType<typeof getDb>,
  auth: { user: { id: string }; session: { passwordOnly: boolean; createdAt: number } },
): Promise<boolean> {
  const app = await findAuthenticator(db, auth.user.id);
  if (app?.confirmedAt == null) return false;
  return !auth.session.passwordOnly || app.confirmedAt < auth.session.createdAt;
}

/**
 * SECURITY.md 18: the current password, and a second proof: the authenticator code when the user
 * has one, else a code mailed for this confirmation when the portal uses email
 * codes; each throttled like sign-in. Used by My account and by re-authentication.
 */
export async function confirmIdentity(c: Ctx, form: { current: string; code: string }): Promise<Confirmed> {
  const auth = c.var.auth;
  const db = getDb(c.env.DB);
  const now = c.var.clock.now();
  const user = await findUserById(db, auth.user.id);
  if (!user?.passwordHash) return { ok: false, status: 400, message: "You sign in with Microsoft, so your password is managed there." };
  // Counted like sign-in's password and codes (per account, for this browser), before either is checked.
  const who = await attempterOf(c, auth.portal, user.email);
  const holder = async () => user;
  const attempt = await countAttemptAt(c, who, "password", { perSource: false, method: "reauth", holder, targetId: user.id });
  if (!attempt.allowed) return { ok: false, status: 429, message: `Too many attempts. Try again in ${waitMessage(attempt.retryAfterMs)}.` };
  if (!(await verifyPassword(user.passwordHash, form.current)))
    return { ok: false, status: 401, message: "Your current password is not right." };
  const proof = secondProofFor(await appProves(db, auth), auth.policy, auth.session.passwordOnly);
  if (proof === "app") {
    const second = await countAttemptAt(c, who, "second_step", { perSource: false, method: "reauth", holder, targetId: user.id });
    if (!second.allowed)
      return { ok: false, status: 429, message: `Too many wrong codes. Try again in ${waitMessage(second.retryAfterMs)}.` };
    if (!(await verifyAuthenticatorCode(c.env, db, user.id, form.code.trim(), now))) {
      return { ok: false, status: 401, message: `Enter the current code your authenticator app shows for ${auth.policy.mfa.issuerName}.` };
    }
    await attemptRight(c, who, second);
  }
  const mailed = proof === "email" || (proof === "email_optional" && form.code.trim() !== "");
  if (mailed) {
    if (!form.code.trim()) return { ok: false, status: 401, message: "Enter the code we emailed you: choose “Email me a code” first." };
    const checked = await userStub(c.env, user.id).verifyEmailOtp(user.id, confirmFlowId(auth), form.code.trim(), now);
    if (checked === "unavailable") {
      await attemptUnjudged(c, who, attempt);
      throw new Unavailable(CODE_CHECK_UNAVAILABLE);
    }
    if (checked !== "ok")
      return {
        ok: false,
        status: 401,
        message:
          checked === "wrong"
            ? "That code is not right. Check the newest email from EdgeDesk."
            : "That code has expired or was used up. Choose “Email me a code” for a new one.",
      };
  }
  await attemptRight(c, who, attempt);
  const proved = proof === "app" || mailed;
  // The person proved more than the password here: this browser is theirs to the account's limits.
  if (proved && auth.session.passwordOnly) await trustThisBrowser(c, auth.portal, user.email);
  return { ok: true, user, proved };
}

export function recentlyReauthenticated(c: Ctx): boolean {
  return c.var.clock.now() - c.var.auth.session.reauthenticatedAt < REAUTH_WINDOW_MS;
}

export const REAUTH_FIRST_MESSAGE = "Confirm it's you first: your re-authentication is more than 5 minutes old.";

/**
 * After requireSession: a page visit without a recent re-authentication goes to confirm first;
 * other requests get 401 (a page with the way to confirm and come back, or JSON for JSON).
 */
export function requireRecentAuth(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    if (recentlyReauthenticated(c)) return next();
    const portal = c.var.auth.portal;
    if (c.req.method === "GET") {
      const url = new URL(c.req.url);
      return c.redirect(`/${portal}/reauth?next=${encodeURIComponent(url.pathname + url.search)}`, 303);
    }
    if (/json/i.test(c.req.header("Content-Type") ?? "")) return c.json({ error: REAUTH_FIRST_MESSAGE }, 401);
    // Back to the page the form was on (a path of ours), once confirmed.
    const referer = c.req.header("Referer");
    const back = safeNextPath(
      referer && URL.canParse(referer) && new URL(referer).origin === new URL(c.req.url).origin
        ? new URL(referer).pathname + new URL(referer).search
        : undefined,
      `/${portal}`,
    );
    return c.html(
      <Layout title="Confirm it's you" portal={portal}>
        <Card title="Confirm it's you">
          <ErrorMessage message={REAUTH_FIRST_MESSAGE} />
          <p>Nothing was changed. Confirm it's you, then make the change again.</p>
          <a class="button primary" href={`/${portal}/reauth?next=${encodeURIComponent(back)}`}>
            Confirm it's you
          </a>
        </Card>
      </Layout>,
      401,
    );
  };
}

export const MAILED_CODE_FIRST = "Enter the code we emailed you too: choose “Email me a code” first.";
export const MORE_THAN_PASSWORD_MESSAGE =
  "You signed in with only your password, from a browser you had not used here before. Confirm it's you with a code we email you, then add it.";

/**
 * After requireRecentAuth, for adding a sign-in factor (SECURITY.md 38): a session whose sign-in
 * proved only a password from a browser new to the account must prove more first (its second
 * step, or a mailed code on the confirmation page). Otherwise a stolen password alone would be
 * enough to add a way back in that outlives a password reset.
 */
export function requireMoreThanPassword(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    if (!c.var.auth.session.passwordOnly) return next();
    return c.json({ error: MORE_THAN_PASSWORD_MESSAGE }, 401);
  };
}
