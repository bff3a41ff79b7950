import { expect } from "vitest";
import type { Portal } from "../../src/portal/policy";
import { sessionCookieName } from "../../src/request/session-cookie";
import type { Browser } from "./app";
import { latestEmailCode } from "./mfa";

/**
 * Ask for a code mailed to confirm it's you (a browser new to the person that signed in with just
 * a password needs one to change the password or add a factor) and return it.
 */
export async function mailedConfirmationCode(client: Browser, portal: Portal, email: string): Promise<string> {
  const sent = await client.post(`/${portal}/reauth/email?next=${encodeURIComponent(`/${portal}/account`)}`);
  await sent.text();
  expect(sent.status, "the confirmation code should be mailed").toBe(303);
  return latestEmailCode(email);
}

/** Sign in through the form, as a person would, and check it worked. */
export async function signIn(client: Browser, portal: Portal, user: { email: string; password: string }) {
  const response = await client.post(`/${portal}/login`, { email: user.email, password: user.password });
  await response.text();
  expect(response.status, "sign-in should redirect").toBe(303);
  expect(response.headers.get("Location"), "sign-in should land in the portal (is an MFA policy on?)").toMatch(
    new RegExp(`^/${portal}(\\?|/|$)`),
  );
  expect(client.cookie(sessionCookieName(portal)), "sign-in should set the session cookie").toBeTruthy();
  return response;
}
