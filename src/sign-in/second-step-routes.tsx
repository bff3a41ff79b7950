import { type Context, Hono } from "hono";
import { z } from "zod";
import type { AppEnv } from "../app-env";
import { requireSession } from "../request/require-session";
import type { Auth } from "../access/auth";
import { endCurrentSession, rotateSession } from "../request/session-cookie";
import { userStub } from "../auth/user-object";
import { auditOriginOf, recordAudit } from "../request/audit";
import { owedAudit } from "../auth/owed-audits";
import { getDb } from "../db";
import { type Read, readsForm, readsJson, readsNothing } from "../request/validation";
import { countAttempt, LIMITS, limitKeys, retryAfterSeconds, waitMessage } from "../limits/limits";
import type { Attempter } from "../limits/sign-in-guard";
import { attempterOf, attemptRight, attemptUnjudged, countAttemptAt, type Counted } from "./attempts";
import { inGracePeriod, type Portal } from "../portal/policy";
import { rememberThisDevice } from "./device-cookie";
import { authenticationOptions, finishAuthentication, hasPasskey, relyingParty } from "../factors/passkeys";
import type { AuthenticationResponseJSON } from "@simplewebauthn/server";
import { nextStage, type PassedStep, secondStepFor, stageLocation } from "./steps";
import { markIssuedCodesShown, requestRecoveryCodes } from "../factors/recovery-requests";
import { EMAIL_NOT_SENT, sendEmailOtp } from "../factors/email-otp";
import {
  AccessPassPage,
  AppCodePage,
  EmailCodePage,
  EnrollPage,
  PasskeyPage,
  RecoveryCodePage,
  RecoveryCodesPage,
} from "./second-step-pages";
import { PASS_REFUSED, signInWithAccessPass } from "./access-pass";
import { signInSucceeded } from "./new-device";
import { generateRecoveryCodes, listRecoveryCodes, recoveryCodesFile, useRecoveryCode } from "../factors/recovery-codes";
import { confirmEnrollment, formatManualKey, keyUri, pendingEnrollmentKey, qrSvg, verifyAuthenticatorCode } from "../factors/totp";
import { Unavailable } from "../lib/failures";
import { CODE_CHECK_UNAVAILABLE } from "../auth/user-do/email-otp-rules";

// A missing code is parsed as "" and still counts as a failed attempt (SECURITY.md 2).
// What the browser sends back from navigator.credentials.get(): checked in depth by @simplewebauthn/server.
const assertionForm = z.object({
  response: z.looseObject({ id: z.string().max(1024), type: z.literal("public-key") }),
  remember: z.boolean().optional(),
});
const codeForm = z.object({ code: z.string().max(64).optional().default(""), remember: z.string().max(8).optional() });

type Ctx = Context<AppEnv>;
type Method = "app" | "email" | "recovery" | "pass";
/** A way to finish the second step: a typed code, or a passkey. */
type Step = Method | "passkey";

/**
 * Count one second-factor attempt against the account, across every sign-in flow and method
 * (SECURITY.md 2), before the code is looked at; a browser the person signed in with counts
 * apart from strangers' (SECURITY.md 43). Null when allowed; otherwise the 429 message.
 */
async function countSecondStep(
  c: Ctx,
  auth: Auth,
): Promise<{ ok: true; attempt: SecondStepAttempt } | { ok: false; message: string; retryAfterMs: number }> {
  const who = await attempterOf(c, auth.portal, auth.user.email);
  const counted = await countAttemptAt(c, who, "second_step", {
    perSource: false,
    method: "second_step",
    holder: async () => auth.user,
    targetId: auth.user.id,
  });
  if (counted.allowed) return { ok: true, attempt: { who, counted } };
  return {
    ok: false,
    message: `Too many wrong codes. For your security, try again in ${waitMessage(counted.retryAfterMs)}.`,
    retryAfterMs: counted.retryAfterMs,
  };
}

/** The attempt a request counted, which the step gives back once it passes. */
interface SecondStepAttempt {
  who: Attempter;
  counted: Counted & { allowed: true };
}

/**
 * The second factor is proven (or the app set up): the session gets a new token (ASVS 7.2.4) and
 * the stage nextStage says comes next. Returns where the browser goes, for a redirect or JSON.
 */
async function passSecondFactor(c: Ctx, auth: Auth, attempt: SecondStepAttempt, step: PassedStep): Promise<string> {
  await attemptRight(c, attempt.who, attempt.counted);
  // Setting up the app and using a recovery code are audited with their own change (src/factors);
  // the second factor passed, and the sign-in it finishes, with the session's move past this step.
  const origin = auditOriginOf(c);
  const who = { portal: auth.portal, actorId: auth.user.id };
  const finished = step.passed === "second_factor" ? { method: "password", secondFactor: step.method } : null;
  const audits = finished
    ? [
        owedAudit({ ...who, event: "mfa.verified", details: { method: finished.secondFactor } }, origin),
        owedAudit({ ...who, event: "sign_in.succeeded", details: finished }, origin),
      ]
    : [];
  // The browser is vouched for and its new-device check set going before the session moves on:
  // should that fail, the session stays at this step.
  if (finished) await signInSucceeded(c, auth.portal, auth.user, finished, { passwordOnly: false, audited: true });
  const after = await nextStage(getDb(c.env.DB), auth.portal, auth.user.id, auth.policy, c.var.clock.now(), step);
  // An app set up during this sign-in proves nothing about the person (whoever holds the password may have set it up).
  const proved = step.passed === "second_factor";
  if (!(await rotateSession(c, auth, { stage: after.stage, reauthenticated: true, proved }, audits))) return `/${auth.portal}/login`;
  return after.location;
}

function waitForCodeMessage(seconds: number): string {
  const when = seconds >= 120 ? `${Math.ceil(seconds / 60)} minutes` : `${seconds} seconds`;
  return `A code was emailed to you moments ago, for an earlier sign-in, so none was sent this time. You can send a new one in ${when}.`;
}

/** The MFA pages of one portal, mounted at /agent or /support. */
export function secondStepRoutes(portal: Portal) {
  const app = new Hono<AppEnv>();
  const pending = requireSession(portal, ["second_factor"]);

  async function renderStep(
    c: Ctx,
    method: Step,
    extra: { error?: string; notice?: string; status?: 200 | 400 | 401 | 429 | 503; resendAt?: number } = {},
  ) {
    const auth = c.var.auth;
    const mfa = auth.policy.mfa;
    const status = extra.status ?? 200;
    const passkey = mfa.passkeys && (await hasPasskey(getDb(c.env.DB), auth.user.id));
    if (method === "passkey" && passkey)
      return c.html(<PasskeyPage auth={auth} app={mfa.authenticatorApp} email={mfa.emailOtp} {...extra} />, status);
    if (method === "email") {
      const otp = await userStub(c.env, auth.user.id).emailOtpStatus(auth.session.id);
      return c.html(
        <EmailCodePage
          auth={auth}
          email={auth.user.email}
          now={c.var.clock.now()}
          app={mfa.authenticatorApp}
          passkey={passkey}
          error={extra.error}
          notice={extra.notice}
          resendAt={extra.resendAt ?? otp?.resendAt ?? null}
          nothingSent={extra.resendAt !== undefined}
        />,
        status,
      );
    }
    if (method === "recovery")
      return c.html(<RecoveryCodePage auth={auth} emailFallback={mfa.emailOtp} passkey={passkey} {...extra} />, status);
    if (method === "pass")
      return c.html(<AccessPassPage auth={auth} app={mfa.authenticatorApp} email={mfa.emailOtp} passkey={passkey} {...extra} />, status);
    return c.html(<AppCodePage auth={auth} emailFallback={mfa.emailOtp} passkey={passkey} {...extra} />, status);
  }

  /** Which method a request may use now, given the policy; null if it is not on. A pass an admin issued always may. */
  function allowed(auth: Auth, method: Step): boolean {
    const mfa = auth.policy.mfa;
    if (method === "pass") return true;
    return method === "email" ? mfa.emailOtp : method === "passkey" ? mfa.passkeys : mfa.authenticatorApp;
  }

  app.get("/login/verify", requireSession(portal, ["second_factor", "enroll", "recovery_codes", "change_password"]), async (c) => {
    const auth = c.var.auth;
    if (auth.session.stage !== "second_factor") return c.redirect(stageLocation(portal, auth.session.stage), 303);
    const step = await secondStepFor(getDb(c.env.DB), auth.policy.mfa, auth.user.id);
    // The policy changed under this sign-in ("On next login"): start it again under the new one.
    if (step === "none" || step === "enroll") {
      await endCurrentSession(c, portal);
      return c.redirect(`/${portal}/login`, 303);
    }
    const asked = c.req.query("method");
    const method: Step =
      asked === "email" || asked === "recovery" || asked === "app" || asked === "passkey" || asked === "pass" ? asked : step;
    const shown = allowed(auth, method) ? method : step;
    // The code could not be mailed at sign-in (the same words as a failed Resend OTP).
    if (shown === "email" && c.req.query("unsent") === "1") return renderStep(c, "email", { error: EMAIL_NOT_SENT });
    // A code went out moments ago for an earlier sign-in: say so, and when a new one can be sent.
    const wait = /^\d{1,4}$/.exec(c.req.query("wait") ?? "") ? Math.min(Number(c.req.query("wait")), 3600) : 0;
    if (shown === "email" && wait > 0)
      return renderStep(c, "email", { notice: waitForCodeMessage(wait), resendAt: c.var.clock.now() + wait * 1000 });
    return renderStep(c, shown);
  });

  // One path for every code a person types at the second step: the method must be on, the
  // attempt is counted against the account before the code is looked at, and a failure is audited.
  for (const method of ["app", "recovery", "email", "pass"] as const) {
    app.post(`/login/verify/${method}`, pending, readsForm(codeForm), async (c) => {
      const auth = c.var.auth;
      if (!allowed(auth, method)) return renderStep(c, method === "email" ? "app" : "email", { error: UNAVAILABLE[method], status: 400 });
      const { code, remember } = typedCode(c.req.valid("form"));
      const counted = await countSecondStep(c, auth);
      if (!counted.ok) return tooMany(c, renderStep(c, method, { error: counted.message, status: 429 }), counted.retryAfterMs);
      let error: string | null;
      try {
        error = await CHECK_CODE[method](c, auth, code);
      } catch (failure) {
        // The code could not be checked at all: the account's count of tries is given back too, as the answer says.
        if (failure instanceof Unavailable) await attemptUnjudged(c, counted.attempt.who, counted.attempt.counted);
        throw failure;
      }
      if (!error) {
        // A pass is for once: it never makes this device skip the second step later.
        if (remember && method !== "pass") await rememberThisDevice(c, auth);
        return c.redirect(await passSecondFactor(c, auth, counted.attempt, { passed: "second_factor", method }), 303);
      }
      await recordAudit(c, { event: "mfa.failed", portal, actorId: auth.user.id, details: { method } });
      return renderStep(c, method, { error, status: 401 });
    });
  }

  // The second step with a passkey. JSON in and out (the browser's WebAuthn call sits
  // between the two requests); the attempt counts against the same per-account limit as codes.
  app.post("/login/verify/passkey/options", pending, readsNothing(), async (c) => {
    const auth = c.var.auth;
    const rp = relyingParty(c.env);
    if (!auth.policy.mfa.passkeys || !rp) return c.json({ error: "Passkeys are not used for this portal." }, 400);
    return c.json(await authenticationOptions(c.env, getDb(c.env.DB), rp, auth.user.id, auth.session.id, c.var.clock.now()));
  });
  app.post("/login/verify/passkey", pending, readsJson(assertionForm), async (c) => {
    const auth = c.var.auth;
    const rp = relyingParty(c.env);
    if (!auth.policy.mfa.passkeys || !rp) return c.json({ error: "Passkeys are not used for this portal." }, 400);
    const form = c.req.valid("json");
    if (!form.ok) return c.json({ error: "The passkey's answer could not be read. Try again." }, form.status ?? 400);
    const counted = await countSecondStep(c, auth);
    if (!counted.ok) return c.json({ error: counted.message }, 429);
    const db = getDb(c.env.DB);
    const result = await finishAuthentication(
      c.env,
      db,
      rp,
      auth.user.id,
      auth.session.id,
      form.data.response as unknown as AuthenticationResponseJSON,
      c.var.clock.now(),
    );
    if (!result.ok) {
      await recordAudit(c, { event: "mfa.failed", portal, actorId: auth.user.id, details: { method: "passkey" } });
      return c.json({ error: result.message }, 401);
    }
    if (form.data.remember) await rememberThisDevice(c, auth);
    return c.json({ redirect: await passSecondFactor(c, auth, counted.attempt, { passed: "second_factor", method: "passkey" }) });
  });

  app.post("/login/verify/email/send", pending, readsNothing(), async (c) => {
    const auth = c.var.auth;
    if (!allowed(auth, "email")) return renderStep(c, "app", { error: "Email codes are not used for this portal.", status: 400 });
    const sent = await sendEmailOtp(c.env, auth.user, portal, auth.session.id, c.var.clock.now());
    if (!sent.ok) {
      const page = renderStep(c, "email", { error: sent.message, status: sent.status });
      return sent.retryAfterMs ? tooMany(c, page, sent.retryAfterMs) : page;
    }
    return c.redirect(`/${portal}/login/verify?method=email&sent=1`, 303);
  });

  // Lost the recovery codes: ask an admin for new ones, once every two hours.
  app.post("/login/verify/request-codes", pending, readsNothing(), async (c) => {
    const auth = c.var.auth;
    if (!auth.policy.mfa.authenticatorApp) return renderStep(c, "email", { error: UNAVAILABLE.recovery, status: 400 });
    const now = c.var.clock.now();
    const allowed = await countAttempt(c.env, limitKeys.recoveryRequest(auth.user.id), LIMITS.recoveryCodesPerUser, now);
    if (!allowed.allowed) {
      const at = new Date(now + allowed.retryAfterMs).toISOString().slice(11, 16);
      return tooMany(
        c,
        renderStep(c, "recovery", {
          error: `You already asked for new codes. You can ask again at ${at} UTC (in ${waitMessage(allowed.retryAfterMs)}).`,
          status: 429,
        }),
        allowed.retryAfterMs,
      );
    }
    await requestRecoveryCodes(getDb(c.env.DB), auth.user.id, now, {
      entry: { event: "recovery_codes.requested", portal, actorId: auth.user.id },
      origin: auditOriginOf(c),
    });
    return renderStep(c, "recovery", {
      notice:
        "Your request was sent to your administrators. Once they issue new codes, you will see them the next time you sign in with your app.",
    });
  });

  const enrolling = requireSession(portal, ["enroll"]);
  async function renderEnroll(c: Ctx, error?: string, status?: 401 | 403) {
    const auth = c.var.auth;
    const key = await pendingEnrollmentKey(c.env, getDb(c.env.DB), auth.user.id, c.var.clock.now());
    const uri = keyUri(auth.policy.mfa.issuerName, auth.user.email, key);
    const skipUntil = inGracePeriod(auth.policy.mfa, c.var.clock.now()) ? auth.policy.mfa.graceUntil : null;
    return c.html(
      <EnrollPage
        auth={auth}
        qrSvg={qrSvg(uri)}
        manualKey={formatManualKey(key)}
        issuer={auth.policy.mfa.issuerName}
        error={error}
        skipUntil={skipUntil}
      />,
      error ? (status ?? 401) : 200,
    );
  }

  // Within the grace period, "Skip for now" signs in without the app.
  app.post("/login/enroll/skip", enrolling, readsNothing(), async (c) => {
    const auth = c.var.auth;
    const now = c.var.clock.now();
    if (!inGracePeriod(auth.policy.mfa, now))
      return renderEnroll(c, "The time to set up the app has ended: set it up now to continue.", 403);
    const after = await nextStage(getDb(c.env.DB), portal, auth.user.id, auth.policy, now, { passed: "enrollment_skipped" });
    const audit = owedAudit(
      { event: "mfa.skipped", portal, actorId: auth.user.id, details: { until: auth.policy.mfa.graceUntil } },
      auditOriginOf(c),
    );
    if (!(await rotateSession(c, auth, { stage: after.stage, reauthenticated: true }, [audit]))) return c.redirect(`/${portal}/login`, 303);
    return c.redirect(after.location, 303);
  });

  app.get("/login/enroll", enrolling, (c) => renderEnroll(c));
  app.post("/login/enroll", enrolling, readsForm(codeForm), async (c) => {
    const auth = c.var.auth;
    const code = typedCode(c.req.valid("form")).code;
    const counted = await countSecondStep(c, auth);
    if (!counted.ok) return tooMany(c, renderEnroll(c, counted.message), counted.retryAfterMs);
    const db = getDb(c.env.DB);
    const enrolled = {
      entry: { event: "mfa.enrolled", portal, actorId: auth.user.id, details: { method: "app" } },
      origin: auditOriginOf(c),
    } as const;
    if (!code || !(await confirmEnrollment(c.env, db, auth.user.id, code, c.var.clock.now(), enrolled))) {
      await recordAudit(c, { event: "mfa.failed", portal, actorId: auth.user.id, details: { method: "enrollment" } });
      return renderEnroll(
        c,
        code
          ? `That code is not right. Check the app shows ${c.var.auth.policy.mfa.issuerName}, and enter the newest code.`
          : "Enter the 6-digit code from your authenticator app.",
      );
    }
    await generateRecoveryCodes(c.env, db, auth.user.id, c.var.clock.now());
    return c.redirect(await passSecondFactor(c, auth, counted.attempt, { passed: "enrollment" }), 303);
  });

  const savingCodes = requireSession(portal, ["recovery_codes"]);
  app.get("/login/recovery-codes", savingCodes, async (c) => {
    const codes = await listRecoveryCodes(c.env, getDb(c.env.DB), c.var.auth.user.id);
    return c.html(<RecoveryCodesPage auth={c.var.auth} codes={codes.map((r) => r.code)} />);
  });
  app.get("/login/recovery-codes.txt", savingCodes, async (c) => {
    const codes = await listRecoveryCodes(c.env, getDb(c.env.DB), c.var.auth.user.id);
    return c.body(
      recoveryCodesFile(
        c.var.auth.user.email,
        codes.map((r) => r.code),
      ),
      200,
      {
        "Content-Type": "text/plain; charset=utf-8",
        "Content-Disposition": 'attachment; filename="edgedesk-recovery-codes.txt"',
      },
    );
  });
  app.post("/login/finish", savingCodes, readsNothing(), async (c) => {
    const auth = c.var.auth;
    const db = getDb(c.env.DB);
    await markIssuedCodesShown(db, auth.user.id);
    const after = await nextStage(db, portal, auth.user.id, auth.policy, c.var.clock.now(), { passed: "recovery_codes_saved" });
    const finished = { method: "password", secondFactor: "enrollment" };
    await signInSucceeded(c, portal, auth.user, finished, { passwordOnly: auth.session.passwordOnly, audited: true });
    const audit = owedAudit({ event: "sign_in.succeeded", portal, actorId: auth.user.id, details: finished }, auditOriginOf(c));
    await rotateSession(c, auth, { stage: after.stage, reauthenticated: false }, [audit]);
    return c.redirect(after.location, 303);
  });

  return app;
}

const UNAVAILABLE: Record<Method, string> = {
  app: "The authenticator app is not used for this portal.",
  recovery: "Recovery codes are not used for this portal.",
  email: "Email codes are not used for this portal.",
  pass: "Temporary access passes are not used for this portal.",
};

const EMAIL_ERRORS = {
  expired: "That code has expired. Use Resend OTP to get a new one.",
  burned: "Too many wrong tries for this code. Use Resend OTP to get a new one.",
  no_code: "There is no code for this sign-in yet. Use Resend OTP to get one.",
} as const;

/** How each method checks a code: null when it is right, else what to tell the person. */
const CHECK_CODE: Record<Method, (c: Ctx, auth: Auth, code: string) => Promise<string | null>> = {
  async app(c, auth, code) {
    if (!code) return "Enter the 6-digit code from your authenticator app.";
    const ok = await verifyAuthenticatorCode(c.env, getDb(c.env.DB), auth.user.id, code, c.var.clock.now());
    return ok
      ? null
      : `That code is not right, or was already used. Enter the newest code your app shows for ${auth.policy.mfa.issuerName}.`;
  },
  async recovery(c, auth, code) {
    if (!code) return "Enter one of your recovery codes.";
    const used = { entry: { event: "recovery_code.used", portal: auth.portal, actorId: auth.user.id }, origin: auditOriginOf(c) } as const;
    const ok = await useRecoveryCode(c.env, getDb(c.env.DB), auth.user.id, code, c.var.clock.now(), used);
    return ok ? null : "That recovery code is not right, or was already used.";
  },
  /** A pass counts as both factors once (signInWithAccessPass says what else it does). */
  async pass(c, auth, code) {
    if (!code) return "Enter the temporary access pass your administrator gave you.";
    return (await signInWithAccessPass(c, auth.portal, auth.policy, auth.user, code)) ? null : PASS_REFUSED;
  },
  async email(c, auth, code) {
    if (!code) return "Enter the one-time password from the email.";
    const result = await userStub(c.env, auth.user.id).verifyEmailOtp(auth.user.id, auth.session.id, code, c.var.clock.now());
    if (result === "ok") return null;
    if (result === "unavailable") throw new Unavailable(CODE_CHECK_UNAVAILABLE);
    return result === "wrong" ? "That code is not right. Check the newest email from EdgeDesk." : EMAIL_ERRORS[result];
  },
};

/** The code typed at a second step, and whether "Don't ask again on this device" was ticked. */
function typedCode(parsed: Read<z.output<typeof codeForm>>): { code: string; remember: boolean } {
  return parsed.ok ? { code: parsed.data.code.trim(), remember: parsed.data.remember === "on" } : { code: "", remember: false };
}

async function tooMany(_c: Ctx, page: Response | Promise<Response>, retryAfterMs: number): Promise<Response> {
  const response = await page;
  response.headers.set("Retry-After", String(retryAfterSeconds(retryAfterMs)));
  return response;
}
