// Counting the guesses at a secret (a password, a passkey, a temporary access pass, a second
// step's code, a reset link) before the secret is looked at, per source and per account, with
// plain values: the routes turn a refusal into their own page.
import { ACCOUNT_LIMITS, accountLimiter, LIMITS, sourceLimiter } from "./limits";
import type { GuardResult, LimitResult, Ticket } from "./limiter-do";

/** Each way in is counted apart, so wrong codes do not use up the password's attempts. */
export type Way = "password" | "second_step" | "reset";

/** Who is trying: the account as typed (known or not) and where the attempt comes from. */
export interface Attempter {
  portal: string;
  /** Normalised, as typed: an unknown email is counted exactly like a real one (SECURITY.md 22). */
  email: string;
  source: string;
  country: string | null;
  /** The hash of the browser's cookie (src/auth/browser.ts), null for a browser without one. */
  browser: string | null;
}

export type Counted =
  | { allowed: true; known: boolean; trustedAny: boolean; source: Ticket[]; account: Ticket[] }
  | { allowed: false; retryAfterMs: number; firstRefusal: boolean; by: "source" | "account"; bucket: "source" | "browser" | "unknown" };

/** One attempt from a source, before the account is known (a passkey names its account only once looked up). */
export function countFromSource(env: Env, source: string, now: number): Promise<LimitResult> {
  return sourceLimiter(env, source).hit(now, LIMITS.passwordPerSource, "password");
}

export function countForAccount(env: Env, who: Attempter, way: Way, now: number): Promise<GuardResult> {
  return accountLimiter(env, who.portal, who.email).attempt(now, { way, browser: who.browser, source: who.source, country: who.country, rules: ACCOUNT_LIMITS });
}

/** Combine what the source and the account said; an attempt either refused is given back to the other, as it is never evaluated. */
export async function settle(env: Env, who: Attempter, bySource: LimitResult | null, byAccount: GuardResult): Promise<Counted> {
  // A browser that signed in to this account has its own window there: the source's limit is for
  // guessing across accounts, which a browser known to one account cannot do, so a colleague's
  // (or an intruder's) failures behind the same address never stop it.
  if (byAccount.allowed && byAccount.known) {
    if (bySource?.allowed && bySource.tickets.length) await sourceLimiter(env, who.source).refund(bySource.tickets);
    return { allowed: true, known: true, trustedAny: true, source: [], account: byAccount.tickets };
  }
  if (byAccount.allowed && (!bySource || bySource.allowed)) return { allowed: true, known: byAccount.known, trustedAny: byAccount.trustedAny, source: bySource?.tickets ?? [], account: byAccount.tickets };
  await Promise.all([
    bySource?.allowed && bySource.tickets.length ? sourceLimiter(env, who.source).refund(bySource.tickets) : null,
    byAccount.allowed ? accountLimiter(env, who.portal, who.email).refund(byAccount.tickets) : null,
  ]);
  if (!byAccount.allowed) return { allowed: false, retryAfterMs: byAccount.retryAfterMs, firstRefusal: byAccount.firstRefusal, by: "account", bucket: byAccount.bucket };
  const refused = bySource as LimitResult & { allowed: false };
  return { allowed: false, retryAfterMs: refused.retryAfterMs, firstRefusal: refused.firstRefusal, by: "source", bucket: "source" };
}

/**
 * Count one attempt per source (across accounts) and per account (across sources) before the
 * secret is checked (SECURITY.md 3, 37, 43). `perSource: false` for a step whose person already
 * proved a password (the second step), which only the account counts.
 */
export async function countSignInAttempt(env: Env, who: Attempter, way: Way, now: number, options: { perSource: boolean } = { perSource: true }): Promise<Counted> {
  const [bySource, byAccount] = await Promise.all([options.perSource ? countFromSource(env, who.source, now) : null, countForAccount(env, who, way, now)]);
  return settle(env, who, bySource, byAccount);
}

/**
 * The secret was right. The source gets its attempt back, so colleagues behind one address never
 * use up each other's (SECURITY.md 37); the account's window this browser counted in starts
 * again, as its failures were the person's own.
 */
export async function attemptWasRight(env: Env, who: Attempter, counted: Counted & { allowed: true }): Promise<void> {
  await Promise.all([
    counted.source.length ? sourceLimiter(env, who.source).refund(counted.source) : null,
    accountLimiter(env, who.portal, who.email).reset(counted.account.map((t) => t.name)),
  ]);
}

/**
 * A sign-in that proved more than a password finished in this browser (or the account's first):
 * from now on its guesses at this account are its own.
 */
export function browserSignedIn(env: Env, portal: string, email: string, browser: string, now: number): Promise<void> {
  return accountLimiter(env, portal, email).knowBrowser(browser, now);
}
