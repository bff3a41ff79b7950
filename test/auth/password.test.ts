import { env } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import {
  DUMMY_PASSWORD_HASH,
  dummyPasswordHash,
  hashPassword,
  PRODUCTION_SCRYPT_FLOOR,
  passwordNeedsRehash,
  SCRYPT_PARAMS,
  scryptParamsFor,
  verifyPassword,
  WORKERS_SCRYPT_CAP,
} from "../../src/auth/password";
import { users } from "../../src/db/schema";
import { browser, deployedEnv, text } from "../helpers/app";
import { signIn } from "../helpers/auth";
import { db, makeAgent } from "../helpers/factories";

const CHEAP = { N: 1024, r: 1, p: 1 };

describe("password hashing inside Workers' production limits", () => {
  // Local workerd enforces neither cap, so only this test stands between us and a production failure.
  it("uses scrypt parameters within N*r*p <= 2^20 and 128 MiB of memory", () => {
    expect(SCRYPT_PARAMS.N * SCRYPT_PARAMS.r * SCRYPT_PARAMS.p).toBeLessThanOrEqual(WORKERS_SCRYPT_CAP);
    expect(WORKERS_SCRYPT_CAP).toBe(2 ** 20);
    expect(128 * SCRYPT_PARAMS.N * SCRYPT_PARAMS.r).toBeLessThanOrEqual(64 * 1024 * 1024);
    // And at least OWASP's cost for scrypt (N=2^14, r=8, p=5 or equivalent).
    expect(SCRYPT_PARAMS.N * SCRYPT_PARAMS.r * SCRYPT_PARAMS.p).toBeGreaterThanOrEqual(2 ** 14 * 8 * 5);
    expect(PRODUCTION_SCRYPT_FLOOR).toBe(2 ** 14 * 8 * 5);
  });

  it("writes a versioned hash at production parameters that verifies the right password only", async () => {
    const hash = await hashPassword("pässwörd 🔑 with spaces", SCRYPT_PARAMS);
    expect(hash).toMatch(/^scrypt\$v=1\$N=16384\$r=8\$p=5\$[A-Za-z0-9+/=]{24}\$[A-Za-z0-9+/=]{44}$/);
    expect(await verifyPassword(hash, "pässwörd 🔑 with spaces")).toBe(true);
    expect(await verifyPassword(hash, "pässwörd 🔑 with space")).toBe(false);
    expect(await hashPassword("same", CHEAP)).not.toBe(await hashPassword("same", CHEAP));
  });

  it("never truncates: a 200-character password differs from its 199-character prefix", async () => {
    const long = `${"ä".repeat(199)}!`;
    const hash = await hashPassword(long, CHEAP);
    expect(await verifyPassword(hash, long)).toBe(true);
    expect(await verifyPassword(hash, long.slice(0, 199))).toBe(false);
  });

  it("asks for a rehash when the parameters change, and refuses parameters over the cap", async () => {
    const old = await hashPassword("hello world", { N: 2 ** 10, r: 8, p: 1 });
    expect(await verifyPassword(old, "hello world")).toBe(true);
    expect(passwordNeedsRehash(old, SCRYPT_PARAMS)).toBe(true);
    expect(passwordNeedsRehash(await hashPassword("hello world", SCRYPT_PARAMS), SCRYPT_PARAMS)).toBe(false);
    const overCap = old.replace("N=1024", "N=4194304");
    expect(await verifyPassword(overCap, "hello world")).toBe(false);
    expect(await verifyPassword("pbkdf2$whatever", "hello world")).toBe(false);
  });

  it("keeps the dummy hash (used for unknown emails) at the chosen parameters", async () => {
    expect(passwordNeedsRehash(DUMMY_PASSWORD_HASH, SCRYPT_PARAMS)).toBe(false);
    expect(await dummyPasswordHash(SCRYPT_PARAMS)).toBe(DUMMY_PASSWORD_HASH);
    const cheapDummy = await dummyPasswordHash(CHEAP);
    expect(passwordNeedsRehash(cheapDummy, CHEAP)).toBe(false);
    expect(await dummyPasswordHash(CHEAP)).toBe(cheapDummy);
  });
});

describe("choosing the hash parameters (PASSWORD_HASH_PARAMS)", () => {
  it("uses production parameters when unset, and cheap ones only in development", () => {
    expect(scryptParamsFor({ ENVIRONMENT: "production" })).toEqual(SCRYPT_PARAMS);
    expect(scryptParamsFor({ ENVIRONMENT: "development" })).toEqual(SCRYPT_PARAMS);
    expect(scryptParamsFor({ ENVIRONMENT: "development", PASSWORD_HASH_PARAMS: "N=1024,r=1,p=1" })).toEqual(CHEAP);
    // Stronger than the floor is allowed anywhere, within Workers' cap.
    expect(scryptParamsFor({ ENVIRONMENT: "production", PASSWORD_HASH_PARAMS: "N=32768,r=8,p=3" })).toEqual({ N: 32768, r: 8, p: 3 });
  });

  it("refuses, outside development, anything below the production floor; and malformed or over-cap settings anywhere", () => {
    for (const ENVIRONMENT of ["production", "staging", undefined]) {
      expect(() => scryptParamsFor({ ENVIRONMENT, PASSWORD_HASH_PARAMS: "N=1024,r=1,p=1" })).toThrow(/below the production floor/);
      expect(() => scryptParamsFor({ ENVIRONMENT, PASSWORD_HASH_PARAMS: "N=16384,r=8,p=4" })).toThrow(/below the production floor/);
    }
    for (const setting of ["N=1000,r=1,p=1", "cheap", "N=1024,r=0,p=1", "N=1024;r=1;p=1"]) {
      expect(() => scryptParamsFor({ ENVIRONMENT: "development", PASSWORD_HASH_PARAMS: setting })).toThrow(/malformed/);
    }
    expect(() => scryptParamsFor({ ENVIRONMENT: "development", PASSWORD_HASH_PARAMS: "N=1048576,r=8,p=1" })).toThrow(/over Workers' cap/);
  });

  it("stops a production app whose setting is too weak, with a page naming the setting", async () => {
    const response = await browser({ env: { ...deployedEnv(), PASSWORD_HASH_PARAMS: "N=1024,r=1,p=1" } }).get("/agent/login");
    expect(response.status).toBe(503);
    expect(await text(response)).toContain("PASSWORD_HASH_PARAMS");
  });

  it("signs in end to end at production parameters, and rehashes a cheap hash up to them", async () => {
    const agent = await makeAgent();
    const production = { PASSWORD_HASH_PARAMS: "" };
    // The factory's hash is cheap: a production sign-in verifies it, then upgrades it.
    expect(passwordNeedsRehash(agent.passwordHash!, SCRYPT_PARAMS)).toBe(true);
    await signIn(browser({ env: production }), "agent", agent);
    const stored = await db().select({ hash: users.passwordHash }).from(users).where(eq(users.id, agent.id)).get();
    expect(stored!.hash).toMatch(/^scrypt\$v=1\$N=16384\$r=8\$p=5\$/);
    await signIn(browser({ env: production }), "agent", agent);
    const wrong = await browser({ env: production }).post("/agent/login", { email: agent.email, password: "not the password at all" });
    expect(wrong.status).toBe(401);
    await wrong.text();
    expect(env.PASSWORD_HASH_PARAMS).toBe("N=1024,r=1,p=1");
  });
});
