// Every browser carries one random cookie, not tied to a person. A person's object keeps the
// hashes of the browsers they signed in from (new-device alerts), and each account's limiter
// keeps them too, so strangers' failures never stop a browser the person uses (SECURITY.md 43).
import type { Context } from "hono";
import { getCookie, setCookie } from "hono/cookie";
import { randomToken, sha256Hex } from "../lib/crypto";

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
