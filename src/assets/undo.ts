// Undo of a bulk change or a CSV import (issue 22), within 10 minutes: every field the batch
// changed goes back to its value before, and every record it created is deleted, unless someone
// changed that record since (its version moved on), which is then left as it is and counted.
import { HISTORY_INSERT, UNDO_WINDOW_MS } from "./inventory";
import { fieldsOf } from "./fields";
import type { InventoryKind } from "./kinds";
import { newId } from "../lib/crypto";

export type UndoResult = { ok: true; restored: number; skipped: number } | { ok: false; message: string };

/**
 * Claimed with a token, so of two parallel Undos exactly one runs; all of it is one transaction.
 * Only the fields the batch wrote are touched (a bulk change writes one).
 */
export async function undoBatch(db: D1Database, kind: InventoryKind, batchId: string, actorId: string, now: number): Promise<UndoResult> {
  const op = await db.prepare("SELECT * FROM bulk_operations WHERE id = ? AND record_type = ?").bind(batchId, kind.type).first<{ at: number; undone_at: number | null; count: number }>();
  // Undo records are deleted 10 minutes after the change (src/lifecycle/retention.ts), so a missing one may just be old.
  if (!op) return { ok: false, message: "That change does not exist, or is more than 10 minutes old and can no longer be undone." };
  if (op.undone_at) return { ok: false, message: "That change was already undone." };
  if (now - op.at > UNDO_WINDOW_MS) return { ok: false, message: "Undo is available for 10 minutes after a change; that one is older." };
  const columns = new Map(fieldsOf(kind).map((f) => [f.key, f.column]));
  const written = (await db.prepare("SELECT DISTINCT field FROM inventory_history WHERE batch_id = ?").bind(batchId).all<{ field: string }>()).results.map((r) => r.field);
  const fields = written.filter((f) => columns.has(f));
  const token = newId("undo");
  const v = kind.versionColumn;
  const claimed = "EXISTS (SELECT 1 FROM bulk_operations WHERE id = ? AND undo_token = ?)";
  const untouched = `h.batch_id = ? AND h.record_id = t.id AND t.${v} = h.version_after`;
  const current = `CASE h.field ${fields.map((f) => `WHEN '${f}' THEN t.${columns.get(f)}`).join(" ")} END`;
  const statements = [db.prepare("UPDATE bulk_operations SET undone_at = ?, undo_token = ? WHERE id = ? AND undone_at IS NULL AND at >= ?").bind(now, token, batchId, now - UNDO_WINDOW_MS)];
  if (fields.length > 0) {
    const fieldList = fields.map((f) => `'${f}'`).join(", ");
    statements.push(
      db
        .prepare(`${HISTORY_INSERT} SELECT ?, t.id, h.field, ${current}, h.old_value, t.${v} + 1, ?, ?, ? FROM ${kind.table} t JOIN inventory_history h ON ${untouched} WHERE h.field IN (${fieldList}) AND ${claimed}`)
        .bind(kind.type, actorId, `undo:${batchId}`, now, batchId, batchId, token),
      db
        .prepare(
          `UPDATE ${kind.table} AS t SET ${fields
            .map((f) => `${columns.get(f)} = CASE WHEN EXISTS (SELECT 1 FROM inventory_history h WHERE ${untouched} AND h.field = '${f}') THEN (SELECT h.old_value FROM inventory_history h WHERE ${untouched} AND h.field = '${f}') ELSE ${columns.get(f)} END`)
            .join(", ")}, ${v} = ${v} + 1, updated_at = ?
           WHERE EXISTS (SELECT 1 FROM inventory_history h WHERE ${untouched} AND h.field IN (${fieldList})) AND ${claimed} RETURNING id`,
        )
        .bind(...fields.flatMap(() => [batchId, batchId]), now, batchId, batchId, token),
    );
  }
  const creates = written.includes("created");
  if (creates) {
    // A record the batch created and nobody has changed since (still version 1) goes, with its history.
    const createdHere = `SELECT h.record_id FROM inventory_history h WHERE h.batch_id = ? AND h.record_type = ? AND h.field = 'created'`;
    statements.push(
      db.prepare(`DELETE FROM ${kind.table} WHERE id IN (${createdHere}) AND ${v} = 1 AND ${claimed} RETURNING id`).bind(batchId, kind.type, batchId, token),
      db.prepare(`DELETE FROM inventory_history WHERE record_type = ? AND record_id IN (${createdHere}) AND record_id NOT IN (SELECT id FROM ${kind.table}) AND ${claimed}`).bind(kind.type, batchId, kind.type, batchId, token),
    );
  }
  const results = await db.batch(statements);
  if (results[0]!.meta.changes !== 1) return { ok: false, message: "That change was already undone." };
  // Rows returned, not meta.changes, which also counts the search index's trigger writes.
  const updated = fields.length > 0 ? results[2]!.results.length : 0;
  const deleted = creates ? results[fields.length > 0 ? 3 : 1]!.results.length : 0;
  const restored = updated + deleted;
  return { ok: true, restored, skipped: op.count - restored };
}
