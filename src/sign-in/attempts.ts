// The door side of counting guesses (src/limits/sign-in-guard.ts): who is trying, as this
// request says, and what a refusal leaves behind (a Retry-After, one audit row and one notice
// per window, never one row per refused request: SECURITY.md 44).
import type { Context } from "hono";
import type { AppEnv } from "../app-env";
import { auditOriginOf, recordAudit } from "../request/audit";
import { retryAfterSeconds, waitMessage } from "../limits/limits";
import {
  type Attempter,
  attemptNotJudged,
  attemptWasRight,
  browserSignedIn,
  type Counted,
  countSignInAttempt,
  type Way,
} from "../limits/sign-in-guard";
import { sourceOf } from "../limits/source";
import { type Holder, tellThrottledOrKeep, throttleNotice } from "../limits/throttle-notice";
import { afterResponse } from "../request/background";
import type { Portal } from "../portal/policy";
import { sha256Hex } from "../lib/crypto";
import { browserToken, carriedBrowserHash, vouchedFor, vouchFor } from "../request/browser-cookie";
import { requestDetails } from "../request/session-cookie";
import { userStub } from "../auth/user-object";
import { normalizeEmail } from "../auth/users";

export type { Counted } from "../limits/sign-in-guard";

export async function attempterOf(c: Context<AppEnv>, portal: Portal, email: string): Promise<Attempter> {
  const seen = requestDetails(c);
  const browser = await carriedBrowserHash(c);
  const account = normalizeEmail(email);
  return {
    portal,
    email: account,
    source: sourceOf(seen.ip),
    country: seen.country,
    browser,
    vouched: await vouchedFor(c, portal, account, browser),
  };
}

export function tooManyAttempts(retryAfterMs: number): string {
  return `Too many sign-in attempts. For your security, try again in ${waitMessage(retryAfterMs)}.`;
}

/**
 * A refused attempt: Retry-After on the response; the window's first refusal is audited once and,
 * where the account's own limit refused, its holder is told after the response (looked up then,
 * so neither the answer nor its timing tells a real account from an unknown email).
 */
export async function refused(
  c: Context<AppEnv>,
  who: Attempter,
  way: Way,
  counted: Counted & { allowed: false },
  holder: () => Promise<Holder | null>,
  audit: { method: string; targetId?: string | null },
): Promise<void> {
  c.header("Retry-After", String(retryAfterSeconds(counted.retryAfterMs)));
  if (!counted.firstRefusal) return;
  await recordAudit(c, {
    event: "sign_in.throttled",
    portal: who.portal as Portal,
    targetId: audit.targetId ?? null,
    details: { email: who.email, method: audit.method, by: counted.bucket },
  });
  if (counted.by === "account") {
    const notice = throttleNotice(who, way, counted, new URL(c.req.url).origin, auditOriginOf(c));
    await afterResponse(c, "The throttling notice", () => tellThrottledOrKeep(c.env, notice, holder, c.var.clock));
  }
}

/** Count one attempt (per source and per account, or per account alone) and handle a refusal. */
export async function countAttemptAt(
  c: Context<AppEnv>,
  who: Attempter,
  way: Way,
  options: { perSource: boolean; ceiling?: boolean; method: string; holder: () => Promise<Holder | null>; targetId?: string | null },
): Promise<Counted> {
  const counted = await countSignInAttempt(c.env, who, way, c.var.clock.now(), {
    perSource: options.perSource,
    ceiling: options.ceiling ?? true,
  });
  if (!counted.allowed) await refused(c, who, way, counted, options.holder, { method: options.method, targetId: options.targetId ?? null });
  return counted;
}

export function attemptRight(c: Context<AppEnv>, who: Attempter, counted: Counted & { allowed: true }): Promise<void> {
  return attemptWasRight(c.env, who, counted);
}

/** An attempt whose code could not be checked at all: only it is given back (never a browser's whole window). */
export function attemptUnjudged(c: Context<AppEnv>, who: Attempter, counted: Counted & { allowed: true }): Promise<void> {
  return attemptNotJudged(c.env, who, counted);
}

/**
 * Whether a right password came from a browser new to the person (SECURITY.md 38): not known to
 * the account's limits nor proven in the person's own object (which keeps browsers longer than
 * the limits do), though the person signed in before.
 */
export async function fromNewBrowser(
  env: Env,
  userId: string,
  who: Attempter,
  counted: Counted & { allowed: true },
  now: number,
): Promise<boolean> {
  if (counted.known) return false;
  const person = userStub(env, userId);
  if (who.browser && (await person.isProvenBrowser(who.browser, now))) return false;
  return counted.trustedAny || (await person.hasSignedInBefore());
}

/** This browser proved more than a password for the person: it is known to the account's limits from now on. */
export async function trustThisBrowser(c: Context<AppEnv>, portal: Portal, email: string): Promise<void> {
  const browser = await sha256Hex(browserToken(c));
  await browserSignedIn(c.env, portal, normalizeEmail(email), browser, c.var.clock.now());
  await vouchFor(c, portal, normalizeEmail(email), browser);
}
