import { EMAIL_OTP, type EmailOtpCheck, type EmailOtpIssue, newOtpCode, otpMac, otpMacMatches, type OtpRow } from "./email-otp-rules";
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

/**
 * One KV record per challenge, so issuing a new code never overwrites the one still in use: until
 * the new code's mail is accepted, the old code works. (`otp:<user>` alone held the record before.)
 */
function otpKvKey(userId: string, challengeId: string): string {
  return `otp:${userId}:${challengeId}`;
}

/** The codes' KV records go too when their person is removed: nothing of theirs is left behind. */
export async function forgetEmailOtp(env: Env, userId: string): Promise<void> {
  const { keys } = await env.OTP_KV.list({ prefix: `otp:${userId}:` });
  await Promise.all([...keys.map((k) => env.OTP_KV.delete(k.name)), env.OTP_KV.delete(`otp:${userId}`)]);
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

/** How long an issue may take to be confirmed or cancelled before a new one may start. */
const IN_FLIGHT_MS = EMAIL_OTP.resendCooldownMs;

/**
 * Start a new email code for a sign-in flow, unless the 30-second cooldown, the hourly cap or a
 * code already being sent says no. The code's record is stored under its own key; nothing else
 * changes yet: the current code keeps working, and nothing counts as sent, until the caller has
 * the mail accepted and confirms (confirmEmailOtp), or cancels (cancelEmailOtp). A record KV
 * refuses leaves no trace but the error.
 */
export async function issueEmailOtp(sql: SqlStorage, env: Env, userId: string, flowId: string, now: number): Promise<EmailOtpIssue> {
  const current = currentChallenge(sql);
  if (current && now - current.sent_at < EMAIL_OTP.resendCooldownMs && now >= current.sent_at) {
    return { ok: false, reason: "cooldown", retryAfterMs: current.sent_at + EMAIL_OTP.resendCooldownMs - now };
  }
  // One issue at a time, so parallel requests send one mail; one never confirmed nor cancelled (its Worker stopped) lapses.
  // Requests reach the object out of clock order, so a pending issue "from the future" is in flight too.
  sql.exec("DELETE FROM otp_pending WHERE started_at <= ?", now - IN_FLIGHT_MS);
  const inFlight = sql.exec<{ started_at: number }>("SELECT started_at FROM otp_pending").toArray()[0];
  if (inFlight)
    return {
      ok: false,
      reason: "in_flight",
      retryAfterMs: Math.min(IN_FLIGHT_MS, Math.max(1000, inFlight.started_at + IN_FLIGHT_MS - now)),
    };
  const sends = sql
    .exec<{ sent_at: number }>("SELECT sent_at FROM otp_sends WHERE sent_at > ? ORDER BY sent_at", now - EMAIL_OTP.sendWindowMs)
    .toArray();
  if (sends.length >= EMAIL_OTP.maxSendsPerWindow) {
    return { ok: false, reason: "hourly_cap", retryAfterMs: sends[0]!.sent_at + EMAIL_OTP.sendWindowMs - now };
  }
  const challengeId = newId("otp");
  const expiresAt = now + EMAIL_OTP.lifetimeMs;
  sql.exec(
    "INSERT INTO otp_pending (challenge_id, flow_id, expires_at, started_at) VALUES (?, ?, ?, ?)",
    challengeId,
    flowId,
    expiresAt,
    now,
  );
  const code = newOtpCode();
  try {
    const record: OtpKvRecord = { challengeId, mac: await otpMac(env, userId, flowId, challengeId, code), expiresAt };
    await env.OTP_KV.put(otpKvKey(userId, challengeId), JSON.stringify(record), { expirationTtl: Math.ceil(EMAIL_OTP.lifetimeMs / 1000) });
  } catch (error) {
    sql.exec("DELETE FROM otp_pending WHERE challenge_id = ?", challengeId);
    throw error;
  }
  return { ok: true, code, challengeId, expiresAt };
}

/**
 * The code's mail was accepted: it becomes the code that works (the code before it stops), and
 * the send counts for the cooldown and the hourly cap. The flow's failure count carries over
 * (SECURITY.md 4). False when the issue had lapsed (a newer one started meanwhile).
 */
export async function confirmEmailOtp(sql: SqlStorage, env: Env, userId: string, challengeId: string, now: number): Promise<boolean> {
  const pending = sql
    .exec<{ flow_id: string; expires_at: number }>("SELECT flow_id, expires_at FROM otp_pending WHERE challenge_id = ?", challengeId)
    .toArray()[0];
  if (!pending) return false;
  const current = currentChallenge(sql);
  const attempts = current?.flow_id === pending.flow_id ? current.attempts : 0;
  sql.exec("DELETE FROM otp_pending WHERE challenge_id = ?", challengeId);
  sql.exec("DELETE FROM otp_sends WHERE sent_at <= ?", now - EMAIL_OTP.sendWindowMs);
  writeChallenge(sql, { flow_id: pending.flow_id, challenge_id: challengeId, attempts, expires_at: pending.expires_at, sent_at: now });
  sql.exec("INSERT INTO otp_sends (challenge_id, sent_at) VALUES (?, ?)", challengeId, now);
  // The old code's record no longer matches the current challenge; deleting it is tidiness (it expires anyway).
  if (current) await env.OTP_KV.delete(otpKvKey(userId, current.challenge_id)).catch(() => {});
  return true;
}

/** The mail could not be sent: forget this code as if it was never made (no cooldown, no count; the code before it still works). */
export async function cancelEmailOtp(sql: SqlStorage, env: Env, userId: string, challengeId: string): Promise<void> {
  sql.exec("DELETE FROM otp_pending WHERE challenge_id = ?", challengeId);
  await env.OTP_KV.delete(otpKvKey(userId, challengeId)).catch(() => {});
}

/**
 * Check an email code. The attempt is counted before anything is awaited, so of any number of
 * parallel guesses at most five are evaluated; after that the challenge is burned and even the
 * right code fails (SECURITY.md 1). A code only works in the flow that asked for it (9).
 */
export async function verifyEmailOtp(
  sql: SqlStorage,
  env: Env,
  userId: string,
  flowId: string,
  code: string,
  now: number,
): Promise<EmailOtpCheck> {
  const challenge = currentChallenge(sql);
  if (!challenge || challenge.flow_id !== flowId) return "no_code";
  if (challenge.attempts >= EMAIL_OTP.maxAttempts) return "burned";
  sql.exec("UPDATE otp_challenge SET attempts = attempts + 1 WHERE id = 1");
  if (now >= challenge.expires_at) return "expired";
  let record: OtpKvRecord | null;
  try {
    // A code issued before records were kept per challenge is under the older key for its last 10 minutes.
    record =
      (await env.OTP_KV.get<OtpKvRecord>(otpKvKey(userId, challenge.challenge_id), "json")) ??
      (await env.OTP_KV.get<OtpKvRecord>(`otp:${userId}`, "json"));
  } catch (error) {
    // The guess was never compared, so it is given back: KV failing costs the person no try.
    console.error("Reading an email code's record failed:", error);
    sql.exec("UPDATE otp_challenge SET attempts = max(0, attempts - 1) WHERE challenge_id = ?", challenge.challenge_id);
    return "unavailable";
  }
  // A record of another challenge (a stale read after a resend) is never trusted.
  if (!record || record.challengeId !== challenge.challenge_id || now >= record.expiresAt) return "expired";
  if (!(await otpMacMatches(env, userId, flowId, challenge.challenge_id, code, record.mac))) return "wrong";
  // Single use: the challenge goes in a synchronous write; a second right answer finds nothing.
  const spent = sql.exec("DELETE FROM otp_challenge WHERE challenge_id = ?", challenge.challenge_id).rowsWritten;
  if (spent !== 1) return "no_code";
  await env.OTP_KV.delete(otpKvKey(userId, challenge.challenge_id)).catch(() => {});
  return "ok";
}

/** When the next resend is allowed (ms since epoch), for the page's countdown; null without a code. */
export function emailOtpStatus(sql: SqlStorage, flowId: string): { sentAt: number; resendAt: number } | null {
  const challenge = currentChallenge(sql);
  if (!challenge || challenge.flow_id !== flowId) return null;
  return { sentAt: challenge.sent_at, resendAt: challenge.sent_at + EMAIL_OTP.resendCooldownMs };
}
