import { encodeBase32LowerCaseNoPadding, encodeHexLowerCase } from "@oslojs/encoding";
import { timingSafeEqual } from "node:crypto";

export function randomBytes(length: number): Uint8Array {
  return crypto.getRandomValues(new Uint8Array(length));
}

// 20 random bytes = 160 bits, above ASVS's 128-bit minimum for session tokens.
export function randomToken(bytes = 20): string {
  return encodeBase32LowerCaseNoPadding(randomBytes(bytes));
}

// Public identifiers for rows: random, so they reveal neither counts nor order.
export function newId(prefix: string): string {
  return `${prefix}_${encodeBase32LowerCaseNoPadding(randomBytes(10))}`;
}

export async function sha256Hex(value: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(value));
  return encodeHexLowerCase(new Uint8Array(digest));
}

export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}
