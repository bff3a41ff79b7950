import { decodeBase32IgnorePadding, encodeBase32UpperCaseNoPadding } from "@oslojs/encoding";
import { verifyHOTP } from "@oslojs/otp";
import { and, eq, isNotNull, isNull, lt, or } from "drizzle-orm";
import QRCode from "qrcode-svg";
import { type AuditRecord, auditAfterOneChange } from "../audit/events";
import type { Db } from "../db";
import { totpCredentials } from "../db/schema";
import { decryptForUser, encryptForUser, resealed } from "../lib/encryption";
import { randomBytes } from "../lib/crypto";

export const TOTP_PERIOD_SECONDS = 30;
export const TOTP_DIGITS = 6;

export function timeStep(now: number): number {
  return Math.floor(now / 1000 / TOTP_PERIOD_SECONDS);
}

/**
 * The step a code matches, trying T-1, T and T+1 (RFC 6238 allows for clock drift, one step
 * each way); null when none. verifyHOTP with explicit counters, not verifyTOTP, so the clock is
 * ours and the matched step is known (SECURITY.md 7).
 */
export function matchingStep(key: Uint8Array, code: string, now: number): number | null {
  if (!/^\d{6}$/.test(code)) return null;
  const current = timeStep(now);
  for (const step of [current - 1, current, current + 1]) {
    if (verifyHOTP(key, BigInt(step), TOTP_DIGITS, code)) return step;
  }
  return null;
}

/** "JBSW Y3DP EHPK 3PXP …": the manual key, in groups of four for reading aloud or typing. */
export function formatManualKey(key: Uint8Array): string {
  return encodeBase32UpperCaseNoPadding(key)
    .match(/.{1,4}/g)!
    .join(" ");
}

/**
 * The otpauth:// URI of Google's Key URI Format. Built here rather than with @oslojs/otp's
 * createTOTPKeyURI, which writes the query with URLSearchParams: a space in the issuer becomes
 * "+", which apps decoding per RFC 3986 show literally ("RTX+Solutions"). Every part is
 * percent-encoded (a space is %20).
 */
export function keyUri(issuer: string, accountName: string, key: Uint8Array): string {
  const params = {
    issuer,
    algorithm: "SHA1",
    secret: encodeBase32UpperCaseNoPadding(key),
    period: String(TOTP_PERIOD_SECONDS),
    digits: String(TOTP_DIGITS),
  };
  const query = Object.entries(params)
    .map(([k, v]) => `${k}=${encodeURIComponent(v)}`)
    .join("&");
  return `otpauth://totp/${encodeURIComponent(issuer)}:${encodeURIComponent(accountName)}?${query}`;
}

/**
 * The QR code as an SVG made here on the server (SECURITY.md 8: no third-party QR service).
 * qrcode-svg writes `style="fill:…"` attributes, which our CSP (no inline styles) blocks and
 * which would leave a black square; they become SVG presentation attributes instead.
 */
export function qrSvg(uri: string): string {
  const svg = new QRCode({ content: uri, padding: 2, width: 220, height: 220, ecl: "M", join: true, container: "svg-viewbox" }).svg();
  return svg
    .replace(/^<\?xml[^>]*>\s*/, "")
    .replace(/style="fill:(#[0-9a-fA-F]{6});shape-rendering:crispEdges;"/g, 'fill="$1" shape-rendering="crispEdges"');
}

async function loadKey(env: Env, userId: string, encrypted: string): Promise<Uint8Array> {
  return decodeBase32IgnorePadding(await decryptForUser(env, userId, encrypted));
}

export async function findAuthenticator(db: Db, userId: string) {
  return (await db.select().from(totpCredentials).where(eq(totpCredentials.userId, userId)).get()) ?? null;
}

export async function hasConfirmedAuthenticator(db: Db, userId: string): Promise<boolean> {
  return (await findAuthenticator(db, userId))?.confirmedAt != null;
}

/**
 * The key being enrolled: the same one on every visit until it is confirmed, so a QR code that
 * was scanned before a reload still works. 160 random bits (RFC 4226's recommended length).
 */
export async function pendingEnrollmentKey(env: Env, db: Db, userId: string, now: number): Promise<Uint8Array> {
  const existing = await findAuthenticator(db, userId);
  if (existing && existing.confirmedAt == null) return loadKey(env, userId, existing.secretEncrypted);
  const key = randomBytes(20);
  const secretEncrypted = await encryptForUser(env, userId, encodeBase32UpperCaseNoPadding(key));
  // Only when no authenticator exists yet: a confirmed one is never replaced from here.
  await db.insert(totpCredentials).values({ userId, secretEncrypted, createdAt: now }).onConflictDoNothing();
  const stored = await findAuthenticator(db, userId);
  return loadKey(env, userId, stored!.secretEncrypted);
}

/**
 * Accept a code once. The matched step is written with a compare-and-swap, so of several
 * requests with the same code exactly one wins, and the step that confirmed enrollment can
 * never be used again to sign in (SECURITY.md 5, 6).
 */
async function consumeStep(
  env: Env,
  db: Db,
  userId: string,
  code: string,
  now: number,
  confirming: boolean,
  audit?: AuditRecord,
): Promise<boolean> {
  const credential = await findAuthenticator(db, userId);
  if (!credential || (credential.confirmedAt == null) !== confirming) return false;
  const step = matchingStep(await loadKey(env, userId, credential.secretEncrypted), code, now);
  if (step === null) return false;
  const update = db
    .update(totpCredentials)
    .set({ lastUsedStep: step, ...(confirming ? { confirmedAt: now } : {}) })
    .where(
      and(
        eq(totpCredentials.userId, userId),
        confirming ? isNull(totpCredentials.confirmedAt) : isNotNull(totpCredentials.confirmedAt),
        or(isNull(totpCredentials.lastUsedStep), lt(totpCredentials.lastUsedStep, step)),
      ),
    );
  // The audit entry rides in the step's own batch, stored only where the step was taken.
  const [result] = audit ? await db.batch([update, auditAfterOneChange(db, audit)]) : [await update];
  if (result.meta.changes !== 1) return false;
  await resealSecret(env, db, userId, credential.secretEncrypted);
  return true;
}

/**
 * A secret encrypted with a key being rotated out is encrypted again with the new one
 * when used. Compare-and-swap on the old ciphertext, so a concurrent change wins.
 */
export async function resealSecret(env: Env, db: Db, userId: string, secretEncrypted: string): Promise<boolean> {
  const fresh = await resealed(env, userId, secretEncrypted);
  if (!fresh) return false;
  const result = await db
    .update(totpCredentials)
    .set({ secretEncrypted: fresh })
    .where(and(eq(totpCredentials.userId, userId), eq(totpCredentials.secretEncrypted, secretEncrypted)));
  return result.meta.changes === 1;
}

/** The first code from a newly set-up app confirms it; `audit` is stored with the confirmation. */
export function confirmEnrollment(env: Env, db: Db, userId: string, code: string, now: number, audit: AuditRecord): Promise<boolean> {
  return consumeStep(env, db, userId, code, now, true, audit);
}

export function verifyAuthenticatorCode(env: Env, db: Db, userId: string, code: string, now: number): Promise<boolean> {
  return consumeStep(env, db, userId, code, now, false);
}

export async function removeAuthenticator(db: Db, userId: string): Promise<void> {
  await db.delete(totpCredentials).where(eq(totpCredentials.userId, userId));
}
