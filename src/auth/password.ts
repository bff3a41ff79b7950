import { decodeBase64, encodeBase64 } from "@oslojs/encoding";
import { scrypt } from "node:crypto";
import { constantTimeEqual, randomBytes } from "../lib/crypto";

// SECURITY.md "Platform facts": Workers caps scrypt at N*r*p <= 2^20 and PBKDF2 at 100,000
// iterations in production, while local workerd enforces neither; test/auth/password.test.ts
// asserts these parameters stay inside the caps. N=2^14, r=8, p=5 is one of OWASP's settings.
export const SCRYPT_PARAMS = { N: 2 ** 14, r: 8, p: 5 } as const;
export const WORKERS_SCRYPT_CAP = 2 ** 20;
const KEY_LENGTH = 32;
const SALT_LENGTH = 16;
const VERSION = 1;

interface ScryptParams {
  N: number;
  r: number;
  p: number;
}

function derive(password: string, salt: Uint8Array, params: ScryptParams): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    // No normalisation or truncation: every code point of the password counts (SECURITY.md 19).
    scrypt(password.normalize("NFC"), salt, KEY_LENGTH, { ...params, maxmem: 256 * params.N * params.r + 1024 }, (err, key) =>
      err ? reject(err) : resolve(new Uint8Array(key)),
    );
  });
}

/** Hash as `scrypt$v=1$N=..$r=..$p=..$salt$hash`, so parameters can change and old hashes still verify. */
export async function hashPassword(password: string, params: ScryptParams = SCRYPT_PARAMS): Promise<string> {
  const salt = randomBytes(SALT_LENGTH);
  const key = await derive(password, salt, params);
  return `scrypt$v=${VERSION}$N=${params.N}$r=${params.r}$p=${params.p}$${encodeBase64(salt)}$${encodeBase64(key)}`;
}

interface ParsedHash extends ScryptParams {
  salt: Uint8Array;
  key: Uint8Array;
}

function parseHash(stored: string): ParsedHash | null {
  const match = /^scrypt\$v=1\$N=(\d+)\$r=(\d+)\$p=(\d+)\$([A-Za-z0-9+/=]+)\$([A-Za-z0-9+/=]+)$/.exec(stored);
  if (!match) return null;
  const [, N, r, p, salt, key] = match as unknown as [string, string, string, string, string, string];
  const params = { N: Number(N), r: Number(r), p: Number(p) };
  if (params.N * params.r * params.p > WORKERS_SCRYPT_CAP) return null;
  return { ...params, salt: decodeBase64(salt), key: decodeBase64(key) };
}

export async function verifyPassword(stored: string, password: string): Promise<boolean> {
  const parsed = parseHash(stored);
  if (!parsed) return false;
  const key = await derive(password, parsed.salt, parsed);
  return constantTimeEqual(key, parsed.key);
}

/** True when a hash was made with other parameters than today's: rehash it after a successful sign-in. */
export function passwordNeedsRehash(stored: string): boolean {
  const parsed = parseHash(stored);
  return !parsed || parsed.N !== SCRYPT_PARAMS.N || parsed.r !== SCRYPT_PARAMS.r || parsed.p !== SCRYPT_PARAMS.p;
}

// Verifying against this keeps an unknown email as slow as a wrong password (SECURITY.md 22).
// A hash of a random password nobody knows, made with SCRYPT_PARAMS (a test checks they match).
export const DUMMY_PASSWORD_HASH =
  "scrypt$v=1$N=16384$r=8$p=5$UelsXk0i75iQTHa5DGZizA==$Ra/NXBFK4slGO8dfAqD3SexHs28vASr4EmspdtQVTZI=";

export async function verifyAgainstDummyHash(password: string): Promise<false> {
  await verifyPassword(DUMMY_PASSWORD_HASH, password);
  return false;
}
