import { eq } from "drizzle-orm";
import type { Db } from "../db";
import { users, type User } from "../db/schema";
import { kindOfPortal, type MfaPolicy, type Portal, type PortalPolicy } from "../portal/policy";
import { hasPasskey } from "../factors/passkeys";
import { hasConfirmedAuthenticator } from "../factors/totp";
import { countUnusedRecoveryCodes, LOW_RECOVERY_CODES } from "../factors/recovery-codes";
import { hasIssuedCodesToShow } from "../factors/recovery-requests";
import { passwordExpired } from "../auth/password-policy";
import { hashPassword, passwordNeedsRehash, type ScryptParams, verifyAgainstDummyHash, verifyPassword } from "../auth/password";
import type { SessionStage } from "../auth/user-do";
import { findUserByEmail, findUserById } from "../auth/users";

/** `accountId`: whose account a refused password was for, if any (never shown: SECURITY.md 22). */
export type PasswordCheck = { ok: true; user: User } | { ok: false; reason: "invalid" | "disabled"; accountId: string | null };

/**
 * Check an email and password for a portal. An unknown email, an account without a password
 * (SSO only) and a wrong password all cost one full hash and give the same answer
 * (SECURITY.md 22), so neither time nor text reveals whether an account exists.
 */
export async function checkPassword(
  db: Db,
  hashParams: ScryptParams,
  portal: Portal,
  email: string,
  password: string,
  now: number,
): Promise<PasswordCheck> {
  const user = await findUserByEmail(db, kindOfPortal(portal), email);
  if (!user?.passwordHash) {
    await verifyAgainstDummyHash(password, hashParams);
    return { ok: false, reason: "invalid", accountId: user?.id ?? null };
  }
  if (!(await verifyPassword(user.passwordHash, password))) return { ok: false, reason: "invalid", accountId: user.id };
  // Only someone who knows the password learns that the account is disabled.
  if (!user.active) return { ok: false, reason: "disabled", accountId: user.id };
  if (passwordNeedsRehash(user.passwordHash, hashParams)) {
    const upgraded = await hashPassword(password, hashParams);
    await db.update(users).set({ passwordHash: upgraded, updatedAt: now }).where(eq(users.id, user.id));
  }
  return { ok: true, user };
}

/** What a user must do after a correct password, under the portal's MFA policy. */
export type SecondStep = "none" | "enroll" | "app" | "email" | "passkey";

export async function secondStepFor(db: Db, mfa: MfaPolicy, userId: string): Promise<SecondStep> {
  if (mfa.authenticatorApp) return (await hasConfirmedAuthenticator(db, userId)) ? "app" : "enroll";
  if (mfa.emailOtp) return "email";
  // Passkeys alone: whoever registered one uses it; nobody else is asked for a second factor.
  if (mfa.passkeys && (await hasPasskey(db, userId))) return "passkey";
  return "none";
}

/** A step of a password sign-in that the person has just passed. */
export type PassedStep =
  // The password was right; a device remembered from "Don't ask again" skips the code (never the app's set-up).
  | { passed: "password"; rememberedDevice: () => Promise<boolean> }
  // A code or passkey at the second step.
  // A temporary access pass an admin issued counts as both factors, once.
  | { passed: "second_factor"; method: "app" | "email" | "recovery" | "passkey" | "pass" }
  | { passed: "enrollment" }
  | { passed: "enrollment_skipped" }
  | { passed: "recovery_codes_saved" };

export interface NextStage {
  stage: SessionStage;
  /** Where the browser goes next. */
  location: string;
  /** After the password: the second step asked for ("none" when no code is needed). */
  secondStep?: SecondStep;
  /** After the password: a remembered device stood in for the second step. */
  remembered?: boolean;
}

/**
 * The one place that says what follows each step of a password sign-in, under the
 * portal's policy: the second factor (or setting up the app), the recovery codes (after setting
 * up the app, or codes an admin issued on request), a change of an expired password, then the
 * portal. Routes turn the answer into a session rotation and a redirect (or JSON).
 */
export async function nextStage(
  db: Db,
  portal: Portal,
  userId: string,
  policy: PortalPolicy,
  now: number,
  step: PassedStep,
  next = `/${portal}`,
): Promise<NextStage> {
  const finish = async (): Promise<NextStage> => {
    const user = await findUserById(db, userId);
    const stage = user && passwordExpired(user.passwordChangedAt, policy.password, now) ? "change_password" : "full";
    return { stage, location: stageLocation(portal, stage, next) };
  };
  switch (step.passed) {
    case "password": {
      const secondStep = await secondStepFor(db, policy.mfa, userId);
      if (secondStep === "enroll") return { stage: "enroll", location: stageLocation(portal, "enroll", next), secondStep };
      if (secondStep === "none") return { ...(await finish()), secondStep };
      if (await step.rememberedDevice()) return { ...(await finish()), secondStep: "none", remembered: true };
      return { stage: "second_factor", location: stageLocation(portal, "second_factor", next), secondStep };
    }
    case "enrollment":
      return { stage: "recovery_codes", location: stageLocation(portal, "recovery_codes", next) };
    case "second_factor": {
      // After a temporary access pass, straight to setting up the app (its old one is gone), or a passkey.
      if (step.method === "pass") {
        if (policy.mfa.authenticatorApp) return { stage: "enroll", location: stageLocation(portal, "enroll", next) };
        const done = await finish();
        return done.stage === "full" && policy.mfa.passkeys ? { ...done, location: `/${portal}/account?done=access_pass#passkeys` } : done;
      }
      // Codes an admin issued on request are shown now, before the portal opens.
      if (await hasIssuedCodesToShow(db, userId))
        return { stage: "recovery_codes", location: stageLocation(portal, "recovery_codes", next) };
      const done = await finish();
      // Signed in with a recovery code and running low: My account, to generate new ones.
      if (done.stage === "full" && step.method === "recovery" && (await countUnusedRecoveryCodes(db, userId)) <= LOW_RECOVERY_CODES) {
        return { ...done, location: `/${portal}/account?done=low_codes` };
      }
      return done;
    }
    case "enrollment_skipped":
    case "recovery_codes_saved":
      return finish();
  }
}

/** The page of each stage; a finished sign-in goes to `next` (already checked to be a path of ours). */
export function stageLocation(portal: Portal, stage: SessionStage, next = `/${portal}`): string {
  const pages: Record<Exclude<SessionStage, "full">, string> = {
    second_factor: `/${portal}/login/verify`,
    enroll: `/${portal}/login/enroll`,
    recovery_codes: `/${portal}/login/recovery-codes`,
    change_password: `/${portal}/login/change-password`,
  };
  return stage === "full" ? next : pages[stage];
}

/**
 * What confirming identity asks of this person besides the password: their app's code, a mailed
 * code, or nothing. Where it is nothing, a session that proved only a password from a browser new
 * to the account may add a mailed code, which it needs before adding a sign-in factor
 * (SECURITY.md 38: whoever holds a stolen password does not hold the mailbox too, as a rule);
 * "email_optional" says so.
 */
export function secondProofFor(
  hasApp: boolean,
  policy: { mfa: { emailOtp: boolean } },
  passwordOnly = false,
): "app" | "email" | "email_optional" | "none" {
  return hasApp ? "app" : policy.mfa.emailOtp ? "email" : passwordOnly ? "email_optional" : "none";
}
