import { describe, expect, it } from "vitest";
import {
  DUMMY_PASSWORD_HASH,
  SCRYPT_PARAMS,
  WORKERS_SCRYPT_CAP,
  hashPassword,
  passwordNeedsRehash,
  verifyPassword,
} from "../../src/auth/password";

describe("password hashing inside Workers' production limits", () => {
  // Local workerd enforces neither cap, so only this test stands between us and a production failure.
  it("uses scrypt parameters within N*r*p <= 2^20 and 128 MiB of memory", () => {
    expect(SCRYPT_PARAMS.N * SCRYPT_PARAMS.r * SCRYPT_PARAMS.p).toBeLessThanOrEqual(WORKERS_SCRYPT_CAP);
    expect(WORKERS_SCRYPT_CAP).toBe(2 ** 20);
    expect(128 * SCRYPT_PARAMS.N * SCRYPT_PARAMS.r).toBeLessThanOrEqual(64 * 1024 * 1024);
    // And at least OWASP's cost for scrypt (N=2^14, r=8, p=5 or equivalent).
    expect(SCRYPT_PARAMS.N * SCRYPT_PARAMS.r * SCRYPT_PARAMS.p).toBeGreaterThanOrEqual(2 ** 14 * 8 * 5);
  });

  it("writes a versioned hash that verifies the right password only", async () => {
    const hash = await hashPassword("pässwörd 🔑 with spaces");
    expect(hash).toMatch(/^scrypt\$v=1\$N=16384\$r=8\$p=5\$[A-Za-z0-9+/=]{24}\$[A-Za-z0-9+/=]{44}$/);
    expect(await verifyPassword(hash, "pässwörd 🔑 with spaces")).toBe(true);
    expect(await verifyPassword(hash, "pässwörd 🔑 with space")).toBe(false);
    expect(await hashPassword("same")).not.toBe(await hashPassword("same"));
  });

  it("never truncates: a 200-character password differs from its 199-character prefix", async () => {
    const long = "ä".repeat(199) + "!";
    const hash = await hashPassword(long);
    expect(await verifyPassword(hash, long)).toBe(true);
    expect(await verifyPassword(hash, long.slice(0, 199))).toBe(false);
  });

  it("asks for a rehash when the parameters change, and refuses parameters over the cap", async () => {
    const old = await hashPassword("hello world", { N: 2 ** 10, r: 8, p: 1 });
    expect(await verifyPassword(old, "hello world")).toBe(true);
    expect(passwordNeedsRehash(old)).toBe(true);
    expect(passwordNeedsRehash(await hashPassword("hello world"))).toBe(false);
    const overCap = old.replace("N=1024", "N=4194304");
    expect(await verifyPassword(overCap, "hello world")).toBe(false);
    expect(await verifyPassword("pbkdf2$whatever", "hello world")).toBe(false);
  });

  it("keeps the dummy hash (used for unknown emails) at today's parameters", () => {
    expect(passwordNeedsRehash(DUMMY_PASSWORD_HASH)).toBe(false);
  });
});
