import { decodeBase64, encodeBase64 } from "@oslojs/encoding";

const keys = new Map<string, Promise<CryptoKey>>();

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

function encryptionKey(env: Env): Promise<CryptoKey> {
  const raw = env.ENCRYPTION_KEY;
  if (!keys.has(raw)) {
    const bytes = secretBytes("ENCRYPTION_KEY", raw).slice(0, 32);
    keys.set(raw, crypto.subtle.importKey("raw", bytes, "AES-GCM", false, ["encrypt", "decrypt"]));
  }
  return keys.get(raw)!;
}

/**
 * AES-256-GCM with the owner's user id as associated data (SECURITY.md 8, 10): a ciphertext
 * copied into another user's row fails to decrypt. Output: base64(iv || ciphertext+tag).
 */
export async function encryptForUser(env: Env, userId: string, plaintext: string): Promise<string> {
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const sealed = await crypto.subtle.encrypt(
    { name: "AES-GCM", iv, additionalData: new TextEncoder().encode(userId) },
    await encryptionKey(env),
    new TextEncoder().encode(plaintext),
  );
  const out = new Uint8Array(12 + sealed.byteLength);
  out.set(iv);
  out.set(new Uint8Array(sealed), 12);
  return encodeBase64(out);
}

export async function decryptForUser(env: Env, userId: string, ciphertext: string): Promise<string> {
  const bytes = decodeBase64(ciphertext);
  const plain = await crypto.subtle.decrypt(
    { name: "AES-GCM", iv: bytes.slice(0, 12), additionalData: new TextEncoder().encode(userId) },
    await encryptionKey(env),
    bytes.slice(12),
  );
  return new TextDecoder().decode(plain);
}

const hmacKeys = new Map<string, Promise<CryptoKey>>();

/** HMAC-SHA-256 keyed by the HMAC_KEY secret, hex. Used to store one-time passwords without storing them. */
export async function hmacHex(env: Env, message: string): Promise<string> {
  const raw = env.HMAC_KEY;
  if (!hmacKeys.has(raw)) {
    hmacKeys.set(raw, crypto.subtle.importKey("raw", secretBytes("HMAC_KEY", raw), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]));
  }
  const mac = await crypto.subtle.sign("HMAC", await hmacKeys.get(raw)!, new TextEncoder().encode(message));
  return [...new Uint8Array(mac)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

const checkedSecrets = new Set<string>();

/**
 * The secrets every request may need, checked before anything else runs (once per value per
 * isolate): a missing or malformed one stops the app with an error naming it, instead of
 * failing deep inside a sign-in.
 */
export function assertSecrets(env: Env): void {
  for (const name of ["ENCRYPTION_KEY", "HMAC_KEY"] as const) {
    const value = env[name];
    if (checkedSecrets.has(`${name}=${value}`)) continue;
    secretBytes(name, value);
    checkedSecrets.add(`${name}=${value}`);
  }
}
