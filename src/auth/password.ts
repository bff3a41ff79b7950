import { decodeBase64, encodeBase64 } from "@oslojs/encoding";
import { scrypt } from "node:crypto";
import { constantTimeEqual, randomBytes } from "../lib/crypto";

export interface ScryptParams {
  N: number;
  r: number;
  p: number;
}

// SECURITY.md "Platform facts": Workers caps scrypt at N*r*p <= 2^20 and PBKDF2 at 100,000
// iterations in production, while local workerd enforces neither; test/auth/password.test.ts
// asserts these parameters stay inside the caps. N=2^14, r=8, p=5 is one of OWASP's settings.
export const SCRYPT_PARAMS: ScryptParams = { N: 2 ** 14, r: 8, p: 5 };
export const WORKERS_SCRYPT_CAP = 2 ** 20;
/** The least work (N·r·p) a production deployment accepts: OWASP's setting above. */
export const PRODUCTION_SCRYPT_FLOOR = SCRYPT_PARAMS.N * SCRYPT_PARAMS.r * SCRYPT_PARAMS.p;
const KEY_LENGTH = 32;
const SALT_LENGTH = 16;
const VERSION = 1;

/** Thrown when PASSWORD_HASH_PARAMS is malformed, over Workers' cap, or (outside development) under the floor. */
export class PasswordHashConfigurationError extends Error {}

/**
 * The scrypt parameters new hashes use. `PASSWORD_HASH_PARAMS` ("N=1024,r=1,p=1") lets tests and
 * development hash cheaply; any other environment refuses parameters below the production floor,
 * so a deployment cannot be weakened by a stray variable. Unset: SCRYPT_PARAMS.
 */
export function scryptParamsFor(env: { ENVIRONMENT?: string; PASSWORD_HASH_PARAMS?: string }): ScryptParams {
  const setting = env.PASSWORD_HASH_PARAMS?.trim();
  if (!setting) return SCRYPT_PARAMS;
  const cached = paramsBySetting.get(`${env.ENVIRONMENT}|${setting}`);
  if (cached) return cached;
  const match = /^N=(\d+),\s*r=(\d+),\s*p=(\d+)$/.exec(setting);
  const params = match ? { N: Number(match[1]), r: Number(match[2]), p: Number(match[3]) } : null;
  if (!params || params.N < 2 || (params.N & (params.N - 1)) !== 0 || params.r < 1 || params.p < 1) {
    throw new PasswordHashConfigurationError(
      `The setting PASSWORD_HASH_PARAMS is malformed: write it as "N=16384,r=8,p=5" (N a power of two), or leave it unset.`,
    );
  }
  const work = params.N * params.r * params.p;
  if (work > WORKERS_SCRYPT_CAP) {
    throw new PasswordHashConfigurationError(
      `The setting PASSWORD_HASH_PARAMS asks for N·r·p = ${work}, over Workers' cap of ${WORKERS_SCRYPT_CAP}.`,
    );
  }
  if (env.ENVIRONMENT !== "development" && work < PRODUCTION_SCRYPT_FLOOR) {
    throw new PasswordHashConfigurationError(
      `The setting PASSWORD_HASH_PARAMS asks for N·r·p = ${work}, below the production floor of ${PRODUCTION_SCRYPT_FLOOR}: only development may hash passwords cheaply. Remove it.`,
    );
  }
  paramsBySetting.set(`${env.ENVIRONMENT}|${setting}`, params);
  return params;
}
const paramsBySetting = new Map<string, ScryptParams>();

function derive(password: string, salt: Uint8Array, params: ScryptParams): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    // No normalisation or truncation: every code point of the password counts (SECURITY.md 19).
    scrypt(password.normalize("NFC"), salt, KEY_LENGTH, { ...params, maxmem: 256 * params.N * params.r + 1024 }, (err, key) =>
      err ? reject(err) : resolve(new Uint8Array(key)),
    );
  });
}

/** Hash as `scrypt$v=1$N=..$r=..$p=..$salt$hash`, so parameters can change and old hashes still verify. */
export async function hashPassword(password: string, params: ScryptParams): Promise<string> {
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

/** True when a hash was made with other parameters than `params`: rehash it after a successful sign-in. */
export function passwordNeedsRehash(stored: string, params: ScryptParams): boolean {
  const parsed = parseHash(stored);
  return !parsed || parsed.N !== params.N || parsed.r !== params.r || parsed.p !== params.p;
}

// Verifying against this keeps an unknown email as slow as a wrong password (SECURITY.md 22).
// A hash of a random password nobody knows, made with SCRYPT_PARAMS (a test checks they match).
export const DUMMY_PASSWORD_HASH = "scrypt$v=1$N=16384$r=8$p=5$UelsXk0i75iQTHa5DGZizA==$Ra/NXBFK4slGO8dfAqD3SexHs28vASr4EmspdtQVTZI=";
const dummyHashes = new Map<string, Promise<string>>();

/** The dummy hash at `params`, so an unknown email costs what a real account's hash costs. */
export function dummyPasswordHash(params: ScryptParams): Promise<string> {
  if (!passwordNeedsRehash(DUMMY_PASSWORD_HASH, params)) return Promise.resolve(DUMMY_PASSWORD_HASH);
  const key = `${params.N},${params.r},${params.p}`;
  if (!dummyHashes.has(key)) dummyHashes.set(key, hashPassword(encodeBase64(randomBytes(24)), params));
  return dummyHashes.get(key)!;
}

export async function verifyAgainstDummyHash(password: string, params: ScryptParams): Promise<false> {
  await verifyPassword(await dummyPasswordHash(params), password);
  return false;
}
