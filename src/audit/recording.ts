// What records a change: its audit rows and the notices to the people it touches, built once the
// change is known and stored in the change's own batch, only where the change took.
import type { SQL } from "drizzle-orm";
import type { Db } from "../db";
import { type Notice, queueNotices } from "../mail/outbox";
import { type AuditEntry, type AuditOrigin, auditInsertWhere } from "./events";

export { AFTER_ONE_CHANGE } from "./events";

/** How a change is recorded: where and when it was asked for, and what to record once it is known. */
export interface Recording<C> {
  origin: AuditOrigin;
  build: (changes: C) => Promise<{ entries: AuditEntry[]; notices: Notice[] }>;
}

/** The statements that record `changes` where `onlyIf` holds (the change's own condition), and the notices' outbox ids. */
export async function recorded<C>(env: Env, db: Db, record: Recording<C>, changes: C, now: number, onlyIf: SQL) {
  const { entries, notices } = await record.build(changes);
  const mail = await queueNotices(env, db, notices, now, onlyIf);
  return { statements: [...entries.map((entry) => auditInsertWhere(db, entry, record.origin, onlyIf)), ...mail.statements], ids: mail.ids };
}
