// ENCRYPTION_KEY and HMAC_KEY rotate. Each step below is what docs/CONFIGURATION.md's "Key rotation"
// tells an operator to do, with the env a deployed Worker would have after it.
import { env } from "cloudflare:workers";
import { encodeBase64 } from "@oslojs/encoding";
import { eq } from "drizzle-orm";
import { beforeAll, describe, expect, it } from "vitest";
import { auditDestinations, devMailbox, recoveryCodes, totpCredentials } from "../../src/db/schema";
import { addDestination, findDestination } from "../../src/audit/streaming";
import { deliverDueMail, storeWithNotices } from "../../src/mail/outbox";
import { decryptForUser, encryptForUser, hmacHex, hmacMatches, RetiredKeyError } from "../../src/lib/encryption";
import { resealBatch, staleSecrets } from "../../src/lifecycle/key-rotation";
import { setPassword } from "../../src/auth/password-change";
import { findUserById } from "../../src/auth/users";
import { defaultPortalPolicy } from "../../src/portal/policy";
import { browser, fakeClock, type FakeClock } from "../helpers/app";
import { db, makeContact } from "../helpers/factories";
import { enrollThroughPages, postPassword, setMfa, totpCode } from "../helpers/mfa";
import { shown } from "../helpers/html";

const newKey = () => encodeBase64(crypto.getRandomValues(new Uint8Array(32)));
const OLD = newKey();
const NEW = newKey();
const before = { ENCRYPTION_KEY: OLD };
const rotating = { ENCRYPTION_KEY: NEW, ENCRYPTION_KEY_PREVIOUS: OLD };
const after = { ENCRYPTION_KEY: NEW };

async function sealOf(userId: string) {
  const secret = (await db().select().from(totpCredentials).where(eq(totpCredentials.userId, userId)).get())!.secretEncrypted;
  const codes = (await db().select().from(recoveryCodes).where(eq(recoveryCodes.userId, userId))).map((r) => r.codeEncrypted.split(".")[1]);
  return { secret: secret.split(".")[1], codes: [...new Set(codes)] };
}

/** Password, then the app's code; the step moves on first, as each step's code works once. */
async function signInWithApp(clock: FakeClock, keys: Partial<Env>, who: { email: string; password: string }, manualKey: string) {
  clock.advance(30_000);
  const client = browser({ clock, env: keys });
  const login = await postPassword(client, "support", who);
  expect(login.headers.get("Location")).toBe("/support/login/verify");
  const verified = await client.post("/support/login/verify/app", { code: totpCode(manualKey, clock.now()) });
  await verified.text();
  return verified.headers.get("Location");
}

beforeAll(async () => {
  await setMfa("support", { authenticatorApp: true, emailOtp: false });
});

describe("rotating ENCRYPTION_KEY", () => {
  it("old secrets work during the rotation and are re-encrypted as they are used; then the old key can go", async () => {
    const clock = fakeClock();
    const contact = await makeContact();
    const { manualKey, recoveryCodes: codes } = await enrollThroughPages(browser({ clock, env: before }), "support", contact, clock);
    const oldId = (await sealOf(contact.id)).secret;
    expect((await sealOf(contact.id)).codes).toEqual([oldId]);

    // 1. The new key goes in, the old one becomes ENCRYPTION_KEY_PREVIOUS: signing in still works,
    //    and the secret it used is now under the new key.
    expect(await signInWithApp(clock, rotating, contact, manualKey)).toBe("/support");
    const resealedOnce = await sealOf(contact.id);
    expect(resealedOnce.secret).not.toBe(oldId);
    expect(resealedOnce.codes).toEqual([oldId]);
    // A recovery code's use re-encrypts the whole set.
    const client = browser({ clock, env: rotating });
    await postPassword(client, "support", contact);
    const recovered = await client.post("/support/login/verify/recovery", { code: codes[0]! });
    await recovered.text();
    expect(recovered.headers.get("Location")).toBe("/support");
    expect((await sealOf(contact.id)).codes).toEqual([resealedOnce.secret]);

    // 2. The old key is removed: everything still works.
    expect(await signInWithApp(clock, after, contact, manualKey)).toBe("/support");
  });

  it("the scheduled pass re-encrypts what nobody used, so removing the old key locks nobody out", async () => {
    const clock = fakeClock();
    const idle = await makeContact();
    const { manualKey } = await enrollThroughPages(browser({ clock, env: before }), "support", idle, clock);
    const rotatingEnv = { ...env, ...rotating };
    expect(await staleSecrets(rotatingEnv, db())).toBeGreaterThanOrEqual(11);
    // Without the pass, the old key's removal would lock this person out, with a message naming the fix.
    const secret = (await db().select().from(totpCredentials).where(eq(totpCredentials.userId, idle.id)).get())!.secretEncrypted;
    await expect(decryptForUser({ ...env, ...after }, idle.id, secret)).rejects.toThrow(RetiredKeyError);
    await expect(decryptForUser({ ...env, ...after }, idle.id, secret)).rejects.toThrow(/put that key back as ENCRYPTION_KEY_PREVIOUS/);

    for (let runs = 0; (await staleSecrets(rotatingEnv, db())) > 0; runs++) {
      expect(runs, "the pass should finish").toBeLessThan(50);
      await resealBatch(rotatingEnv, db(), 5);
    }
    expect(await signInWithApp(clock, after, idle, manualKey)).toBe("/support");
  });

  it("counts mail waiting in the outbox under the old key, which is sent with it, as still needing it", async () => {
    const now = fakeClock().now();
    const rotatingEnv = { ...env, ...rotating };
    const waitingBefore = await staleSecrets(rotatingEnv, db());
    await storeWithNotices(
      { ...env, ...before },
      db(),
      [],
      [{ userId: null, to: "waiting@example.com", subject: "Waiting", text: "Sealed with the old key." }],
      now,
    );
    expect(await staleSecrets(rotatingEnv, db())).toBe(waitingBefore + 1);
    // The pass does not re-encrypt it; sending it (with the old key still there) erases it.
    await resealBatch(rotatingEnv, db(), 5);
    expect(await staleSecrets(rotatingEnv, db())).toBe(waitingBefore + 1);
    expect(await deliverDueMail(rotatingEnv, { now: () => now })).toMatchObject({ sent: 1, failed: 0 });
    expect(await staleSecrets(rotatingEnv, db())).toBe(waitingBefore);
    const [sent] = await db().select().from(devMailbox).where(eq(devMailbox.to, "waiting@example.com"));
    expect(sent!.body).toBe("Sealed with the old key.\n");
  });

  it("re-encrypts an audit streaming destination's secret, and the destination still signs with it", async () => {
    const added = await addDestination(
      { ...env, ...before },
      db(),
      { name: "Rotating SIEM", kind: "splunk", url: "https://splunk.example.com/x", splunkToken: "hec-secret-1", creatorId: "agt_x" },
      { at: Date.UTC(2026, 10, 22), ip: null, userAgent: null },
    );
    if (!added.ok) throw new Error(added.message);
    expect(await staleSecrets({ ...env, ...rotating }, db())).toBeGreaterThan(0);
    await resealBatch({ ...env, ...rotating }, db());
    const row = (await findDestination(db(), added.id))!;
    expect(await decryptForUser({ ...env, ...after }, added.id, row.sealedSecret)).toBe("hec-secret-1");
    await db().delete(auditDestinations).where(eq(auditDestinations.id, added.id));
  });

  it("reads ciphertexts written before keys had ids, and keeps the user id bound to each", async () => {
    const contact = await makeContact();
    const other = await makeContact();
    // The format before keys had ids: base64 alone, under what is now the previous key.
    const modern = await encryptForUser({ ...env, ...before }, contact.id, "JBSWY3DPEHPK3PXP");
    const legacy = modern.split(".")[2]!;
    expect(await decryptForUser({ ...env, ...rotating }, contact.id, legacy)).toBe("JBSWY3DPEHPK3PXP");
    await expect(decryptForUser({ ...env, ...rotating }, other.id, legacy)).rejects.toThrow();
    await expect(decryptForUser({ ...env, ...rotating }, other.id, modern)).rejects.toThrow();
  });

  it("refuses a malformed previous key by name, like a malformed current one", async () => {
    const response = await browser({ env: { ...rotating, ENCRYPTION_KEY_PREVIOUS: "too-short" } }).get("/support/login");
    expect(response.status).toBe(503);
    expect(await shown(response)).toContain("The secret ENCRYPTION_KEY_PREVIOUS is missing or malformed");
  });
});

describe("rotating HMAC_KEY", () => {
  const H_OLD = newKey();
  const H_NEW = newKey();

  it("checks each MAC with the key that made it, while the previous key is kept", async () => {
    const mac = await hmacHex({ ...env, HMAC_KEY: H_OLD }, "a message");
    expect(mac).toMatch(/^[0-9a-f]{8}\.[0-9a-f]{64}$/);
    expect(await hmacMatches({ ...env, HMAC_KEY: H_NEW, HMAC_KEY_PREVIOUS: H_OLD }, "a message", mac)).toBe(true);
    expect(await hmacMatches({ ...env, HMAC_KEY: H_NEW, HMAC_KEY_PREVIOUS: H_OLD }, "another message", mac)).toBe(false);
    expect(await hmacMatches({ ...env, HMAC_KEY: H_NEW }, "a message", mac)).toBe(false);
    // A MAC written before keys had ids (the hex alone) is checked under every key held.
    expect(await hmacMatches({ ...env, HMAC_KEY: H_NEW, HMAC_KEY_PREVIOUS: H_OLD }, "a message", mac.split(".")[1]!)).toBe(true);
  });

  it("keeps refusing a recently used password during the rotation", async () => {
    const contact = await makeContact();
    const policy = { ...defaultPortalPolicy().password, reuseCount: 3 };
    const user = (await findUserById(db(), contact.id))!;
    expect(await setPassword({ ...env, HMAC_KEY: H_OLD }, db(), user, "the first long passphrase", policy, 1)).toEqual({ ok: true });
    const changed = (await findUserById(db(), contact.id))!;
    expect(await setPassword({ ...env, HMAC_KEY: H_OLD }, db(), changed, "the second long passphrase", policy, 2)).toEqual({ ok: true });
    const latest = (await findUserById(db(), contact.id))!;
    expect(
      await setPassword({ ...env, HMAC_KEY: H_NEW, HMAC_KEY_PREVIOUS: H_OLD }, db(), latest, "the first long passphrase", policy, 3),
    ).toEqual({
      ok: false,
      message: "You used this password recently. Choose one that is not among your last 3.",
    });
  });
});
