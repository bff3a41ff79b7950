// After ENCRYPTION_KEY is rotated, authenticator secrets, recovery codes and streaming secrets are
// encrypted again with the new key: when they are used (src/factors/totp.ts, recovery-codes.ts), and
// by this bounded pass on every scheduled run, so ENCRYPTION_KEY_PREVIOUS can be removed once
// `staleSecrets` reaches zero (docs/CONFIGURATION.md, "Key rotation").
import { and, eq, ne, sql } from "drizzle-orm";
import type { Db } from "../db";
import { auditDestinations, mailOutbox, recoveryCodes, totpCredentials } from "../db/schema";
import { currentSealPrefix, resealed } from "../lib/encryption";
import { resealRecoveryCodes } from "../factors/recovery-codes";
import { resealSecret } from "../factors/totp";

const RESEAL_BATCH = 100;

function notCurrent(
  column:
    | typeof totpCredentials.secretEncrypted
    | typeof recoveryCodes.codeEncrypted
    | typeof mailOutbox.sealedText
    | typeof auditDestinations.sealedSecret,
  prefix: string,
) {
  return sql`substr(${column}, 1, ${prefix.length}) != ${prefix}`;
}

/**
 * How many secrets and codes are still encrypted with an older key, and mail still waiting in the
 * outbox under one (it lives a day at most, and is not re-encrypted: it needs the old key until sent).
 */
export async function staleSecrets(env: Env, db: Db): Promise<number> {
  const prefix = await currentSealPrefix(env);
  const [secrets, codes, mail, streams] = await db.batch([
    db.select({ n: sql<number>`count(*)` }).from(totpCredentials).where(notCurrent(totpCredentials.secretEncrypted, prefix)),
    db.select({ n: sql<number>`count(*)` }).from(recoveryCodes).where(notCurrent(recoveryCodes.codeEncrypted, prefix)),
    db
      .select({ n: sql<number>`count(*)` })
      .from(mailOutbox)
      .where(and(ne(mailOutbox.sealedText, ""), notCurrent(mailOutbox.sealedText, prefix))),
    db.select({ n: sql<number>`count(*)` }).from(auditDestinations).where(notCurrent(auditDestinations.sealedSecret, prefix)),
  ]);
  return (secrets[0]?.n ?? 0) + (codes[0]?.n ?? 0) + (mail[0]?.n ?? 0) + (streams[0]?.n ?? 0);
}

/**
 * Re-encrypt up to `limit` secrets and `limit` codes made with an older key. One that no key held
 * can open (its key was removed too early) is counted in `failed` and left as it is: it keeps
 * `staleSecrets` above zero, the sign that the key is still needed.
 */
export async function resealBatch(env: Env, db: Db, limit = RESEAL_BATCH): Promise<{ secrets: number; codes: number; failed: number }> {
  const prefix = await currentSealPrefix(env);
  const done = { secrets: 0, codes: 0, failed: 0 };
  const attempt = async (work: () => Promise<number>) => {
    try {
      return await work();
    } catch (error) {
      console.error("Re-encrypting a secret failed:", error);
      done.failed++;
      return 0;
    }
  };
  const secrets = await db.select().from(totpCredentials).where(notCurrent(totpCredentials.secretEncrypted, prefix)).limit(limit);
  for (const row of secrets)
    done.secrets += await attempt(async () => ((await resealSecret(env, db, row.userId, row.secretEncrypted)) ? 1 : 0));
  const codes = await db.select().from(recoveryCodes).where(notCurrent(recoveryCodes.codeEncrypted, prefix)).limit(limit);
  for (const row of codes) done.codes += await attempt(() => resealRecoveryCodes(env, db, [row]));
  // Audit streaming destinations' secrets, sealed for each destination's id (counted with the secrets).
  const streams = await db.select().from(auditDestinations).where(notCurrent(auditDestinations.sealedSecret, prefix)).limit(limit);
  for (const row of streams)
    done.secrets += await attempt(async () => {
      const next = await resealed(env, row.id, row.sealedSecret);
      if (!next) return 0;
      await db
        .update(auditDestinations)
        .set({ sealedSecret: next })
        .where(and(eq(auditDestinations.id, row.id), eq(auditDestinations.sealedSecret, row.sealedSecret)));
      return 1;
    });
  return done;
}
