import { EMAIL_OTP, type EmailOtpCheck, type EmailOtpIssue, newOtpCode, otpMac, otpMacMatches, type OtpRow } from "../../mfa/email-otp-rules";
import { newId } from "../../lib/crypto";

/**
 * The email one-time code of one user: the Durable Object keeps what must be exact (attempts,
 * the current challenge, the sends of the last hour); the HMAC of the code goes to KV, where it
 * expires. Every check and count below runs before the first `await`, so the object's input gate
 * makes it atomic against parallel requests.
 */
interface OtpKvRecord {
  challengeId: string;
  mac: string;
  expiresAt: number;
}

function otpKvKey(userId: string): string {
  return `otp:${userId}`;
}

/** The code's KV record goes too when its person is removed (issue 19.5). */
export async function forgetEmailOtp(env: Env, userId: string): Promise<void> {
  await env.OTP_KV.delete(otpKvKey(userId));
}

function currentChallenge(sql: SqlStorage): OtpRow | undefined {
  return sql.exec<OtpRow>("SELECT * FROM otp_challenge").toArray()[0];
}

function writeChallenge(sql: SqlStorage, row: OtpRow): void {
  sql.exec(
    "INSERT OR REPLACE INTO otp_challenge (id, flow_id, challenge_id, attempts, expires_at, sent_at) VALUES (1, ?, ?, ?, ?, ?)",
    row.flow_id,
    row.challenge_id,
    row.attempts,
    row.expires_at,
    row.sent_at,
  );
}

/**
 * Make a new email code for a sign-in flow, unless the 30-second cooldown or the hourly cap
 * says no. The previous code stops working; the flow's failure count carries over
 * (SECURITY.md 4). If the mail then fails, cancelEmailOtp undoes it.
 */
export async function issueEmailOtp(sql: SqlStorage, env: Env, userId: string, flowId: string, now: number): Promise<EmailOtpIssue> {
  const current = currentChallenge(sql);
  if (current && now - current.sent_at < EMAIL_OTP.resendCooldownMs && now >= current.sent_at) {
    return { ok: false, reason: "cooldown", retryAfterMs: current.sent_at + EMAIL_OTP.resendCooldownMs - now };
  }
  const sends = sql.exec<{ sent_at: number }>("SELECT sent_at FROM otp_sends WHERE sent_at > ? ORDER BY sent_at", now - EMAIL_OTP.sendWindowMs).toArray();
  if (sends.length >= EMAIL_OTP.maxSendsPerWindow) {
    return { ok: false, reason: "hourly_cap", retryAfterMs: sends[0]!.sent_at + EMAIL_OTP.sendWindowMs - now };
  }
  const challengeId = newId("otp");
  const attempts = current?.flow_id === flowId ? current.attempts : 0;
  const expiresAt = now + EMAIL_OTP.lifetimeMs;
  sql.exec("DELETE FROM otp_sends WHERE sent_at <= ?", now - EMAIL_OTP.sendWindowMs);
  writeChallenge(sql, { flow_id: flowId, challenge_id: challengeId, attempts, expires_at: expiresAt, sent_at: now });
  sql.exec("INSERT INTO otp_sends (challenge_id, sent_at) VALUES (?, ?)", challengeId, now);
  const code = newOtpCode();
  const record: OtpKvRecord = { challengeId, mac: await otpMac(env, userId, flowId, challengeId, code), expiresAt };
  await env.OTP_KV.put(otpKvKey(userId), JSON.stringify(record), { expirationTtl: Math.ceil(EMAIL_OTP.lifetimeMs / 1000) });
  return { ok: true, code, challengeId, expiresAt, previous: current ?? null };
}

/** The mail could not be sent: forget this code as if it was never made (no cooldown, no count). */
export async function cancelEmailOtp(sql: SqlStorage, env: Env, userId: string, challengeId: string, previous: OtpRow | null): Promise<void> {
  sql.exec("DELETE FROM otp_sends WHERE challenge_id = ?", challengeId);
  const current = currentChallenge(sql);
  if (current?.challenge_id !== challengeId) return;
  if (previous) {
    writeChallenge(sql, { ...previous, attempts: current.attempts });
  } else {
    sql.exec("DELETE FROM otp_challenge");
    await env.OTP_KV.delete(otpKvKey(userId));
  }
}

/**
 * Check an email code. The attempt is counted before anything is awaited, so of any number of
 * parallel guesses at most five are evaluated; after that the challenge is burned and even the
 * right code fails (SECURITY.md 1). A code only works in the flow that asked for it (9).
 */
export async function verifyEmailOtp(sql: SqlStorage, env: Env, userId: string, flowId: string, code: string, now: number): Promise<EmailOtpCheck> {
  const challenge = currentChallenge(sql);
  if (!challenge || challenge.flow_id !== flowId) return "no_code";
  if (challenge.attempts >= EMAIL_OTP.maxAttempts) return "burned";
  sql.exec("UPDATE otp_challenge SET attempts = attempts + 1 WHERE id = 1");
  if (now >= challenge.expires_at) return "expired";
  const record = await env.OTP_KV.get<OtpKvRecord>(otpKvKey(userId), "json");
  // A record of another challenge (a stale read after a resend) is never trusted.
  if (!record || record.challengeId !== challenge.challenge_id || now >= record.expiresAt) return "expired";
  if (!(await otpMacMatches(env, userId, flowId, challenge.challenge_id, code, record.mac))) return "wrong";
  // Single use: the challenge goes in a synchronous write; a second right answer finds nothing.
  const spent = sql.exec("DELETE FROM otp_challenge WHERE challenge_id = ?", challenge.challenge_id).rowsWritten;
  if (spent !== 1) return "no_code";
  await env.OTP_KV.delete(otpKvKey(userId));
  return "ok";
}

/** When the next resend is allowed (ms since epoch), for the page's countdown; null without a code. */
export function emailOtpStatus(sql: SqlStorage, flowId: string): { sentAt: number; resendAt: number } | null {
  const challenge = currentChallenge(sql);
  if (!challenge || challenge.flow_id !== flowId) return null;
  return { sentAt: challenge.sent_at, resendAt: challenge.sent_at + EMAIL_OTP.resendCooldownMs };
}
