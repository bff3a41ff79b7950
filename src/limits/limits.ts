import { MINUTE } from "../lib/clock";
import type { LimitResult, LimitRule } from "./limiter-do";

// SECURITY.md 2-4. Generous enough that a person never meets them by mistake; small enough
// that guessing is hopeless (10 guesses at a 6-digit code per 15 minutes).
export const LIMITS = {
  passwordPerAccount: { limit: 10, windowMs: 15 * MINUTE },
  passwordPerIp: { limit: 50, windowMs: 15 * MINUTE },
  secondFactorPerAccount: { limit: 10, windowMs: 15 * MINUTE },
  // Issue 4/5: a user regenerates their own codes, or asks an admin for new ones, once every two hours.
  recoveryCodesPerUser: { limit: 1, windowMs: 120 * MINUTE },
  // Issue 19.1: "Forgot password?" mails, per email typed (known or not) and per IP.
  passwordResetPerEmail: { limit: 3, windowMs: 60 * MINUTE },
  passwordResetPerIp: { limit: 20, windowMs: 60 * MINUTE },
} satisfies Record<string, LimitRule>;

function limiter(env: Env, key: string) {
  return env.LIMITER_DO.get(env.LIMITER_DO.idFromName(key));
}

export function countAttempt(env: Env, key: string, rule: LimitRule, now: number): Promise<LimitResult> {
  return limiter(env, key).hit(now, rule);
}

export function resetAttempts(env: Env, key: string): Promise<void> {
  return limiter(env, key).reset();
}

export const limitKeys = {
  passwordIp: (ip: string) => `pw-ip:${ip}`,
  passwordAccount: (portal: string, email: string) => `pw-account:${portal}:${email}`,
  secondFactor: (userId: string) => `2fa:${userId}`,
  recoveryCodes: (userId: string) => `recovery-codes:${userId}`,
  recoveryRequest: (userId: string) => `recovery-request:${userId}`,
  passwordResetIp: (ip: string) => `reset-ip:${ip}`,
  passwordResetEmail: (portal: string, email: string) => `reset-email:${portal}:${email}`,
};

export function retryAfterSeconds(ms: number): number {
  return Math.max(1, Math.ceil(ms / 1000));
}

export function waitMessage(ms: number): string {
  const minutes = Math.ceil(ms / MINUTE);
  return minutes <= 1 ? "a minute" : `${minutes} minutes`;
}
