import { and, desc, eq, notInArray } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import type { Db } from "../db";
import { passwordHistory, users } from "../db/schema";
import { hmacHex, hmacMatches } from "../lib/encryption";
import type { PasswordPolicy } from "../portal/policy";
import { hashPassword, scryptParamsFor, verifyPassword } from "./password";
import { checkNewPassword } from "./password-policy";
import { userStub } from "./user-object";

const HISTORY_KEPT = 24;

function historyMessage(userId: string, password: string): string {
  return `password-history\n${userId}\n${password.normalize("NFC")}`;
}

export function passwordHistoryMac(env: Env, userId: string, password: string): Promise<string> {
  return hmacHex(env, historyMessage(userId, password));
}

export type SetPasswordResult = { ok: true } | { ok: false; message: string };

/**
 * Set a user's password, wherever it is set (own change, expiry, an admin): the portal's rules,
 * the reuse restriction, then the new hash and its history entry in one transaction, with
 * `alongside` (the change's audit row and the notice of it, src/mail/outbox.ts).
 */
export async function setPassword(
  env: Env,
  db: Db,
  user: { id: string; email: string; name: string; passwordHash: string | null },
  password: string,
  policy: PasswordPolicy,
  now: number,
  alongside: readonly BatchItem<"sqlite">[] = [],
): Promise<SetPasswordResult> {
  const weakness = checkNewPassword(password, policy, user);
  if (weakness) return { ok: false, message: weakness };
  // A forced change (expiry) that accepts the same password would change nothing.
  if (user.passwordHash && (await verifyPassword(user.passwordHash, password))) {
    return { ok: false, message: "Choose a password different from your current one." };
  }
  const mac = await passwordHistoryMac(env, user.id, password);
  if (policy.reuseCount > 0) {
    const recent = await db
      .select({ mac: passwordHistory.mac })
      .from(passwordHistory)
      .where(eq(passwordHistory.userId, user.id))
      .orderBy(desc(passwordHistory.id))
      .limit(policy.reuseCount);
    // Each entry is checked under the key that made it (HMAC_KEY, or HMAC_KEY_PREVIOUS during a rotation).
    const reused = await Promise.all(recent.map((r) => hmacMatches(env, historyMessage(user.id, password), r.mac)));
    if (reused.some(Boolean)) {
      return { ok: false, message: `You used this password recently. Choose one that is not among your last ${policy.reuseCount}.` };
    }
  }
  const passwordHash = await hashPassword(password, scryptParamsFor(env));
  await db.batch([
    db.update(users).set({ passwordHash, passwordChangedAt: now, updatedAt: now }).where(eq(users.id, user.id)),
    db.insert(passwordHistory).values({ userId: user.id, mac, createdAt: now }),
    db
      .delete(passwordHistory)
      .where(
        and(
          eq(passwordHistory.userId, user.id),
          notInArray(
            passwordHistory.id,
            db
              .select({ id: passwordHistory.id })
              .from(passwordHistory)
              .where(eq(passwordHistory.userId, user.id))
              .orderBy(desc(passwordHistory.id))
              .limit(HISTORY_KEPT),
          ),
        ),
      ),
    ...alongside,
  ]);
  // A new password means every device proves the second factor again.
  await userStub(env, user.id).forgetAllDevices();
  return { ok: true };
}
