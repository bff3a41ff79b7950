/**
 * Audit entries owed for changes made here (a session ended, a device forgotten, a session moved
 * on a stage): each is recorded in the same transaction as its change, so the change never stands
 * without its entry on the way. The request then stores the entry in D1 and marks it paid; should
 * D1 fail, the object's alarm stores it later, backing off, until it is stored. The entry's key
 * makes a second store a no-op (audit_events.event_key is unique).
 */
import type { OwedAudit } from "../owed-audits";

export type { OwedAudit } from "../owed-audits";

export interface OwedAuditRow extends OwedAudit {
  /** When the object recorded it, by the object's own clock (the alarm's). */
  owedSince: number;
  tries: number;
}

/** Entries about ending sessions, with how many ended: the object and the request compute the same. */
export function withEndedCount(audits: readonly OwedAudit[], ended: number): OwedAudit[] {
  return audits.map((a) => ({ ...a, entry: { ...a.entry, details: { ...a.entry.details, count: ended } } }));
}

export function recordOwedAudits(sql: SqlStorage, audits: readonly OwedAudit[], owedSince: number): void {
  for (const owed of audits)
    sql.exec(
      "INSERT OR IGNORE INTO audits_owed (event_key, entry, origin, owed_since, tries) VALUES (?, ?, ?, ?, 0)",
      owed.key,
      // The notices ride with the entry (they are stored only with it).
      JSON.stringify({ ...owed.entry, notices: owed.notices ?? [] }),
      JSON.stringify(owed.origin),
      owedSince,
    );
}

export function owedAudits(sql: SqlStorage): OwedAuditRow[] {
  return sql
    .exec<{ event_key: string; entry: string; origin: string; owed_since: number; tries: number }>(
      "SELECT * FROM audits_owed ORDER BY owed_since, event_key",
    )
    .toArray()
    .map((r) => {
      const { notices, ...entry } = JSON.parse(r.entry);
      return { key: r.event_key, entry, notices, origin: JSON.parse(r.origin), owedSince: r.owed_since, tries: r.tries };
    });
}

export function auditsPaid(sql: SqlStorage, keys: readonly string[]): void {
  for (const key of keys) sql.exec("DELETE FROM audits_owed WHERE event_key = ?", key);
}

export function auditTried(sql: SqlStorage, key: string): void {
  sql.exec("UPDATE audits_owed SET tries = tries + 1 WHERE event_key = ?", key);
}

/**
 * Before a person's object is erased: their owed entries lose the notices to them (removing
 * someone removes their mail), and, for a removal, name them by `pseudonym` wherever they held one
 * of `emails` (a value exactly, as the removal rewrites the log).
 */
export function readyOwedAuditsForErasure(sql: SqlStorage, pseudonymise?: { emails: readonly string[]; pseudonym: string }): void {
  for (const owed of owedAudits(sql)) {
    let entry = JSON.stringify(owed.entry);
    for (const email of pseudonymise?.emails ?? [])
      entry = entry.replaceAll(JSON.stringify(email), JSON.stringify(pseudonymise!.pseudonym));
    sql.exec("UPDATE audits_owed SET entry = ? WHERE event_key = ?", JSON.stringify({ ...JSON.parse(entry), notices: [] }), owed.key);
  }
}
