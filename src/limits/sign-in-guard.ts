// Counting the guesses at a secret (a password, a passkey, a temporary access pass, a second
// step's code, a reset link) before the secret is looked at, per source and per account, with
// plain values: the routes turn a refusal into their own page.
import { ACCOUNT_LIMITS, accountLimiter, LIMITS, limiterFor, limitKeys } from "./limits";
import type { GuardResult, LimitResult, LimitRule, Ticket } from "./limiter-do";
import { widerSourceOf } from "./source";

/** Each way in is counted apart, so wrong codes do not use up the password's attempts. */
export type Way = "password" | "second_step" | "reset";

/** Who is trying: the account as typed (known or not) and where the attempt comes from. */
export interface Attempter {
  portal: string;
  /** Normalised, as typed: an unknown email is counted exactly like a real one (SECURITY.md 22). */
  email: string;
  source: string;
  country: string | null;
  /** The hash of the browser's cookie (src/request/browser-cookie.ts), null for a browser without one. */
  browser: string | null;
  /** The browser carries our word that it proved more than a password for this account (src/request/browser-cookie.ts). */
  vouched: boolean;
}

/** An attempt counted in one limiter object, to give back. */
export interface Counter {
  key: string;
  tickets: Ticket[];
}

export type Counted =
  | { allowed: true; known: boolean; trustedAny: boolean; counters: Counter[] }
  | {
      allowed: false;
      retryAfterMs: number;
      firstRefusal: boolean;
      by: "source" | "account";
      bucket: "source" | "browser" | "unknown";
      trustedAny: boolean;
    };

/** The rules a source is counted by: its own key's, its wider key's (an IPv6 /48), and the window's name. */
export interface SourceRules {
  own: LimitRule;
  wider: LimitRule;
  window: string;
}

const PASSWORD_SOURCE: SourceRules = { own: LIMITS.passwordPerSource, wider: LIMITS.passwordPerWiderSource, window: "password" };

/**
 * What an attempt counts against besides its account (SECURITY.md 45): its source (an IPv4
 * address, an IPv6 /64), the /48 around an IPv6 source (one site's many /64s), and the portal's
 * ceiling on password hashes a minute, which keeps the CPU safe when many sources join in.
 */
function sourceSide(
  who: { portal: string; source: string },
  { ceiling = true }: SourceOptions,
  rules: SourceRules,
): { own: SourceKey; wide: SourceKey[] } {
  const wider = widerSourceOf(who.source);
  return {
    own: { key: limitKeys.source(who.source), rule: rules.own },
    wide: [
      ...(wider ? [{ key: limitKeys.source(wider), rule: rules.wider }] : []),
      ...(ceiling ? [{ key: limitKeys.hashes(who.portal), rule: LIMITS.hashesPerPortal }] : []),
    ],
  };
}

interface SourceKey {
  key: string;
  rule: LimitRule;
}

/**
 * `ceiling: false` for a reset link (only the person's mailbox has one, so strangers cannot use
 * it to fill the portal's ceiling, and a person locked out by a flood still gets back in with it)
 * and for what hashes no password.
 */
export interface SourceOptions {
  ceiling?: boolean;
}

/**
 * One attempt from a source, before the account is known (a passkey names its account only once
 * looked up). The wider keys are counted first: while the /48 or the portal's ceiling refuses, the
 * source's own key is not counted, so a stranger moving to a new address or /64 makes no object
 * for it (SECURITY.md 44).
 */
export async function countFromSource(
  env: Env,
  who: { portal: string; source: string },
  now: number,
  options: SourceOptions = {},
  rules: SourceRules = PASSWORD_SOURCE,
): Promise<{ result: LimitResult; counters: Counter[] }> {
  const { own, wide } = sourceSide(who, options, rules);
  const counters: Counter[] = [];
  for (const keys of [wide, [own]]) {
    const results: LimitResult[] = await Promise.all(keys.map((k) => limiterFor(env, k.key).hit(now, k.rule, rules.window)));
    keys.forEach((k, i) => {
      const r = results[i]!;
      if (r.allowed) counters.push({ key: k.key, tickets: r.tickets });
    });
    const refused = results.flatMap((r) => (r.allowed ? [] : [r]));
    if (refused.length > 0) {
      await giveBack(env, counters);
      const last = refused.reduce((a, b) => (b.retryAfterMs > a.retryAfterMs ? b : a));
      return {
        result: { allowed: false, retryAfterMs: last.retryAfterMs, firstRefusal: refused.some((r) => r.firstRefusal) },
        counters: [],
      };
    }
  }
  return { result: { allowed: true, remaining: 0, tickets: [] }, counters };
}

export function countForAccount(env: Env, who: Attempter, way: Way, now: number): Promise<GuardResult> {
  return accountLimiter(env, who.portal, who.email).attempt(now, {
    way,
    browser: who.browser,
    source: who.source,
    country: who.country,
    rules: ACCOUNT_LIMITS,
  });
}

export function giveBack(env: Env, counters: Counter[]): Promise<unknown> {
  return Promise.all(counters.filter((c) => c.tickets.length).map((c) => limiterFor(env, c.key).refund(c.tickets)));
}

/** Combine what the source side and the account said; an attempt either refused is given back to the other, as it is never evaluated. */
export async function settle(
  env: Env,
  who: Attempter,
  bySource: { result: LimitResult; counters: Counter[] } | null,
  byAccount: GuardResult,
): Promise<Counted> {
  const accountKey = limitKeys.account(who.portal, who.email);
  const account: Counter = { key: accountKey, tickets: byAccount.allowed ? byAccount.tickets : [] };
  // A browser known to this account has its own windows there: the source's limits are for
  // guessing across accounts, which a browser known to one account cannot do, so a colleague's
  // (or an intruder's) failures behind the same address never stop it.
  if (byAccount.allowed && byAccount.known) {
    if (bySource) await giveBack(env, bySource.counters);
    return { allowed: true, known: true, trustedAny: true, counters: [account] };
  }
  if (byAccount.allowed && (!bySource || bySource.result.allowed)) {
    return { allowed: true, known: byAccount.known, trustedAny: byAccount.trustedAny, counters: [...(bySource?.counters ?? []), account] };
  }
  await giveBack(env, [...(bySource?.counters ?? []), account]);
  if (!byAccount.allowed)
    return {
      allowed: false,
      retryAfterMs: byAccount.retryAfterMs,
      firstRefusal: byAccount.firstRefusal,
      by: "account",
      bucket: byAccount.bucket,
      trustedAny: byAccount.trustedAny,
    };
  const refused = bySource!.result as LimitResult & { allowed: false };
  return {
    allowed: false,
    retryAfterMs: refused.retryAfterMs,
    firstRefusal: refused.firstRefusal,
    by: "source",
    bucket: "source",
    trustedAny: byAccount.trustedAny,
  };
}

/**
 * Count one attempt per source (across accounts) and per account (across sources) before the
 * secret is checked (SECURITY.md 3, 37, 43, 45). `perSource: false` for a step whose person
 * already proved a password (the second step), which only the account counts.
 */
export async function countSignInAttempt(
  env: Env,
  who: Attempter,
  way: Way,
  now: number,
  options: SourceOptions & { perSource: boolean } = { perSource: true },
): Promise<Counted> {
  if (!options.perSource) return settle(env, who, null, await countForAccount(env, who, way, now));
  // The source first: a stranger spraying made-up emails from a throttled source reaches no
  // account's object, so makes none (SECURITY.md 44). A browser vouched for is still put to the
  // account, since the source's limit does not bind a browser the account knows.
  const bySource = await countFromSource(env, who, now, options);
  if (!bySource.result.allowed && !who.vouched) {
    const refused = bySource.result;
    return {
      allowed: false,
      retryAfterMs: refused.retryAfterMs,
      firstRefusal: refused.firstRefusal,
      by: "source",
      bucket: "source",
      trustedAny: false,
    };
  }
  return settle(env, who, bySource, await countForAccount(env, who, way, now));
}

/**
 * The secret was right. The source side gets its attempt back, so colleagues behind one address
 * never use up each other's (SECURITY.md 37). A known browser's own windows start again, as their
 * failures were the person's; an unknown browser gives back only its own attempt, since the
 * windows it shares hold strangers' guesses too (clearing them would hand strangers a new 10, and
 * tell them the account is in use).
 */
export async function attemptWasRight(env: Env, who: Attempter, counted: Counted & { allowed: true }): Promise<void> {
  const accountKey = limitKeys.account(who.portal, who.email);
  const account = counted.counters.find((c) => c.key === accountKey)?.tickets ?? [];
  await Promise.all([
    giveBack(
      env,
      counted.counters.filter((c) => c.key !== accountKey),
    ),
    counted.known
      ? accountLimiter(env, who.portal, who.email).reset(account.map((t) => t.name))
      : accountLimiter(env, who.portal, who.email).refund(account),
  ]);
}

/**
 * The attempt was never judged (what it was checked against could not be read): it alone is given
 * back, on every side, known browser or not; earlier wrong guesses stay counted.
 */
export async function attemptNotJudged(env: Env, who: Attempter, counted: Counted & { allowed: true }): Promise<void> {
  const accountKey = limitKeys.account(who.portal, who.email);
  const account = counted.counters.find((c) => c.key === accountKey)?.tickets ?? [];
  await Promise.all([
    giveBack(
      env,
      counted.counters.filter((c) => c.key !== accountKey),
    ),
    accountLimiter(env, who.portal, who.email).refund(account),
  ]);
}

/**
 * A sign-in that proved more than a password finished in this browser (or the account's first):
 * from now on its guesses at this account are its own.
 */
export function browserSignedIn(env: Env, portal: string, email: string, browser: string, now: number): Promise<void> {
  return accountLimiter(env, portal, email).knowBrowser(browser, now);
}
