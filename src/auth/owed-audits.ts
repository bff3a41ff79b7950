// Audit entries for changes a user's object makes (src/auth/user-do/owed-audits.ts): the object
// records them with the change, in its own transaction; the request then stores them in D1 and
// tells the object, and the object's alarm stores whatever the request could not. An entry may
// carry the notices the change owes the people it touches: they are stored with it, once.
import type { BatchItem } from "drizzle-orm/batch";
import { userStub } from "./user-object";
import { type Db, getDb } from "../db";
import { newId } from "../lib/crypto";
import { isDependencyFailure } from "../lib/failures";
import { type Notice, queueNotices } from "../mail/outbox";
import { AFTER_ONE_CHANGE, type AuditEntry, type AuditOrigin, keyedAuditInsert } from "../audit/events";

/** An entry a user's object owes D1, named by its key: stored once, by the request or the object's alarm, or both. */
export interface OwedAudit {
  key: string;
  entry: AuditEntry;
  origin: AuditOrigin;
  notices?: Notice[];
}

/** An entry to hand to a user's object with the change it records; its notices get ids now, for the same reason. */
export function owedAudit(entry: AuditEntry, origin: AuditOrigin, notices: Notice[] = []): OwedAudit {
  const owed: OwedAudit = { key: newId("aud"), entry, origin };
  if (notices.length) owed.notices = notices.map((n) => ({ ...n, id: n.id ?? newId("mail") }));
  return owed;
}

/** Store owed entries in one D1 batch, each notice only where its entry was stored just then; returns the notices' outbox ids. */
export async function writeOwedAudits(env: Env, db: Db, audits: readonly [OwedAudit, ...OwedAudit[]]): Promise<string[]> {
  const statements: BatchItem<"sqlite">[] = [];
  const ids: string[] = [];
  for (const owed of audits) {
    statements.push(keyedAuditInsert(db, owed.entry, owed.origin, owed.key));
    const mail = await queueNotices(env, db, owed.notices ?? [], owed.origin.at, AFTER_ONE_CHANGE);
    statements.push(...mail.statements);
    ids.push(...mail.ids);
  }
  const [head, ...tail] = statements;
  await db.batch([head!, ...tail]);
  return ids;
}

/**
 * Store in D1 the entries the user's object recorded with its change; returns the ids of the
 * notices to send. The change is made and its entries are safe in the object, so a failure here
 * only delays them (the alarm stores them) and is not the request's failure.
 */
export async function storeOwedAudits(env: Env, userId: string, audits: readonly OwedAudit[]): Promise<string[]> {
  const [first, ...rest] = audits;
  if (!first) return [];
  const db = getDb(env.DB);
  try {
    const ids = await writeOwedAudits(env, db, [first, ...rest]);
    await userStub(env, userId).auditsStored(audits.map((a) => a.key));
    return ids;
  } catch (error) {
    if (!isDependencyFailure(error)) throw error;
    console.error("An audit entry owed by a user's object is left to its alarm:", error);
    return [];
  }
}
