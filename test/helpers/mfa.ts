import { decodeBase32IgnorePadding } from "@oslojs/encoding";
import { generateHOTP } from "@oslojs/otp";
import { env } from "cloudflare:workers";
import { desc, eq } from "drizzle-orm";
import { expect } from "vitest";
import { portalStub } from "../../src/auth/sessions";
import { sessionCookieName } from "../../src/request/session-cookie";
import { devMailbox } from "../../src/db/schema";
import { timeStep } from "../../src/factors/totp";
import type { MfaPolicy, Portal } from "../../src/portal/policy";
import type { Browser, FakeClock } from "./app";
import { db } from "./factories";
import { findAll, listItems, textIn, textOf } from "./html";
import { writePortalPolicy } from "./portal";

/** Set a portal's MFA policy directly (for tests that are not about the settings page). */
export async function setMfa(portal: Portal, mfa: Partial<MfaPolicy>, endSessions = false) {
  const current = await portalStub(env, portal).getPolicy();
  // A grace period from an earlier test in the file never leaks into the next: it is set only on purpose.
  await writePortalPolicy(portal, { mfa: { ...current.mfa, graceDays: 0, graceUntil: null, ...mfa } }, endSessions);
}

/** The code an authenticator app shows for a manual key, at a time step offset from now. */
export function totpCode(manualKey: string, now: number, stepOffset = 0): string {
  const key = decodeBase32IgnorePadding(manualKey.replace(/\s/g, ""));
  return generateHOTP(key, BigInt(timeStep(now) + stepOffset), 6);
}

/** The newest one-time password mailed to an address, read from the development mailbox. */
export async function latestEmailCode(to: string): Promise<string> {
  const mail = await db().select().from(devMailbox).where(eq(devMailbox.to, to)).orderBy(desc(devMailbox.id)).get();
  expect(mail, `no mail to ${to}`).toBeTruthy();
  return /\b(\d{6})\b/.exec(mail!.body)![1]!;
}

export async function mailCount(to: string): Promise<number> {
  return (await db().select().from(devMailbox).where(eq(devMailbox.to, to))).length;
}

/** The text a person reads in the element with this data-testid (a key to type, a count). */
export function extract(html: string, testId: string): string {
  const text = textOf(html, `[data-testid="${testId}"]`);
  expect(text, `no element with data-testid="${testId}"`).not.toBeNull();
  return text!;
}

/** The recovery codes a page lists, one to an item, each as the code a person copies. */
export function recoveryCodesIn(html: string): string[] {
  const codes = listItems(html, '[data-testid="recovery-codes"]');
  expect(findAll(html, '[data-testid="recovery-codes"] > li > code').map(textIn), "each item is one code, set as code").toEqual(codes);
  return codes;
}

export async function postPassword(client: Browser, portal: Portal, user: { email: string; password: string }) {
  const response = await client.post(`/${portal}/login`, { email: user.email, password: user.password });
  await response.text();
  return response;
}

/** Sign in with a password and enroll the authenticator app through the pages; returns the key and codes. */
export async function enrollThroughPages(client: Browser, portal: Portal, user: { email: string; password: string }, clock: FakeClock) {
  const login = await postPassword(client, portal, user);
  expect(login.headers.get("Location")).toBe(`/${portal}/login/enroll`);
  const page = await (await client.get(`/${portal}/login/enroll`)).text();
  const manualKey = extract(page, "totp-secret");
  const verified = await client.post(`/${portal}/login/enroll`, { code: totpCode(manualKey, clock.now()) });
  await verified.text();
  expect(verified.headers.get("Location")).toBe(`/${portal}/login/recovery-codes`);
  const codesPage = await (await client.get(`/${portal}/login/recovery-codes`)).text();
  const recoveryCodes = recoveryCodesIn(codesPage);
  const finish = await client.post(`/${portal}/login/finish`);
  await finish.text();
  expect(finish.headers.get("Location")).toBe(`/${portal}`);
  return { manualKey, recoveryCodes, cookie: client.cookie(sessionCookieName(portal))! };
}
