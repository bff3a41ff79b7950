import { type Context, Hono } from "hono";
import { z } from "zod";
import type { AppEnv } from "../app-env";
import { auditOriginOf, recordAudit } from "../request/audit";
import { auditAfterOneChange } from "../audit/events";
import { owedAudit, storeOwedAudits } from "../auth/owed-audits";
import { requireSession } from "../request/require-session";
import { setPassword } from "../auth/password-change";
import { passwordRules } from "../auth/password-policy";
import { endAllSessionsOfUser } from "../auth/sessions";
import { rotateSession } from "../request/session-cookie";
import { userStub } from "../auth/user-object";
import { findUserById } from "../auth/users";
import { getDb } from "../db";
import { readsForm, readsJson, readsNothing } from "../request/validation";
import { type FieldErrors, formRefusal, passwordField, requiredText } from "../lib/fields";
import { finishRegistration, listPasskeys, registrationOptions, relyingParty, removePasskey } from "../factors/passkeys";
import { signInWays } from "../sign-in/ways";
import type { RegistrationResponseJSON } from "@simplewebauthn/server";
import { countAttempt, LIMITS, limitKeys, retryAfterSeconds, waitMessage } from "../limits/limits";
import { hasConfirmedAuthenticator } from "../factors/totp";
import type { Portal } from "../portal/policy";
import { AccountPage, NewRecoveryCodesPage } from "./account-pages";
import { changedOwnPassword, matching, newPasswordFields } from "./own-password";
import { finishPasswordChange } from "../request/session-cookie";
import { personalSecurityLog } from "./security-log";
import { personalData } from "./export";
import { countUnusedRecoveryCodes, generateRecoveryCodes, listRecoveryCodes, recoveryCodesFile } from "../factors/recovery-codes";

import {
  appProves,
  confirmIdentity,
  MAILED_CODE_FIRST,
  REAUTH_WINDOW_MS,
  recentlyReauthenticated,
  requireMoreThanPassword,
  requireRecentAuth,
} from "../sign-in/reauth";
import { CODE_SENT } from "../sign-in/reauth-pages";
import { ownValue } from "../lib/lookup";

// What the browser sends back from navigator.credentials.create(): checked in depth by @simplewebauthn/server.
const newPasskeyForm = z.object({
  name: requiredText("a name for the passkey", 60),
  response: z.looseObject(
    { id: z.string().max(1024), type: z.literal("public-key") },
    { error: "The passkey's answer could not be read." },
  ),
});

const changeForm = z
  .object({ current: passwordField("your current password"), code: z.string().max(64).optional().default(""), ...newPasswordFields })
  .refine((f) => f.password === f.confirm, matching);
const identityForm = z.object({ current: passwordField("your current password"), code: z.string().max(64).optional().default("") });

type Ctx = Context<AppEnv>;

/** My account (password, sessions, recovery codes, passkeys, remembered devices), for one portal. */
export function accountRoutes(portal: Portal) {
  const app = new Hono<AppEnv>();
  const signedIn = requireSession(portal);

  async function render(
    c: Ctx,
    extra: { error?: string; notice?: string; passwordErrors?: FieldErrors } = {},
    status: 200 | 400 | 401 | 429 = 200,
  ) {
    const auth = c.var.auth;
    const db = getDb(c.env.DB);
    const [user, sessions, devices, hasApp, appConfirms, unusedRecoveryCodes, securityLog, myPasskeys] = await Promise.all([
      findUserById(db, auth.user.id),
      userStub(c.env, auth.user.id).listSessions({
        generation: auth.policy.generation,
        policy: auth.policy.session,
        now: c.var.clock.now(),
      }),
      userStub(c.env, auth.user.id).listDevices(auth.policy.generation, c.var.clock.now()),
      hasConfirmedAuthenticator(db, auth.user.id),
      appProves(db, auth),
      countUnusedRecoveryCodes(db, auth.user.id),
      personalSecurityLog(db, auth.user.id),
      listPasskeys(db, auth.user.id),
    ]);
    return c.html(
      <AccountPage
        auth={auth}
        hasPassword={!!user?.passwordHash}
        hasApp={hasApp}
        appProves={appConfirms}
        unusedRecoveryCodes={unusedRecoveryCodes}
        rules={passwordRules(auth.policy.password)}
        sessions={sessions}
        devices={devices}
        passkeys={myPasskeys.map((p) => ({
          id: p.id,
          name: p.name,
          createdAt: p.createdAt,
          lastUsedAt: p.lastUsedAt,
          discoverable: p.discoverable,
        }))}
        canAddPasskey={auth.policy.mfa.passkeys && relyingParty(c.env) !== null}
        passwordless={signInWays(c.env, auth.policy).passkey}
        recentlyConfirmed={recentlyReauthenticated(c) && !auth.session.passwordOnly}
        securityLog={securityLog}
        now={c.var.clock.now()}
        {...extra}
      />,
      status,
    );
  }

  app.get("/account", signedIn, (c) => {
    const notices: Record<string, string> = {
      password: "Your password was changed. Your other sessions were signed out.",
      others: "Your other sessions were signed out.",
      one: "That session was signed out.",
      device: "That device will be asked for a code again.",
      passkey_added: "Passkey added.",
      passkey_removed: "Passkey removed.",
      last_passkey_removed: "Passkey removed. It was your last one: you now sign in with your email, password and second step.",
      low_codes: "You signed in with a recovery code and have 3 or fewer left. Generate new ones below so you are not locked out.",
      access_pass:
        "You signed in with a temporary access pass, which works only once. Add a passkey now, so you can sign in next time without your administrator.",
    };
    return render(c, { notice: c.req.query("code_sent") === "1" ? CODE_SENT : ownValue(notices, c.req.query("done")) });
  });

  // SECURITY.md 18: the current password, and the app's code when the user has one.
  app.post("/account/password", signedIn, readsForm(changeForm), async (c) => {
    const auth = c.var.auth;
    const db = getDb(c.env.DB);
    const form = c.req.valid("form");
    if (!form.ok) {
      const refusal = formRefusal(form);
      return render(
        c,
        refusal.errors
          ? {
              passwordErrors: refusal.errors,
              error:
                Object.keys(refusal.errors).length > 1
                  ? `${Object.keys(refusal.errors).length} fields of the password form need attention: see the messages beside them.`
                  : "A field of the password form needs attention: see the message beside it.",
            }
          : { error: form.message },
        400,
      );
    }
    const now = c.var.clock.now();
    const confirmed = await confirmIdentity(c, form.data);
    if (!confirmed.ok) return render(c, { error: confirmed.message }, confirmed.status);
    // A new password would lock the person out: a password-only session from a new browser proves more first (SECURITY.md 38).
    if (auth.session.passwordOnly && !confirmed.proved) return render(c, { error: MAILED_CODE_FIRST }, 401);
    const user = confirmed.user;

    const told = await changedOwnPassword(c.env, db, auth.portal, user, auditOriginOf(c));
    const changed = await setPassword(c.env, db, user, form.data.password, auth.policy.password, now, told.statements);
    if (!changed.ok) return render(c, { error: changed.message }, 400);
    await finishPasswordChange(c, auth, confirmed.proved, told.ids);
    return c.redirect(`/${portal}/account?done=password`, 303);
  });

  // A person's own data as JSON. A GET that writes only its audit event.
  app.get("/account/export", signedIn, async (c) => {
    const auth = c.var.auth;
    const now = c.var.clock.now();
    const data = await personalData(c.env, getDb(c.env.DB), auth, now);
    await recordAudit(c, { event: "account.exported", portal, actorId: auth.user.id });
    c.header("Content-Disposition", `attachment; filename="edgedesk-my-data-${new Date(now).toISOString().slice(0, 10)}.json"`);
    c.header("Cache-Control", "no-store");
    return c.body(JSON.stringify(data, null, 2), 200, { "Content-Type": "application/json; charset=utf-8" });
  });

  app.post("/account/sessions/others/revoke", signedIn, readsNothing(), async (c) => {
    const auth = c.var.auth;
    // The entry is recorded by the person's object with the change, with the number it ended.
    await endAllSessionsOfUser(c.env, auth.user.id, auth.session.id, [
      owedAudit({ event: "sessions.revoked", portal, actorId: auth.user.id, details: { scope: "others" } }, auditOriginOf(c)),
    ]);
    return c.redirect(`/${portal}/account?done=others`, 303);
  });

  // Passkeys are added and removed only within 5 minutes of confirming it's you.
  app.post("/account/passkeys/options", signedIn, requireRecentAuth(), requireMoreThanPassword(), readsNothing(), async (c) => {
    const auth = c.var.auth;
    const rp = relyingParty(c.env);
    if (!auth.policy.mfa.passkeys || !rp) return c.json({ error: "Passkeys are not used for this portal." }, 400);
    const discoverable = signInWays(c.env, auth.policy).passkey;
    return c.json(await registrationOptions(c.env, getDb(c.env.DB), rp, auth.user, c.var.clock.now(), { discoverable }));
  });
  app.post("/account/passkeys", signedIn, requireRecentAuth(), requireMoreThanPassword(), readsJson(newPasskeyForm), async (c) => {
    const auth = c.var.auth;
    const rp = relyingParty(c.env);
    if (!auth.policy.mfa.passkeys || !rp) return c.json({ error: "Passkeys are not used for this portal." }, 400);
    const form = c.req.valid("json");
    if (!form.ok) return c.json({ error: form.message }, form.status ?? 400);
    const added = await finishRegistration(
      c.env,
      getDb(c.env.DB),
      rp,
      auth.user.id,
      form.data.name,
      form.data.response as unknown as RegistrationResponseJSON,
      c.var.clock.now(),
      { entry: { event: "passkey.added", portal, actorId: auth.user.id, details: { name: form.data.name } }, origin: auditOriginOf(c) },
    );
    if (!added.ok) return c.json({ error: added.message }, 400);
    return c.json({ ok: true });
  });
  app.post("/account/passkeys/:id/delete", signedIn, requireRecentAuth(), readsNothing(), async (c) => {
    const auth = c.var.auth;
    const id = c.req.param("id");
    const db = getDb(c.env.DB);
    const audit = auditAfterOneChange(db, { entry: { event: "passkey.removed", portal, actorId: auth.user.id }, origin: auditOriginOf(c) });
    if (id.length > 1024 || !(await removePasskey(db, auth.user.id, id, [audit])))
      return render(c, { error: "That passkey is not registered to your account." }, 400);
    // The last one gone where passkeys sign in alone: a warning, never a lock-out (password and second step remain).
    const last = signInWays(c.env, auth.policy).passkey && (await listPasskeys(getDb(c.env.DB), auth.user.id)).length === 0;
    return c.redirect(`/${portal}/account?done=${last ? "last_passkey_removed" : "passkey_removed"}`, 303);
  });

  // Forget one remembered device; only this user's own object is asked.
  app.post("/account/devices/:id/forget", signedIn, readsNothing(), async (c) => {
    const auth = c.var.auth;
    const id = c.req.param("id");
    const audit = owedAudit({ event: "devices.forgotten", portal, actorId: auth.user.id, details: { deviceId: id } }, auditOriginOf(c));
    if (!/^dev_[a-z2-7]{16}$/.test(id) || !(await userStub(c.env, auth.user.id).forgetDevice(id, [audit])))
      return render(c, { error: "That device is not remembered." }, 400);
    await storeOwedAudits(c.env, auth.user.id, [audit]);
    return c.redirect(`/${portal}/account?done=device`, 303);
  });

  app.post("/account/sessions/:id/revoke", signedIn, readsNothing(), async (c) => {
    const auth = c.var.auth;
    const id = c.req.param("id");
    if (!/^ses_[a-z2-7]{16}$/.test(id)) return render(c, { error: "That session does not exist." }, 400);
    // Only this user's own Durable Object is asked, so nobody can end someone else's session.
    const audit = owedAudit(
      { event: "sessions.revoked", portal, actorId: auth.user.id, details: { scope: "one", sessionId: id } },
      auditOriginOf(c),
    );
    const ended = await userStub(c.env, auth.user.id).revokeSession(id, [audit]);
    if (!ended) return render(c, { error: "That session had already ended." }, 400);
    await storeOwedAudits(c.env, auth.user.id, [audit]);
    if (id === auth.session.id) return c.redirect(`/${portal}/login?signed_out=1`, 303);
    return c.redirect(`/${portal}/account?done=one`, 303);
  });

  // Set up the authenticator app now, when the portal uses it and the user has none yet
  // (a policy applied "On next login" while they were signed in).
  app.post("/account/mfa/enroll", signedIn, readsForm(identityForm), async (c) => {
    const auth = c.var.auth;
    if (!auth.policy.mfa.authenticatorApp) return render(c, { error: "This portal does not use an authenticator app." }, 400);
    if (await hasConfirmedAuthenticator(getDb(c.env.DB), auth.user.id))
      return render(c, { error: "Your authenticator app is already set up." }, 400);
    const form = c.req.valid("form");
    if (!form.ok) return render(c, { error: form.message }, 400);
    const confirmed = await confirmIdentity(c, form.data);
    if (!confirmed.ok) return render(c, { error: confirmed.message }, confirmed.status);
    // Setting up an app adds a sign-in factor: a password-only session from a new browser proves more first (SECURITY.md 38).
    if (auth.session.passwordOnly && !confirmed.proved) return render(c, { error: MAILED_CODE_FIRST }, 401);
    await rotateSession(c, auth, { stage: "enroll", reauthenticated: true, proved: confirmed.proved });
    return c.redirect(`/${portal}/login/enroll`, 303);
  });

  // New recovery codes, at most once every two hours (the old set stops working at once).
  app.post("/account/recovery-codes", signedIn, readsForm(identityForm), async (c) => {
    const auth = c.var.auth;
    const db = getDb(c.env.DB);
    if (!(await hasConfirmedAuthenticator(db, auth.user.id)))
      return render(c, { error: "Recovery codes come with the authenticator app, which you have not set up." }, 400);
    const form = c.req.valid("form");
    if (!form.ok) return render(c, { error: form.message }, 400);
    const confirmed = await confirmIdentity(c, form.data);
    if (!confirmed.ok) return render(c, { error: confirmed.message }, confirmed.status);
    // New codes are a way in: a password-only session from a new browser proves more first (SECURITY.md 38).
    if (auth.session.passwordOnly && !confirmed.proved) return render(c, { error: MAILED_CODE_FIRST }, 401);
    const now = c.var.clock.now();
    // Counted only once the person is confirmed, so a typo does not use up the two hours.
    const allowed = await countAttempt(c.env, limitKeys.recoveryCodes(auth.user.id), LIMITS.recoveryCodesPerUser, now);
    if (!allowed.allowed) {
      c.header("Retry-After", String(retryAfterSeconds(allowed.retryAfterMs)));
      const at = new Date(now + allowed.retryAfterMs).toISOString().slice(11, 16);
      return render(
        c,
        {
          error: `You can generate new recovery codes once every two hours. Next possible at ${at} UTC (in ${waitMessage(allowed.retryAfterMs)}).`,
        },
        429,
      );
    }
    const codes = await generateRecoveryCodes(c.env, db, auth.user.id, now, {
      entry: { event: "recovery_codes.regenerated", portal, actorId: auth.user.id },
      origin: auditOriginOf(c),
    });
    await rotateSession(c, auth, { stage: "full", reauthenticated: true, proved: confirmed.proved });
    return c.html(<NewRecoveryCodesPage auth={auth} codes={codes} />);
  });

  // The download of codes just regenerated: only within 5 minutes of confirming one's identity.
  app.get("/account/recovery-codes.txt", signedIn, async (c) => {
    const auth = c.var.auth;
    if (c.var.clock.now() - auth.session.reauthenticatedAt > REAUTH_WINDOW_MS)
      return render(c, { error: "For your security, generate new codes to download them." }, 400);
    const codes = await listRecoveryCodes(c.env, getDb(c.env.DB), auth.user.id);
    return c.body(
      recoveryCodesFile(
        auth.user.email,
        codes.filter((r) => r.usedAt === null).map((r) => r.code),
      ),
      200,
      {
        "Content-Type": "text/plain; charset=utf-8",
        "Content-Disposition": 'attachment; filename="edgedesk-recovery-codes.txt"',
      },
    );
  });

  return app;
}
