// Issue 24.1: "Sign in with a passkey", no password. JSON in and out (the browser's WebAuthn call
// sits between the two requests). The attempt's challenge is tied to this browser by a short-lived
// cookie; attempts count against the same limits as passwords (per IP, and per account once the
// passkey names one), before the signature is checked.
import { type Context, Hono } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import { z } from "zod";
import type { AuthenticationResponseJSON } from "@simplewebauthn/server";
import type { AppEnv } from "../app-env";
import { recordAudit } from "../audit/audit";
import { getDb } from "../db";
import { parseJson, reads, safeNextPath } from "../lib/validation";
import { noticeThrottling } from "../limits/throttle-notice";
import { countAttempt, LIMITS, limitKeys, resetAttempts, retryAfterSeconds, waitMessage } from "../limits/limits";
import { ATTEMPT_LIFETIME_MS, findPasskeyHolder, finishPasskeySignIn, passwordlessRp, startPasskeySignIn } from "../mfa/passwordless";
import { portalPolicy } from "../portal/context";
import type { Portal } from "../portal/policy";
import { signInSucceeded } from "./new-device";
import { signInWays } from "./routes";
import { requestDetails, startSession } from "./sessions";

// What navigator.credentials.get() sends back: checked in depth by @simplewebauthn/server.
const assertionForm = z.object({ response: z.looseObject({ id: z.string().max(1024), type: z.literal("public-key") }), next: z.string().max(2048).optional() });
const OFF = "Passkeys do not sign in on their own here. Sign in with your email and password.";

type Ctx = Context<AppEnv>;

/** The passkey sign-in of one portal, mounted at /agent or /support. */
export function passkeySignInRoutes(portal: Portal) {
  const app = new Hono<AppEnv>();
  // `__Host-` like the session cookie: the attempt's token, for as long as its challenge lives.
  const cookie = `edgedesk_${portal}_passkey`;

  async function allowedRp(c: Ctx) {
    const policy = await portalPolicy(c, portal);
    return passwordlessRp(c.env, policy, signInWays(c.env, policy).password);
  }

  function tooMany(c: Ctx, retryAfterMs: number) {
    c.header("Retry-After", String(retryAfterSeconds(retryAfterMs)));
    return c.json({ error: `Too many sign-in attempts. For your security, try again in ${waitMessage(retryAfterMs)}.` }, 429);
  }

  app.post("/login/passkey/options", reads(), async (c) => {
    const rp = await allowedRp(c);
    if (!rp) return c.json({ error: OFF }, 403);
    const { token, options } = await startPasskeySignIn(getDb(c.env.DB), rp, portal, c.var.clock.now());
    setCookie(c, cookie, token, { prefix: "host", httpOnly: true, sameSite: "Strict", maxAge: ATTEMPT_LIFETIME_MS / 1000 });
    return c.json(options);
  });

  app.post("/login/passkey", reads(assertionForm), async (c) => {
    const rp = await allowedRp(c);
    if (!rp) return c.json({ error: OFF }, 403);
    const form = await parseJson(c, assertionForm);
    if (!form.ok) return c.json({ error: "The passkey's answer could not be read. Try again." }, form.status ?? 400);
    const now = c.var.clock.now();
    const perIp = await countAttempt(c.env, limitKeys.passwordIp(requestDetails(c).ip), LIMITS.passwordPerIp, now);
    if (!perIp.allowed) return tooMany(c, perIp.retryAfterMs);
    const db = getDb(c.env.DB);
    const response = form.data.response as unknown as AuthenticationResponseJSON;
    const token = getCookie(c, cookie, "host");
    deleteCookie(c, cookie, { prefix: "host", secure: true, path: "/" });
    const holder = await findPasskeyHolder(db, portal, token, response, now);
    if (!holder.ok) {
      await recordAudit(c, { event: "sign_in.failed", portal, details: { method: "passkey", reason: "unknown_passkey" } });
      return c.json({ error: holder.message }, 401);
    }
    const { user } = holder;
    const accountKey = limitKeys.passwordAccount(portal, user.email);
    const perAccount = await countAttempt(c.env, accountKey, LIMITS.passwordPerAccount, now);
    await noticeThrottling(c, perAccount, portal, "password", async () => (user.active ? user : null));
    if (!perAccount.allowed) {
      await recordAudit(c, { event: "sign_in.throttled", portal, targetId: user.id, details: { email: user.email, method: "passkey" } });
      return tooMany(c, perAccount.retryAfterMs);
    }
    const checked = await finishPasskeySignIn(db, rp, holder, response, now);
    if (!checked.ok) {
      await recordAudit(c, { event: "sign_in.failed", portal, targetId: user.id, details: { email: user.email, method: "passkey", reason: "invalid" } });
      return c.json({ error: checked.message }, 401);
    }
    // Only someone holding the passkey learns that the account is disabled.
    if (!user.active) {
      await recordAudit(c, { event: "sign_in.failed", portal, targetId: user.id, details: { email: user.email, method: "passkey", reason: "disabled" } });
      return c.json({ error: "This account is disabled. Ask your administrator to enable it." }, 403);
    }
    await resetAttempts(c.env, accountKey);
    // Possession and the person's verification: both factors, so the portal opens at once.
    await startSession(c, portal, user.id, { stage: "full", method: "passkey" });
    await signInSucceeded(c, portal, user, { method: "passkey" });
    return c.json({ redirect: safeNextPath(form.data.next, `/${portal}`) });
  });

  return app;
}
