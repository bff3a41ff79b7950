import { decodeBase64, encodeBase64, encodeHexLowerCase } from "@oslojs/encoding";
import { constantTimeEqual } from "./crypto";

/** Thrown when a secret is missing or malformed: names the secret and says how to make one. */
export class SecretConfigurationError extends Error {}

export function secretBytes(name: string, value: string | undefined): Uint8Array {
  let bytes: Uint8Array | undefined;
  try {
    bytes = value ? decodeBase64(value.trim()) : undefined;
  } catch {
    bytes = undefined;
  }
  if (!bytes || bytes.length < 32) {
    throw new SecretConfigurationError(
      `The secret ${name} is missing or malformed: it must be at least 32 random bytes, base64-encoded. ` +
        `Set it with \`wrangler secret put ${name}\` (locally in .dev.vars).`,
    );
  }
  return bytes;
}

/**
 * Keys can be rotated. The secret in use and, during a rotation, the one before it
 * (`ENCRYPTION_KEY_PREVIOUS`, `HMAC_KEY_PREVIOUS`). Each key has an id derived from it (8 hex
 * digits of a SHA-256 over it, which says nothing about the key), written into every ciphertext
 * and MAC, so a value is checked with the key that made it.
 */
interface RingKey {
  id: string;
  key: CryptoKey;
}
interface Keyring {
  current: RingKey;
  previous: RingKey | null;
}

const rings = new Map<string, Promise<Keyring>>();

async function keyId(bytes: Uint8Array): Promise<string> {
  const digest = new Uint8Array(
    await crypto.subtle.digest("SHA-256", new Uint8Array([...new TextEncoder().encode("edgedesk key id\n"), ...bytes])),
  );
  return encodeHexLowerCase(digest.slice(0, 4));
}

function keyring(name: "ENCRYPTION_KEY" | "HMAC_KEY", current: string | undefined, previous: string | undefined): Promise<Keyring> {
  const cacheKey = `${name}\n${current}\n${previous ?? ""}`;
  if (!rings.has(cacheKey)) {
    const load = async (secret: string, value: string | undefined): Promise<RingKey> => {
      const bytes = secretBytes(secret, value);
      const key =
        name === "ENCRYPTION_KEY"
          ? await crypto.subtle.importKey("raw", bytes.slice(0, 32), "AES-GCM", false, ["encrypt", "decrypt"])
          : await crypto.subtle.importKey("raw", bytes, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
      return { id: await keyId(bytes), key };
    };
    const ring = (async () => ({
      current: await load(name, current),
      previous: previous?.trim() ? await load(`${name}_PREVIOUS`, previous) : null,
    }))();
    // A malformed secret is not cached: fixing it takes effect without a new isolate.
    ring.catch(() => rings.delete(cacheKey));
    rings.set(cacheKey, ring);
  }
  return rings.get(cacheKey)!;
}

const aesRing = (env: Env) => keyring("ENCRYPTION_KEY", env.ENCRYPTION_KEY, env.ENCRYPTION_KEY_PREVIOUS);
const hmacRing = (env: Env) => keyring("HMAC_KEY", env.HMAC_KEY, env.HMAC_KEY_PREVIOUS);

/** The keys that may have made a value: the one its id names, or (no id: written before rotation existed) any. */
function candidates(ring: Keyring, id: string | null): RingKey[] {
  const all = ring.previous ? [ring.current, ring.previous] : [ring.current];
  return id === null ? all : all.filter((k) => k.id === id);
}

export class RetiredKeyError extends Error {}

const SEALED = /^v2\.([0-9a-f]{8})\.([A-Za-z0-9+/=]+)$/;

/**
 * AES-256-GCM with the owner's user id as associated data (SECURITY.md 8, 10): a ciphertext
 * copied into another user's row fails to decrypt. Output: `v2.<key id>.base64(iv || ciphertext+tag)`.
 */
export async function encryptForUser(env: Env, userId: string, plaintext: string): Promise<string> {
  const { current } = await aesRing(env);
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const sealed = await crypto.subtle.encrypt(
    { name: "AES-GCM", iv, additionalData: new TextEncoder().encode(userId) },
    current.key,
    new TextEncoder().encode(plaintext),
  );
  const out = new Uint8Array(12 + sealed.byteLength);
  out.set(iv);
  out.set(new Uint8Array(sealed), 12);
  return `v2.${current.id}.${encodeBase64(out)}`;
}

export async function decryptForUser(env: Env, userId: string, ciphertext: string): Promise<string> {
  const match = SEALED.exec(ciphertext);
  const keys = candidates(await aesRing(env), match ? match[1]! : null);
  if (keys.length === 0)
    throw new RetiredKeyError(
      `A secret was encrypted with key ${match![1]}, which is neither ENCRYPTION_KEY nor ENCRYPTION_KEY_PREVIOUS: put that key back as ` +
        `ENCRYPTION_KEY_PREVIOUS (docs/CONFIGURATION.md, "Key rotation").`,
    );
  const bytes = decodeBase64(match ? match[2]! : ciphertext);
  let failure: unknown;
  for (const { key } of keys) {
    try {
      const plain = await crypto.subtle.decrypt(
        { name: "AES-GCM", iv: bytes.slice(0, 12), additionalData: new TextEncoder().encode(userId) },
        key,
        bytes.slice(12),
      );
      return new TextDecoder().decode(plain);
    } catch (error) {
      failure = error;
    }
  }
  throw failure;
}

/** True when a ciphertext was made with the key in use now; otherwise it is re-encrypted when next used. */
async function sealedWithCurrentKey(env: Env, ciphertext: string): Promise<boolean> {
  return SEALED.exec(ciphertext)?.[1] === (await aesRing(env)).current.id;
}

/** The same secret under the key in use now, or null when it already is. */
export async function resealed(env: Env, userId: string, ciphertext: string): Promise<string | null> {
  if (await sealedWithCurrentKey(env, ciphertext)) return null;
  return encryptForUser(env, userId, await decryptForUser(env, userId, ciphertext));
}

/** The prefix every ciphertext made with the key in use now starts with (for finding the others in SQL). */
export async function currentSealPrefix(env: Env): Promise<string> {
  return `v2.${(await aesRing(env)).current.id}.`;
}

async function hmacWith(key: CryptoKey, message: string): Promise<string> {
  return encodeHexLowerCase(new Uint8Array(await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(message))));
}

/**
 * HMAC-SHA-256 under HMAC_KEY, as `<key id>.<hex>`: how one-time passwords and password history
 * are stored without storing them.
 */
export async function hmacHex(env: Env, message: string): Promise<string> {
  const { current } = await hmacRing(env);
  return `${current.id}.${await hmacWith(current.key, message)}`;
}

/** Whether `mac` is the MAC of `message` under the key it names (or, for one without an id, under any key held). */
export async function hmacMatches(env: Env, message: string, mac: string): Promise<boolean> {
  const tagged = /^([0-9a-f]{8})\.([0-9a-f]{64})$/.exec(mac);
  const expected = tagged ? tagged[2]! : mac;
  for (const { key } of candidates(await hmacRing(env), tagged ? tagged[1]! : null)) {
    if (constantTimeEqual(new TextEncoder().encode(await hmacWith(key, message)), new TextEncoder().encode(expected))) return true;
  }
  return false;
}

const checkedSecrets = new Set<string>();

/**
 * The secrets every request may need, checked before anything else runs (once per value per
 * isolate): a missing or malformed one stops the app with an error naming it, instead of
 * failing deep inside a sign-in.
 */
export function assertSecrets(env: Env): void {
  for (const name of ["ENCRYPTION_KEY", "HMAC_KEY", "ENCRYPTION_KEY_PREVIOUS", "HMAC_KEY_PREVIOUS"] as const) {
    const value = env[name];
    // The previous keys are optional: checked only when set.
    if (name.endsWith("_PREVIOUS") && !value?.trim()) continue;
    if (checkedSecrets.has(`${name}=${value}`)) continue;
    secretBytes(name, value);
    checkedSecrets.add(`${name}=${value}`);
  }
}
