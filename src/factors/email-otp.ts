import { sendMail } from "../mail/mailer";
import { type Portal, portalLabel } from "../portal/policy";
import { userStub } from "../auth/user-object";
import { EMAIL_OTP, type EmailOtpIssue } from "../auth/user-do/email-otp-rules";
import { isDependencyFailure, RETRY_AFTER_SECONDS } from "../lib/failures";

export const EMAIL_NOT_SENT = "We could not send the code. Try again in a moment.";

export type SendResult = { ok: true; expiresAt: number } | { ok: false; status: 429 | 503; message: string; retryAfterMs?: number };

/**
 * Email a fresh one-time password for this sign-in flow. If the mail cannot be sent, the code is
 * forgotten and no cooldown starts, so the person can simply try again.
 */
export async function sendEmailOtp(
  env: Env,
  user: { id: string; email: string; name: string },
  portal: Portal,
  flowId: string,
  now: number,
): Promise<SendResult> {
  const stub = userStub(env, user.id);
  let issued: EmailOtpIssue;
  try {
    issued = await stub.issueEmailOtp(user.id, flowId, now);
  } catch (error) {
    // The code's record could not be stored (KV failing): nothing was sent, and nothing counts.
    if (!isDependencyFailure(error)) throw error;
    console.error("Storing an email OTP failed:", error);
    return { ok: false, status: 503, message: EMAIL_NOT_SENT, retryAfterMs: RETRY_AFTER_SECONDS * 1000 };
  }
  if (!issued.ok) {
    const seconds = Math.ceil(issued.retryAfterMs / 1000);
    const message =
      issued.reason === "cooldown"
        ? `A code was sent moments ago. You can ask for another in ${seconds} seconds.`
        : issued.reason === "in_flight"
          ? "A code is being sent to you right now. Check your email in a moment."
          : `Too many codes were sent this hour. You can ask for another in ${Math.ceil(seconds / 60)} minutes.`;
    return { ok: false, status: 429, message, retryAfterMs: issued.retryAfterMs };
  }
  try {
    await sendMail(
      env,
      {
        to: user.email,
        subject: "Your EdgeDesk sign-in code",
        text:
          `Hello ${user.name},\n\nYour one-time password for the EdgeDesk ${portalLabel(portal).toLowerCase()} is:\n\n    ${issued.code}\n\n` +
          `It works once, for the next ${EMAIL_OTP.lifetimeMs / 60_000} minutes, in the browser where you asked for it.\n` +
          `If you did not try to sign in, change your password: someone else knows it.\n`,
      },
      now,
    );
  } catch (error) {
    console.error("Sending an email OTP failed:", error);
    await stub.cancelEmailOtp(user.id, issued.challengeId);
    return { ok: false, status: 503, message: EMAIL_NOT_SENT, retryAfterMs: RETRY_AFTER_SECONDS * 1000 };
  }
  // Stored and accepted: only now is it the code that works, and only now does it count as sent.
  if (!(await stub.confirmEmailOtp(user.id, issued.challengeId, now)))
    return { ok: false, status: 503, message: EMAIL_NOT_SENT, retryAfterMs: RETRY_AFTER_SECONDS * 1000 };
  return { ok: true, expiresAt: issued.expiresAt };
}
