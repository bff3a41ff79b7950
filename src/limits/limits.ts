import { DAY, MINUTE } from "../lib/clock";
import type { LimitResult, LimitRule, Ticket } from "./limiter-do";
import type { GuardRules } from "./windows";

// SECURITY.md 2-4. Generous enough that a person never meets them by mistake; small enough
// that guessing is hopeless (10 guesses at a 6-digit code per 15 minutes).
export const LIMITS = {
  // Wrong guesses from one source across accounts. A right password gives its attempt back, so
  // an office behind one address signs in all morning (SECURITY.md 37).
  passwordPerSource: { limit: 50, windowMs: 15 * MINUTE },
  // One site's many /64s (an IPv6 /48): more than a source, far fewer than 65,536 of them.
  passwordPerWiderSource: { limit: 200, windowMs: 15 * MINUTE },
  // SECURITY.md 45: password hashes a portal computes a minute for browsers no account knows,
  // whatever their sources (each is about 200 ms of CPU at production parameters).
  hashesPerPortal: { limit: 600, windowMs: MINUTE },
  // Microsoft sign-ins that did not finish, per source: each may call Microsoft's token endpoint.
  ssoCallbacksPerSource: { limit: 50, windowMs: 15 * MINUTE },
  // ... and per IPv6 /48, as passwords are: one site's many /64s together.
  ssoCallbacksPerWiderSource: { limit: 200, windowMs: 15 * MINUTE },
  // One person regenerates their own codes, or asks an admin for new ones, once every two hours.
  recoveryCodesPerUser: { limit: 1, windowMs: 120 * MINUTE },
  // "Forgot password?" mails, per email typed (known or not) and per source.
  passwordResetPerEmail: { limit: 3, windowMs: 60 * MINUTE },
  passwordResetPerSource: { limit: 20, windowMs: 60 * MINUTE },
  // One API token's requests: a SIEM paging the audit log at 1,000 events a page reads 600,000 a
  // minute; a script gone wrong is stopped within the minute.
  apiRequestsPerToken: { limit: 600, windowMs: MINUTE },
  // API requests whose token does not work, per source: a script with a stale token stops here,
  // and guessing is hopeless anyway (a token's secret is 260 random bits).
  apiFailuresPerSource: { limit: 50, windowMs: 15 * MINUTE },
} satisfies Record<string, LimitRule>;

/**
 * SECURITY.md 43: the guesses one account takes through one way in. A browser known to the
 * account has 10 of its own every 15 minutes and 100 a day; all other browsers share 10 every 15
 * minutes and 100 a day (NIST SP 800-63B 5.2.2 allows at most 100 consecutive failures).
 */
export const ACCOUNT_LIMITS: GuardRules = {
  browser: { limit: 10, windowMs: 15 * MINUTE },
  unknown: { limit: 10, windowMs: 15 * MINUTE },
  daily: { limit: 100, windowMs: DAY },
};

export function limiterFor(env: Env, key: string) {
  return env.LIMITER_DO.get(env.LIMITER_DO.idFromName(key));
}
const limiter = limiterFor;

export function countAttempt(env: Env, key: string, rule: LimitRule, now: number): Promise<LimitResult> {
  return limiter(env, key).hit(now, rule);
}

export function resetAttempts(env: Env, key: string): Promise<void> {
  return limiter(env, key).reset();
}

export function refundAttempts(env: Env, key: string, tickets: Ticket[]): Promise<void> {
  return tickets.length ? limiter(env, key).refund(tickets) : Promise.resolve();
}

export function accountLimiter(env: Env, portal: string, email: string) {
  return limiter(env, limitKeys.account(portal, email));
}

export const limitKeys = {
  /** A source (src/limits/source.ts), across accounts. */
  source: (source: string) => `src:${source}`,
  /** An account as typed (known or not), across sources: every way in that takes a secret. */
  account: (portal: string, email: string) => `account:${portal}:${email}`,
  /** A portal's password hashes, across sources. */
  hashes: (portal: string) => `hashes:${portal}`,
  recoveryCodes: (userId: string) => `recovery-codes:${userId}`,
  recoveryRequest: (userId: string) => `recovery-request:${userId}`,
  passwordResetSource: (source: string) => `reset-src:${source}`,
  passwordResetEmail: (portal: string, email: string) => `reset-email:${portal}:${email}`,
};

export function retryAfterSeconds(ms: number): number {
  return Math.max(1, Math.ceil(ms / 1000));
}

export function waitMessage(ms: number): string {
  const minutes = Math.ceil(ms / MINUTE);
  if (minutes > 90) return `${Math.ceil(minutes / 60)} hours`;
  return minutes <= 1 ? "a minute" : `${minutes} minutes`;
}
