// Every browser carries one random cookie, not tied to a person. A person's object keeps the
// hashes of the browsers they signed in from (new-device alerts), and each account's limiter
// keeps them too, so strangers' failures never stop a browser the person uses (SECURITY.md 43).
import type { Context } from "hono";
import { getCookie, setCookie } from "hono/cookie";
import type { AppEnv } from "../app-env";
import { randomToken, sha256Hex } from "../lib/crypto";
import { hmacHex, hmacMatches } from "../lib/encryption";

const TOKEN = /^[a-z2-7]{32}$/;
// `__Host-` like the session cookie; one for the browser, whoever signs in with it.
const BROWSER_COOKIE = "edgedesk_browser";
const BROWSER_COOKIE_DAYS = 400;

function carried(c: Context): string | null {
  const token = getCookie(c, BROWSER_COOKIE, "host");
  return token && TOKEN.test(token) ? token : null;
}

/** The hash of the cookie this browser carries, or null for a browser that has none yet. */
export async function carriedBrowserHash(c: Context): Promise<string | null> {
  const token = carried(c);
  return token ? sha256Hex(token) : null;
}

/** This browser's token, made (and its cookie set) on its first sign-in; each sign-in renews it. */
export function browserToken(c: Context): string {
  const token = carried(c) ?? randomToken();
  setCookie(c, BROWSER_COOKIE, token, { prefix: "host", httpOnly: true, sameSite: "Lax", maxAge: BROWSER_COOKIE_DAYS * 86_400 });
  return token;
}

// A browser known to an account says so itself: a cookie of our MACs (HMAC_KEY) over the browser
// and each account it proved more than a password for here, a few at most. When the source's
// limits refuse, only a request vouched for this way is put to the account's own limiter, so a
// stranger's made-up emails (or made-up browser cookies) reach no account's object (SECURITY.md
// 44). The account's limiter still decides whether the browser is known.
const VOUCH_COOKIE = (portal: string) => `edgedesk_${portal}_known`;
const VOUCHES_KEPT = 5;
const vouchMessage = (browser: string, portal: string, email: string) => `edgedesk known browser\n${browser}\n${portal}\n${email}`;

function vouches(c: Context, portal: string): string[] {
  const raw = getCookie(c, VOUCH_COOKIE(portal), "host") ?? "";
  return raw
    .split("~")
    .filter((v) => /^[0-9a-f]{8}\.[0-9a-f]{64}$/.test(v))
    .slice(0, VOUCHES_KEPT);
}

/** Whether this browser carries any word of ours for an account of this portal (well-formed; not yet checked). */
export function carriesVouches(c: Context, portal: string): boolean {
  return vouches(c, portal).length > 0;
}

/** Whether this browser carries our word that it proved more than a password for this account. */
export async function vouchedFor(c: Context<AppEnv>, portal: string, email: string, browser: string | null): Promise<boolean> {
  if (!browser) return false;
  for (const mac of vouches(c, portal)) if (await hmacMatches(c.env, vouchMessage(browser, portal, email), mac)) return true;
  return false;
}

/**
 * Put this account first in what the browser's cookie vouches for, under the current key: the
 * accounts signed in most recently are the ones kept, and a vouch made under a previous key is
 * made again before that key goes.
 */
export async function vouchFor(c: Context<AppEnv>, portal: string, email: string, browser: string): Promise<void> {
  const message = vouchMessage(browser, portal, email);
  const mac = await hmacHex(c.env, message);
  const others: string[] = [];
  for (const v of vouches(c, portal)) if (!(await hmacMatches(c.env, message, v))) others.push(v);
  const kept = [mac, ...others].slice(0, VOUCHES_KEPT);
  setCookie(c, VOUCH_COOKIE(portal), kept.join("~"), {
    prefix: "host",
    httpOnly: true,
    sameSite: "Lax",
    maxAge: BROWSER_COOKIE_DAYS * 86_400,
  });
}
