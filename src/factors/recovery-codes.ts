import { encodeBase32LowerCaseNoPadding } from "@oslojs/encoding";
import { and, asc, count, eq, isNull } from "drizzle-orm";
import { type AuditRecord, auditAfterOneChange, auditInsert } from "../audit/events";
import type { Db } from "../db";
import { recoveryCodes } from "../db/schema";
import { newId, randomBytes } from "../lib/crypto";
import { decryptForUser, encryptForUser, resealed } from "../lib/encryption";

export const RECOVERY_CODE_COUNT = 10;

/** "k7pq-3xzm-a2ft": 60 random bits, in groups a person can copy by hand. */
function newCode(): string {
  return encodeBase32LowerCaseNoPadding(randomBytes(8)).slice(0, 12).match(/.{4}/g)!.join("-");
}

/** What a person typed, in the stored form: lower case, hyphens and spaces ignored. */
export function normalizeRecoveryCode(input: string): string {
  const bare = input.toLowerCase().replace(/[\s-]/g, "");
  return bare.length === 12 ? bare.match(/.{4}/g)!.join("-") : bare;
}

/**
 * Make a new set of ten codes; the old set stops working in the same transaction
 * (SECURITY.md 10). Returns the codes, to be shown once to their owner.
 */
/** A new set of codes replaces the old; `audit`, when the person asked for it, is stored in the same batch. */
export async function generateRecoveryCodes(env: Env, db: Db, userId: string, now: number, audit?: AuditRecord): Promise<string[]> {
  const { codes, rows } = await newCodeRows(env, userId, now);
  const replace = [db.delete(recoveryCodes).where(eq(recoveryCodes.userId, userId)), db.insert(recoveryCodes).values(rows)] as const;
  await (audit ? db.batch([...replace, auditInsert(db, audit.entry, audit.origin)]) : db.batch(replace));
  return codes;
}

/** A new set of codes and their sealed rows, to store (replacing the old set) in a caller's batch. */
export async function newCodeRows(env: Env, userId: string, now: number) {
  const codes = Array.from({ length: RECOVERY_CODE_COUNT }, newCode);
  const rows = await Promise.all(
    codes.map(async (code, position) => ({
      id: newId("rc"),
      userId,
      position,
      codeEncrypted: await encryptForUser(env, userId, code),
      createdAt: now,
    })),
  );
  return { codes, rows };
}

export interface RecoveryCodeView {
  code: string;
  usedAt: number | null;
}

export async function listRecoveryCodes(env: Env, db: Db, userId: string): Promise<RecoveryCodeView[]> {
  const rows = await db.select().from(recoveryCodes).where(eq(recoveryCodes.userId, userId)).orderBy(asc(recoveryCodes.position));
  return Promise.all(rows.map(async (row) => ({ code: await decryptForUser(env, userId, row.codeEncrypted), usedAt: row.usedAt })));
}

/**
 * Spend one code. Marking it used is a compare-and-swap (`used_at IS NULL`), so of parallel
 * requests with the same code exactly one succeeds (SECURITY.md 6).
 */
export async function useRecoveryCode(env: Env, db: Db, userId: string, input: string, now: number, audit?: AuditRecord): Promise<boolean> {
  const wanted = normalizeRecoveryCode(input);
  if (!/^[a-z2-7]{4}-[a-z2-7]{4}-[a-z2-7]{4}$/.test(wanted)) return false;
  const rows = await db
    .select()
    .from(recoveryCodes)
    .where(and(eq(recoveryCodes.userId, userId), isNull(recoveryCodes.usedAt)));
  for (const row of rows) {
    if ((await decryptForUser(env, userId, row.codeEncrypted)) !== wanted) continue;
    const use = db
      .update(recoveryCodes)
      .set({ usedAt: now })
      .where(and(eq(recoveryCodes.id, row.id), isNull(recoveryCodes.usedAt)));
    const [result] = audit ? await db.batch([use, auditAfterOneChange(db, audit)]) : [await use];
    if (result.meta.changes !== 1) return false;
    await resealRecoveryCodes(env, db, rows);
    return true;
  }
  return false;
}

/**
 * Codes encrypted with a key being rotated out are encrypted again with the new one
 * (compare-and-swap on each old ciphertext). Returns how many were.
 */
export async function resealRecoveryCodes(
  env: Env,
  db: Db,
  rows: { id: string; userId: string; codeEncrypted: string }[],
): Promise<number> {
  const updates = [];
  for (const row of rows) {
    const fresh = await resealed(env, row.userId, row.codeEncrypted);
    if (fresh)
      updates.push(
        db
          .update(recoveryCodes)
          .set({ codeEncrypted: fresh })
          .where(and(eq(recoveryCodes.id, row.id), eq(recoveryCodes.codeEncrypted, row.codeEncrypted))),
      );
  }
  if (updates.length === 0) return 0;
  const results = await db.batch(updates as [(typeof updates)[number], ...typeof updates]);
  return results.reduce((n, r) => n + r.meta.changes, 0);
}

export async function removeRecoveryCodes(db: Db, userId: string): Promise<void> {
  await db.delete(recoveryCodes).where(eq(recoveryCodes.userId, userId));
}

/** The downloadable .txt of a set of codes. */
export function recoveryCodesFile(email: string, codes: string[]): string {
  return `EdgeDesk recovery codes for ${email}\nEach code signs you in once. Keep them somewhere safe.\n\n${codes.join("\n")}\n`;
}

export async function countUnusedRecoveryCodes(db: Db, userId: string): Promise<number> {
  const [row] = await db
    .select({ n: count() })
    .from(recoveryCodes)
    .where(and(eq(recoveryCodes.userId, userId), isNull(recoveryCodes.usedAt)));
  return row?.n ?? 0;
}

/** At or below this many unused codes, the person is asked to generate new ones. */
export const LOW_RECOVERY_CODES = 3;
