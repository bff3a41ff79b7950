import { HOUR, MINUTE } from "../../lib/clock";
import { hmacHex, hmacMatches } from "../../lib/encryption";

/** The user Durable Object's row for the email code in flight (its table otp_challenge). */
export interface OtpRow extends Record<string, SqlStorageValue> {
  flow_id: string;
  challenge_id: string;
  attempts: number;
  expires_at: number;
  sent_at: number;
}

export const EMAIL_OTP = {
  lifetimeMs: 10 * MINUTE,
  resendCooldownMs: 30_000,
  maxAttempts: 5,
  maxSendsPerWindow: 5,
  sendWindowMs: HOUR,
  digits: 6,
} as const;

/** `in_flight`: another code for this person is being sent right now (its mail not yet accepted). */
export type EmailOtpIssue =
  | { ok: true; code: string; challengeId: string; expiresAt: number }
  | { ok: false; reason: "cooldown" | "hourly_cap" | "in_flight"; retryAfterMs: number };

/** `unavailable`: the code's record could not be read (KV failing); the try was not counted. */
export type EmailOtpCheck = "ok" | "wrong" | "expired" | "burned" | "no_code" | "unavailable";

export const CODE_CHECK_UNAVAILABLE = "We could not check the code just now, and this try was not counted. Try again in a moment.";

/** Six uniformly random digits (rejection sampling: no modulo bias). */
export function newOtpCode(): string {
  const limit = 4_294_000_000; // a multiple of 10^6 below 2^32
  for (;;) {
    const [n] = crypto.getRandomValues(new Uint32Array(1));
    if (n! < limit) return String(n! % 1_000_000).padStart(EMAIL_OTP.digits, "0");
  }
}

/** The code is stored only as this HMAC, bound to the user, the sign-in flow and the challenge (SECURITY.md 9). */
function otpMessage(userId: string, flowId: string, challengeId: string, code: string): string {
  return `${userId}\n${flowId}\n${challengeId}\n${code.trim()}`;
}

export function otpMac(env: Env, userId: string, flowId: string, challengeId: string, code: string): Promise<string> {
  return hmacHex(env, otpMessage(userId, flowId, challengeId, code));
}

/** Compared in constant time, under the key that made the MAC (one being rotated out still works for its 10 minutes). */
export function otpMacMatches(env: Env, userId: string, flowId: string, challengeId: string, code: string, mac: string): Promise<boolean> {
  return hmacMatches(env, otpMessage(userId, flowId, challengeId, code), mac);
}
