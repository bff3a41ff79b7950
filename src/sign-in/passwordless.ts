// Sign in with a passkey alone. Where the portal allows it ("Passkeys can sign in
// without a password", with Passkeys on and password sign-in offered), a discoverable passkey
// that verifies the person (user verification required) counts as both factors. The challenge
// exists before anyone is known, so it travels signed in the browser's attempt cookie, and its use
// is recorded in D1: single-use and 5 minutes.
import { type AuthenticationResponseJSON, generateAuthenticationOptions } from "@simplewebauthn/server";
import { eq } from "drizzle-orm";
import type { Db } from "../db";
import { passkeyChallenges, passkeys, type User, users } from "../db/schema";
import { MINUTE } from "../lib/clock";
import { sha256Hex } from "../lib/crypto";
import { hmacHex, hmacMatches } from "../lib/encryption";
import { isoBase64URL } from "@simplewebauthn/server/helpers";
import { kindOfPortal, type Portal, type PortalPolicy } from "../portal/policy";
import { checkAssertion, type RelyingParty, relyingParty } from "../factors/passkeys";
import { signInWays } from "./ways";

export const ATTEMPT_LIFETIME_MS = 5 * MINUTE;
export const NOT_REGISTERED = "That passkey is not registered for this portal. Sign in with your email and password.";

/** The relying party when this portal lets a passkey sign in alone (signInWays); null when it does not. */
export function passwordlessRp(env: Env, policy: PortalPolicy): RelyingParty | null {
  return signInWays(env, policy).passkey ? relyingParty(env) : null;
}

const challengeMessage = (portal: Portal, challenge: string, expiresAt: number) =>
  `edgedesk passkey sign-in\n${portal}\n${challenge}\n${expiresAt}`;

/**
 * Options for navigator.credentials.get() with no account named, and the attempt's cookie: the
 * challenge and its expiry with an HMAC (HMAC_KEY). SECURITY.md 44: nothing is stored until an
 * answer comes back (the sign-in page asks on every view, for autofill), so a stranger calling
 * this in a loop grows no table.
 */
export async function startPasskeySignIn(env: Env, rp: RelyingParty, portal: Portal, now: number) {
  const options = await generateAuthenticationOptions({ rpID: rp.id, allowCredentials: [], userVerification: "required" });
  const expiresAt = now + ATTEMPT_LIFETIME_MS;
  const token = `${options.challenge}.${expiresAt}.${await hmacHex(env, challengeMessage(portal, options.challenge, expiresAt))}`;
  return { token, options };
}

/**
 * The attempt's challenge, taken once: its use is recorded (a row keyed by the challenge's hash,
 * until it would have expired), so of two answers to one challenge exactly one gets it. Only
 * answers come here, each already counted against its source.
 */
async function takeChallenge(env: Env, db: Db, portal: Portal, token: string | undefined, now: number): Promise<string | null> {
  const match = token && /^([A-Za-z0-9_-]{16,128})\.(\d{13})\.([0-9a-f]{8}\.[0-9a-f]{64})$/.exec(token);
  if (!match) return null;
  const [, challenge, expiry, mac] = match as unknown as [string, string, string, string];
  const expiresAt = Number(expiry);
  if (expiresAt <= now || !(await hmacMatches(env, challengeMessage(portal, challenge, expiresAt), mac))) return null;
  const taken = await db
    .insert(passkeyChallenges)
    .values({ id: await sha256Hex(challenge), portal, challenge, createdAt: now, expiresAt, usedAt: now })
    .onConflictDoNothing()
    .returning({ challenge: passkeyChallenges.challenge });
  return taken[0]?.challenge ?? null;
}

export type PasskeyHolder =
  | { ok: true; challenge: string; user: User; passkey: typeof passkeys.$inferSelect }
  | { ok: false; message: string };

export type PasskeyOwner = { user: User; passkey: typeof passkeys.$inferSelect } | null;

/**
 * Whose passkey the answer names, read only: registered to a person of this portal, and the same
 * person the authenticator names, if it names one. Null for a passkey nobody here registered.
 */
export async function passkeyOwner(db: Db, portal: Portal, response: AuthenticationResponseJSON): Promise<PasskeyOwner> {
  const found =
    typeof response?.id === "string"
      ? await db
          .select({ passkey: passkeys, user: users })
          .from(passkeys)
          .innerJoin(users, eq(users.id, passkeys.userId))
          .where(eq(passkeys.id, response.id))
          .get()
      : undefined;
  // A passkey of the other portal's people is not one of this portal's.
  if (!found || found.user.kind !== kindOfPortal(portal)) return null;
  // The authenticator names the account it holds the passkey for; it must be the same person.
  const handle = response.response?.userHandle;
  if (handle !== undefined && handle !== null && handle !== encodeUserHandle(found.user.id)) return null;
  return found;
}

/**
 * The attempt behind the cookie, for the passkey's owner: the owner must exist (a passkey nobody
 * here registered takes no challenge, so stores nothing), then the challenge is taken (single
 * use). The signature is not checked yet: the caller counts the attempt against that person
 * first (finishPasskeySignIn).
 */
export async function findPasskeyHolder(
  env: Env,
  db: Db,
  portal: Portal,
  token: string | undefined,
  owner: PasskeyOwner,
  now: number,
): Promise<PasskeyHolder> {
  if (!owner) return { ok: false, message: NOT_REGISTERED };
  const challenge = await takeChallenge(env, db, portal, token, now);
  if (!challenge) return { ok: false, message: "That passkey request expired or was already used. Try again." };
  return { ok: true, challenge, user: owner.user, passkey: owner.passkey };
}

/** The user handle registration gave the authenticator (the user id's UTF-8 bytes), as base64url. */
const encodeUserHandle = (userId: string) => isoBase64URL.fromUTF8String(userId);

/** The signature, with the person verified by the authenticator (PIN or biometrics), and the counter moved on. */
export async function finishPasskeySignIn(
  db: Db,
  rp: RelyingParty,
  holder: Extract<PasskeyHolder, { ok: true }>,
  response: AuthenticationResponseJSON,
  now: number,
) {
  return checkAssertion(db, rp, holder.passkey, holder.challenge, response, now, { requireUserVerification: true });
}
