import {
  type AuthenticationResponseJSON,
  generateAuthenticationOptions,
  generateRegistrationOptions,
  type RegistrationResponseJSON,
  verifyAuthenticationResponse,
  verifyRegistrationResponse,
} from "@simplewebauthn/server";
import { isoBase64URL } from "@simplewebauthn/server/helpers";
import { and, asc, eq } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import { userStub } from "../auth/user-object";
import { type AuditRecord, auditAfterOneChange } from "../audit/events";
import type { Db } from "../db";
import { passkeys } from "../db/schema";

// Passkeys as a second factor, with @simplewebauthn/server: it parses and verifies
// the WebAuthn structures (CBOR, COSE keys, signatures, flags), which is exactly the code we
// should not write by hand. Challenges are single-use and live in the user's Durable Object.

const CHALLENGE_LIFETIME_MS = 5 * 60_000;

export interface RelyingParty {
  id: string;
  origins: string[];
}

/** The relying party from configuration (WEBAUTHN_RP_ID, WEBAUTHN_ORIGINS), or null when passkeys are not set up. */
export function relyingParty(env: Env): RelyingParty | null {
  const id = env.WEBAUTHN_RP_ID?.trim();
  const origins = (env.WEBAUTHN_ORIGINS ?? "")
    .split(",")
    .map((o) => o.trim())
    .filter(Boolean);
  return id && origins.length ? { id, origins } : null;
}

export async function listPasskeys(db: Db, userId: string) {
  return db.select().from(passkeys).where(eq(passkeys.userId, userId)).orderBy(asc(passkeys.createdAt));
}

export async function hasPasskey(db: Db, userId: string): Promise<boolean> {
  return (await db.select({ id: passkeys.id }).from(passkeys).where(eq(passkeys.userId, userId)).limit(1)).length > 0;
}

/**
 * Options to add a passkey. Where the portal lets passkeys sign in alone, the authenticator must
 * keep it discoverable (it is found without an email typed); credProps (on by default) reports
 * whether it did.
 */
export async function registrationOptions(
  env: Env,
  db: Db,
  rp: RelyingParty,
  user: { id: string; email: string; name: string },
  now: number,
  { discoverable }: { discoverable: boolean },
) {
  const existing = await listPasskeys(db, user.id);
  const options = await generateRegistrationOptions({
    rpName: "EdgeDesk",
    rpID: rp.id,
    userName: user.email,
    userDisplayName: user.name,
    userID: new Uint8Array(new TextEncoder().encode(user.id)),
    attestationType: "none",
    excludeCredentials: existing.map((p) => ({ id: p.id, transports: (p.transports ?? undefined) as never })),
    authenticatorSelection: { residentKey: discoverable ? "required" : "preferred", userVerification: "preferred" },
  });
  await userStub(env, user.id).putChallenge("register", options.challenge, now + CHALLENGE_LIFETIME_MS);
  return options;
}

export type PasskeyResult = { ok: true } | { ok: false; message: string };

export async function finishRegistration(
  env: Env,
  db: Db,
  rp: RelyingParty,
  userId: string,
  name: string,
  response: RegistrationResponseJSON,
  now: number,
  audit: AuditRecord,
): Promise<PasskeyResult> {
  const challenge = await userStub(env, userId).takeChallenge("register", now);
  if (!challenge) return { ok: false, message: "That passkey request expired. Try adding it again." };
  let verified: Awaited<ReturnType<typeof verifyRegistrationResponse>>;
  try {
    verified = await verifyRegistrationResponse({
      response,
      expectedChallenge: challenge,
      expectedOrigin: rp.origins,
      expectedRPID: rp.id,
      requireUserVerification: false,
    });
  } catch {
    return { ok: false, message: "The passkey could not be verified. Try again." };
  }
  if (!verified.verified || !verified.registrationInfo) return { ok: false, message: "The passkey could not be verified. Try again." };
  const { credential } = verified.registrationInfo;
  const insert = db
    .insert(passkeys)
    .values({
      id: credential.id,
      userId,
      name,
      publicKey: isoBase64URL.fromBuffer(credential.publicKey),
      counter: credential.counter,
      transports: credential.transports ?? null,
      createdAt: now,
      discoverable: discoverableOf(response),
    })
    .onConflictDoNothing()
    .returning({ id: passkeys.id });
  const [inserted] = await db.batch([insert, auditAfterOneChange(db, audit)]);
  return inserted.length ? { ok: true } : { ok: false, message: "That passkey is already registered." };
}

/** What the browser said of the new credential (credProps.rk); null when it did not say. */
function discoverableOf(response: RegistrationResponseJSON): boolean | null {
  const rk = (response.clientExtensionResults as { credProps?: { rk?: unknown } } | undefined)?.credProps?.rk;
  return typeof rk === "boolean" ? rk : null;
}

/** Options for the second step of one sign-in flow: only this person's passkeys are allowed. */
export async function authenticationOptions(env: Env, db: Db, rp: RelyingParty, userId: string, flowId: string, now: number) {
  const mine = await listPasskeys(db, userId);
  const options = await generateAuthenticationOptions({
    rpID: rp.id,
    allowCredentials: mine.map((p) => ({ id: p.id, transports: (p.transports ?? undefined) as never })),
    userVerification: "preferred",
  });
  await userStub(env, userId).putChallenge(`sign-in:${flowId}`, options.challenge, now + CHALLENGE_LIFETIME_MS);
  return options;
}

/**
 * Check an assertion for a sign-in flow. The challenge is taken (single use) before anything else,
 * the credential must be this person's, and the signature counter moves forward by
 * compare-and-swap, so a replayed or cloned assertion is refused.
 */
export async function finishAuthentication(
  env: Env,
  db: Db,
  rp: RelyingParty,
  userId: string,
  flowId: string,
  response: AuthenticationResponseJSON,
  now: number,
): Promise<PasskeyResult> {
  const challenge = await userStub(env, userId).takeChallenge(`sign-in:${flowId}`, now);
  if (!challenge) return { ok: false, message: "That passkey request expired or was already used. Try again." };
  const stored =
    typeof response?.id === "string"
      ? await db
          .select()
          .from(passkeys)
          .where(and(eq(passkeys.id, response.id), eq(passkeys.userId, userId)))
          .get()
      : undefined;
  if (!stored) return { ok: false, message: "That passkey is not registered to your account." };
  return checkAssertion(db, rp, stored, challenge, response, now, { requireUserVerification: false });
}

export const USER_NOT_VERIFIED =
  "This passkey did not check it is you (a PIN, fingerprint or face), which signing in without a password needs. Use a passkey that does, or sign in with your email and password.";

/**
 * The signature of a stored passkey over the challenge, from one of our origins, and (for a
 * passkey alone) with the person verified; then the signature counter moves forward
 * by compare-and-swap, so a replayed or cloned assertion is refused.
 */
export async function checkAssertion(
  db: Db,
  rp: RelyingParty,
  stored: typeof passkeys.$inferSelect,
  challenge: string,
  response: AuthenticationResponseJSON,
  now: number,
  { requireUserVerification }: { requireUserVerification: boolean },
): Promise<PasskeyResult> {
  let verified: Awaited<ReturnType<typeof verifyAuthenticationResponse>>;
  try {
    verified = await verifyAuthenticationResponse({
      response,
      expectedChallenge: challenge,
      expectedOrigin: rp.origins,
      expectedRPID: rp.id,
      credential: {
        id: stored.id,
        publicKey: isoBase64URL.toBuffer(stored.publicKey),
        counter: stored.counter,
        transports: (stored.transports ?? undefined) as never,
      },
      requireUserVerification,
    });
  } catch (error) {
    if (requireUserVerification && error instanceof Error && /user verification/i.test(error.message))
      return { ok: false, message: USER_NOT_VERIFIED };
    return { ok: false, message: "The passkey could not be verified. Try again." };
  }
  if (!verified.verified) return { ok: false, message: "The passkey could not be verified. Try again." };
  const moved = await db
    .update(passkeys)
    .set({ counter: verified.authenticationInfo.newCounter, lastUsedAt: now })
    .where(and(eq(passkeys.id, stored.id), eq(passkeys.counter, stored.counter)))
    .returning({ id: passkeys.id });
  return moved.length ? { ok: true } : { ok: false, message: "The passkey could not be verified. Try again." };
}

/**
 * Remove one of the person's passkeys, with what records it (its audit entry, a notice) in the
 * same batch: build those with AFTER_ONE_CHANGE, so they are stored only where one was removed.
 */
export async function removePasskey(
  db: Db,
  userId: string,
  id: string,
  records: readonly [BatchItem<"sqlite">, ...BatchItem<"sqlite">[]],
): Promise<boolean> {
  const remove = db
    .delete(passkeys)
    .where(and(eq(passkeys.id, id), eq(passkeys.userId, userId)))
    .returning({ id: passkeys.id });
  const [removed] = await db.batch([remove, ...records]);
  return removed.length > 0;
}
