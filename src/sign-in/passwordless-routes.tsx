// Sign-ins without a password, where the portal lets passkeys sign in alone. "Sign in
// with a passkey", JSON in and out (the browser's WebAuthn call sits between the two requests);
// the attempt's challenge is tied to this browser by a short-lived cookie. A temporary
// access pass with the email alone. Attempts count against the same limits as passwords (per IP,
// and per account), before the passkey's signature or the pass is checked.
import { type Context, Hono } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import { z } from "zod";
import type { AuthenticationResponseJSON } from "@simplewebauthn/server";
import type { AppEnv } from "../app-env";
import { auditOriginOf, recordAudit } from "../request/audit";
import { owedAudit } from "../auth/owed-audits";
import { afterResponse } from "../request/background";
import { getDb } from "../db";
import { readsForm, readsJson, readsNothing } from "../request/validation";
import { emailField, safeNextPath } from "../lib/fields";
import { retryAfterSeconds } from "../limits/limits";
import { countForAccount, countFromSource, settle } from "../limits/sign-in-guard";
import { attempterOf, attemptRight, countAttemptAt, refused, tooManyAttempts } from "./attempts";
import {
  ATTEMPT_LIFETIME_MS,
  findPasskeyHolder,
  finishPasskeySignIn,
  passkeyOwner,
  passwordlessRp,
  startPasskeySignIn,
} from "./passwordless";
import { portalPolicy } from "../request/portal";
import { kindOfPortal, type Portal } from "../portal/policy";
import { PASS_REFUSED, signInWithAccessPass } from "./access-pass";
import { Card, ErrorMessage, Field, Layout } from "../web/layout";
import { nextStage } from "./steps";
import { findUserByEmail, normalizeEmail } from "../auth/users";
import { signInSucceeded } from "./new-device";
import { requestDetails, startSession } from "../request/session-cookie";
import { carriesVouches } from "../request/browser-cookie";
import { sourceOf } from "../limits/source";
import { SignInEmailField } from "./pages";

// What navigator.credentials.get() sends back: checked in depth by @simplewebauthn/server.
const assertionForm = z.object({
  response: z.looseObject({ id: z.string().max(1024), type: z.literal("public-key") }),
  next: z.string().max(2048).optional(),
});
const OFF = "Passkeys do not sign in on their own here. Sign in with your email and password.";
// Nobody's id matches no pass: trying a pass for nobody does the work trying one for a person does.
const NOBODY = { id: "nobody", email: "", name: "" };
const passForm = z.object({
  email: emailField(),
  code: z.string().max(64, "That is longer than any temporary access pass.").optional().default(""),
});

type Ctx = Context<AppEnv>;

/** The sign-ins without a password of one portal, mounted at /agent or /support. */
export function passwordlessRoutes(portal: Portal) {
  const app = new Hono<AppEnv>();
  // `__Host-` like the session cookie: the attempt's token, for as long as its challenge lives.
  const cookie = `edgedesk_${portal}_passkey`;

  async function allowedRp(c: Ctx) {
    const policy = await portalPolicy(c, portal);
    return passwordlessRp(c.env, policy);
  }

  app.post("/login/passkey/options", readsNothing(), async (c) => {
    const rp = await allowedRp(c);
    if (!rp) return c.json({ error: OFF }, 403);
    const { token, options } = await startPasskeySignIn(c.env, rp, portal, c.var.clock.now());
    setCookie(c, cookie, token, { prefix: "host", httpOnly: true, sameSite: "Strict", maxAge: ATTEMPT_LIFETIME_MS / 1000 });
    return c.json(options);
  });

  app.post("/login/passkey", readsJson(assertionForm), async (c) => {
    const rp = await allowedRp(c);
    if (!rp) return c.json({ error: OFF }, 403);
    const form = c.req.valid("json");
    if (!form.ok) return c.json({ error: "The passkey's answer could not be read. Try again." }, form.status ?? 400);
    const now = c.var.clock.now();
    const db = getDb(c.env.DB);
    const response = form.data.response as unknown as AuthenticationResponseJSON;
    // Counted per source first, then per account once the passkey names one. A browser known to
    // that account is not stopped by its source's limits (SECURITY.md 43), so a refused source's
    // passkey is looked up only for a browser that carries our word for some account here.
    const bySource = await countFromSource(c.env, { portal, source: sourceOf(requestDetails(c).ip) }, now);
    const owner = bySource.result.allowed || carriesVouches(c, portal) ? await passkeyOwner(db, portal, response) : null;
    const who = await attempterOf(c, portal, owner?.user.email ?? "");
    if (!bySource.result.allowed && !(owner && who.vouched)) {
      c.header("Retry-After", String(retryAfterSeconds(bySource.result.retryAfterMs)));
      if (bySource.result.firstRefusal)
        await recordAudit(c, { event: "sign_in.throttled", portal, details: { method: "passkey", by: "source" } });
      return c.json({ error: tooManyAttempts(bySource.result.retryAfterMs) }, 429);
    }
    const token = getCookie(c, cookie, "host");
    deleteCookie(c, cookie, { prefix: "host", secure: true, path: "/" });
    const holder = await findPasskeyHolder(c.env, db, portal, token, owner, now);
    // A passkey nobody here registered is a stranger's: counted against its source, no row of its own.
    if (!holder.ok) return c.json({ error: holder.message }, 401);
    const { user } = holder;
    const failed = (reason: "invalid" | "disabled") =>
      recordAudit(c, { event: "sign_in.failed", portal, targetId: user.id, details: { email: user.email, method: "passkey", reason } });
    const counted = await settle(c.env, who, bySource, await countForAccount(c.env, who, "password", now));
    if (!counted.allowed) {
      await refused(c, who, "password", counted, async () => (user.active ? user : null), { method: "passkey", targetId: user.id });
      return c.json({ error: tooManyAttempts(counted.retryAfterMs) }, 429);
    }
    const checked = await finishPasskeySignIn(db, rp, holder, response, now);
    if (!checked.ok) {
      await failed("invalid");
      return c.json({ error: checked.message }, 401);
    }
    // Only someone holding the passkey learns that the account is disabled.
    if (!user.active) {
      await failed("disabled");
      return c.json({ error: "This account is disabled. Ask your administrator to enable it." }, 403);
    }
    await attemptRight(c, who, counted);
    // Possession and the person's verification: both factors, so the portal opens at once.
    await signInSucceeded(c, portal, user, { method: "passkey" }, { passwordOnly: false, audited: true });
    const audit = owedAudit({ event: "sign_in.succeeded", portal, actorId: user.id, details: { method: "passkey" } }, auditOriginOf(c));
    await startSession(c, portal, user.id, { stage: "full", method: "passkey", audits: [audit] });
    return c.json({ redirect: safeNextPath(form.data.next, `/${portal}`) });
  });

  // A temporary access pass alone. It counts as both factors once; then, as after the
  // password, the person sets up the app (or is sent to My account's passkeys).
  const passPage = (c: Ctx, props: { email?: string; error?: string }, status: 200 | 400 | 401 | 403 | 429 = 200) =>
    c.html(<AccessPassSignInPage portal={portal} {...props} />, status);

  app.get("/login/pass", async (c) => {
    if (!(await allowedRp(c))) return c.redirect(`/${portal}/login`, 303);
    return passPage(c, {});
  });

  app.post("/login/pass", readsForm(passForm), async (c) => {
    const policy = await portalPolicy(c, portal);
    if (!passwordlessRp(c.env, policy)) return passPage(c, { error: "A temporary access pass works here only after your password." }, 403);
    const form = c.req.valid("form");
    if (!form.ok)
      return passPage(c, { error: form.message, email: typeof form.values.email === "string" ? form.values.email : undefined }, 400);
    const { email, code } = form.data;
    const now = c.var.clock.now();
    const db = getDb(c.env.DB);
    const who = await attempterOf(c, portal, email);
    const counted = await countAttemptAt(c, who, "password", {
      perSource: true,
      method: "pass",
      holder: async () => {
        const holder = await findUserByEmail(db, kindOfPortal(portal), email);
        return holder?.active ? holder : null;
      },
    });
    if (!counted.allowed) return passPage(c, { email, error: tooManyAttempts(counted.retryAfterMs) }, 429);
    const found = await findUserByEmail(db, kindOfPortal(portal), email);
    const user = found?.active ? found : null;
    // An unknown email, a disabled account and a wrong pass read the same, and cost the same
    // (SECURITY.md 22): the pass is tried in every case, for nobody when there is no one to sign in.
    const signedIn = await signInWithAccessPass(c, portal, policy, user ?? NOBODY, code);
    if (!user || !signedIn) {
      // Kept for an account that exists only, after the response (SECURITY.md 44, 22).
      if (found)
        await afterResponse(c, "The failed sign-in's audit entry", () =>
          recordAudit(c, {
            event: "sign_in.failed",
            portal,
            targetId: found.id,
            details: { email: normalizeEmail(email), method: "pass" },
          }),
        );
      return passPage(c, { email, error: PASS_REFUSED }, 401);
    }
    await attemptRight(c, who, counted);
    const after = await nextStage(db, portal, user.id, policy, now, { passed: "second_factor", method: "pass" });
    // Finished now, or when the new app is set up (that step records the sign-in).
    const finished = after.stage === "full";
    if (finished) await signInSucceeded(c, portal, user, { method: "pass" }, { passwordOnly: false, audited: true });
    const audits = finished
      ? [owedAudit({ event: "sign_in.succeeded", portal, actorId: user.id, details: { method: "pass" } }, auditOriginOf(c))]
      : [];
    await startSession(c, portal, user.id, { stage: after.stage, method: "pass", policy, audits });
    return c.redirect(after.location, 303);
  });

  return app;
}

function AccessPassSignInPage(props: { portal: Portal; email?: string | undefined; error?: string | undefined }) {
  return (
    <Layout title="Use a temporary access pass" portal={props.portal}>
      <Card title="Sign in with a temporary access pass">
        <p>
          An administrator gave you a one-time pass because you could not sign in. It works once; then you set up your authenticator app or
          a passkey again.
        </p>
        <ErrorMessage message={props.error} />
        <form method="post" action={`/${props.portal}/login/pass`} class="stack">
          <SignInEmailField email={props.email} autofocus={!props.email} />
          <Field label="Temporary access pass" name="code" autocomplete="off" inputmode="text" maxlength={24} autofocus={!!props.email} />
          <button type="submit" class="primary">
            Sign in
          </button>
        </form>
        <p>
          <a href={`/${props.portal}/login`}>Back to sign in</a>
        </p>
      </Card>
    </Layout>
  );
}
