// Audit entries for changes a user's object makes (src/auth/user-do/owed-audits.ts): the object
// records them with the change, in its own transaction; the request then stores them in D1 and
// tells the object, and the object's alarm stores whatever the request could not.
import { userStub } from "../auth/user-object";
import { getDb } from "../db";
import { newId } from "../lib/crypto";
import { isDependencyFailure } from "../lib/failures";
import { type AuditEntry, type AuditOrigin, type OwedAudit, owedAuditInsert } from "./events";

export type { OwedAudit } from "./events";

/** An entry to hand to a user's object with the change it records. */
export function owedAudit(entry: AuditEntry, origin: AuditOrigin): OwedAudit {
  return { key: newId("aud"), entry, origin };
}

/**
 * Store in D1 the entries the user's object recorded with its change. The change is made and its
 * entries are safe in the object, so a failure here only delays them (the alarm stores them) and
 * is not the request's failure.
 */
export async function storeOwedAudits(env: Env, userId: string, audits: readonly OwedAudit[]): Promise<void> {
  if (audits.length === 0) return;
  const db = getDb(env.DB);
  try {
    for (const owed of audits) await owedAuditInsert(db, owed);
    await userStub(env, userId).auditsStored(audits.map((a) => a.key));
  } catch (error) {
    if (!isDependencyFailure(error)) throw error;
    console.error("An audit entry owed by a user's object is left to its alarm:", error);
  }
}
