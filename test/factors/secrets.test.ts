import { decodeBase32IgnorePadding } from "@oslojs/encoding";
import { generateHOTP } from "@oslojs/otp";
import { env } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { recoveryCodes, totpCredentials } from "../../src/db/schema";
import { decryptForUser, encryptForUser } from "../../src/lib/encryption";
import { generateRecoveryCodes, listRecoveryCodes, useRecoveryCode } from "../../src/factors/recovery-codes";
import { matchingStep, pendingEnrollmentKey, timeStep } from "../../src/factors/totp";
import { db, makeAgent } from "../helpers/factories";

describe("SECURITY.md 7: TOTP time steps, with an injected clock", () => {
  it("accepts T-1, T and T+1 and refuses T-2 and T+2, naming the step it matched", () => {
    const key = crypto.getRandomValues(new Uint8Array(20));
    const now = Date.UTC(2026, 10, 22, 12, 0, 15);
    const T = timeStep(now);
    const code = (step: number) => generateHOTP(key, BigInt(step), 6);
    expect(matchingStep(key, code(T), now)).toBe(T);
    expect(matchingStep(key, code(T - 1), now)).toBe(T - 1);
    expect(matchingStep(key, code(T + 1), now)).toBe(T + 1);
    // A code that happens to collide with a neighbouring step is astronomically unlikely but possible.
    if (![T - 1, T, T + 1].some((s) => code(s) === code(T - 2))) expect(matchingStep(key, code(T - 2), now)).toBeNull();
    if (![T - 1, T, T + 1].some((s) => code(s) === code(T + 2))) expect(matchingStep(key, code(T + 2), now)).toBeNull();
    expect(matchingStep(key, "12345", now)).toBeNull();
    expect(matchingStep(key, "abcdef", now)).toBeNull();
  });
});

describe("SECURITY.md 8 and 10: secrets at rest", () => {
  it("keeps the TOTP secret (160 random bits) only encrypted in D1", async () => {
    const agent = await makeAgent();
    const key = await pendingEnrollmentKey(env, db(), agent.id, Date.now());
    expect(key).toHaveLength(20);
    const row = await db().select().from(totpCredentials).where(eq(totpCredentials.userId, agent.id)).get();
    const base32 = new TextDecoder().decode(key);
    expect(row!.secretEncrypted).not.toContain(base32);
    const plain = await decryptForUser(env, agent.id, row!.secretEncrypted);
    expect(decodeBase32IgnorePadding(plain)).toEqual(key);
  });

  it("cannot decrypt a ciphertext copied into another user's row", async () => {
    const [alice, bob] = [await makeAgent(), await makeAgent()];
    const sealed = await encryptForUser(env, alice.id, "JBSWY3DPEHPK3PXP");
    await expect(decryptForUser(env, bob.id, sealed)).rejects.toThrow();
    expect(await decryptForUser(env, alice.id, sealed)).toBe("JBSWY3DPEHPK3PXP");
  });

  it("stores recovery codes encrypted; a new set replaces the old", async () => {
    const agent = await makeAgent();
    const first = await generateRecoveryCodes(env, db(), agent.id, 1);
    const rows = await db().select().from(recoveryCodes).where(eq(recoveryCodes.userId, agent.id));
    expect(rows).toHaveLength(10);
    for (const row of rows) for (const code of first) expect(row.codeEncrypted).not.toContain(code);

    const second = await generateRecoveryCodes(env, db(), agent.id, 2);
    expect(await useRecoveryCode(env, db(), agent.id, first[0]!, 3)).toBe(false);
    expect(await useRecoveryCode(env, db(), agent.id, second[0]!, 3)).toBe(true);
    const listed = await listRecoveryCodes(env, db(), agent.id);
    expect(listed.map((c) => c.code)).toEqual(second);
    expect(listed.filter((c) => c.usedAt !== null).map((c) => c.code)).toEqual([second[0]]);
  });

  it("fails clearly when ENCRYPTION_KEY is missing or malformed", async () => {
    for (const ENCRYPTION_KEY of ["", "not base64!", "c2hvcnQ="]) {
      await expect(encryptForUser({ ...env, ENCRYPTION_KEY }, "u", "x")).rejects.toThrow(
        /The secret ENCRYPTION_KEY is missing or malformed/,
      );
    }
  });
});

describe("the enrollment QR code", () => {
  it("is an SVG made on the server, with no inline style the CSP would block", async () => {
    const { qrSvg, keyUri } = await import("../../src/factors/totp");
    const svg = qrSvg(keyUri("RTX Solutions – Agent App", "robin@example.com", new Uint8Array(20)));
    expect(svg).toMatch(/^<svg /);
    expect(svg).not.toContain("style=");
    expect(svg).toContain('fill="#ffffff"');
    expect(svg).toContain('fill="#000000"');
    expect(svg).not.toMatch(/https?:\/\/(?!www\.w3\.org)/);
  });
});
