// Undo of a bulk change or a CSV import, within 10 minutes: every field the batch
// changed goes back to its value before, and every record it created is deleted, unless someone
// changed that record since (its version moved on), which is then left as it is and counted.
// Only someone who may see the batch's page (batch.ts: its author or a Manage Assets holder) may
// undo it, and only while holding Manage Assets.
import { hasPermission } from "../access/permissions";
import { mayFollowBatch, type Viewer } from "./batch";
import { HISTORY_INSERT, UNDO_WINDOW_MS } from "./inventory";
import { fieldsOf } from "./fields";
import type { InventoryKind } from "./kinds";
import { newId } from "../lib/crypto";

/** `job`: the change was a job (bulk-job.ts), whose Durable Object puts its records back a chunk at a time. */
export type UndoResult =
  | { ok: true; job: false; restored: number; skipped: number }
  | { ok: true; job: true }
  | { ok: false; status: 400 | 403 | 404; message: string };

/** What a batch nobody may follow, a missing one and one removed after 10 minutes answer alike. */
const NO_SUCH_CHANGE = "That change does not exist, or is more than 10 minutes old and can no longer be undone.";

interface Operation {
  actor_id: string;
  at: number;
  undone_at: number | null;
  count: number;
  state: string;
  job: string | null;
}

/**
 * Claimed with a token, so of two parallel Undos exactly one runs; all of it is one transaction.
 * Only the fields the batch wrote are touched (a bulk change writes one).
 */
export async function undoBatch(db: D1Database, kind: InventoryKind, batchId: string, actor: Viewer, now: number): Promise<UndoResult> {
  const actorId = actor.id;
  const op = await db.prepare("SELECT * FROM bulk_operations WHERE id = ? AND record_type = ?").bind(batchId, kind.type).first<Operation>();
  // Undo records are deleted 10 minutes after the change (src/lifecycle/retention.ts), so a missing one may just be old.
  if (!op || !mayFollowBatch({ actorId: op.actor_id }, actor)) return { ok: false, status: 404, message: NO_SUCH_CHANGE };
  // Its author may still see a change after losing Manage Assets, but no longer write with it.
  if (!hasPermission(actor.permissions, "manageAssets"))
    return { ok: false, status: 403, message: "Undoing a change needs “Manage Assets”, which your role does not include." };
  if (op.undone_at) return { ok: false, status: 400, message: "That change was already undone." };
  if (now - op.at > UNDO_WINDOW_MS)
    return { ok: false, status: 400, message: "Undo is available for 10 minutes after a change; that one is older." };
  if (op.state !== "done") return { ok: false, status: 400, message: "That change is still running: Undo is offered once it is done." };
  if (op.job !== null) {
    // Claimed here; the job's steps (undoChunk) put the records back. `count` keeps how many it had changed.
    const claim = await db
      .prepare(
        "UPDATE bulk_operations SET undone_at = ?, undo_token = ?, state = 'undoing', count = done_count, done_count = 0, cursor = NULL, job = " +
          "json_set(job, '$.undoBy', ?) WHERE id = ? AND undone_at IS NULL AND state = 'done' AND at >= ?",
      )
      .bind(now, newId("undo"), actorId, batchId, now - UNDO_WINDOW_MS)
      .run();
    return claim.meta.changes === 1 ? { ok: true, job: true } : { ok: false, status: 400, message: "That change was already undone." };
  }
  const columns = new Map(fieldsOf(kind).map((f) => [f.key, f.column]));
  const written = (
    await db.prepare("SELECT DISTINCT field FROM inventory_history WHERE batch_id = ?").bind(batchId).all<{ field: string }>()
  ).results.map((r) => r.field);
  const fields = written.filter((f) => columns.has(f));
  const token = newId("undo");
  const v = kind.versionColumn;
  const claimed = "EXISTS (SELECT 1 FROM bulk_operations WHERE id = ? AND undo_token = ?)";
  const untouched = `h.batch_id = ? AND h.record_id = t.id AND t.${v} = h.version_after`;
  const current = `CASE h.field ${fields.map((f) => `WHEN '${f}' THEN t.${columns.get(f)}`).join(" ")} END`;
  const statements = [
    db
      .prepare("UPDATE bulk_operations SET undone_at = ?, undo_token = ? WHERE id = ? AND undone_at IS NULL AND at >= ?")
      .bind(now, token, batchId, now - UNDO_WINDOW_MS),
  ];
  if (fields.length > 0) {
    const fieldList = fields.map((f) => `'${f}'`).join(", ");
    statements.push(
      db
        .prepare(
          `${HISTORY_INSERT} SELECT ?, t.id, h.field, ${current}, h.old_value, t.${v} + 1, ?, ?, ? FROM ${kind.table} t JOIN inventory_history h ON ` +
            `${untouched} WHERE h.field IN (${fieldList}) AND ${claimed}`,
        )
        .bind(kind.type, actorId, `undo:${batchId}`, now, batchId, batchId, token),
      db
        .prepare(
          `UPDATE ${kind.table} AS t SET ${fields
            .map(
              (f) =>
                `${columns.get(f)} = CASE WHEN EXISTS (SELECT 1 FROM inventory_history h WHERE ${untouched} AND h.field = '${f}') THEN (SELECT ` +
                `h.old_value FROM inventory_history h WHERE ${untouched} AND h.field = '${f}') ELSE ${columns.get(f)} END`,
            )
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
      db
        .prepare(`DELETE FROM ${kind.table} WHERE id IN (${createdHere}) AND ${v} = 1 AND ${claimed} RETURNING id`)
        .bind(batchId, kind.type, batchId, token),
      db
        .prepare(
          `DELETE FROM inventory_history WHERE record_type = ? AND record_id IN (${createdHere}) AND record_id NOT IN (SELECT id FROM ${kind.table}) AND ${claimed}`,
        )
        .bind(kind.type, batchId, kind.type, batchId, token),
    );
  }
  const results = await db.batch(statements);
  if (results[0]!.meta.changes !== 1) return { ok: false, status: 400, message: "That change was already undone." };
  // Rows returned, not meta.changes, which also counts the search index's trigger writes.
  const updated = fields.length > 0 ? results[2]!.results.length : 0;
  const deleted = creates ? results[fields.length > 0 ? 3 : 1]!.results.length : 0;
  const restored = updated + deleted;
  return { ok: true, job: false, restored, skipped: op.count - restored };
}

/**
 * One step of putting back a job's bulk change (one field, no records created): the next
 * BULK_CHUNK history rows after `cursor`, each record restored only if nobody changed it since.
 * The cursor moves in the same transaction, so a step run twice restores nothing twice. Returns
 * how many were restored, and the new cursor (null when none were left).
 */
export async function undoChunk(
  db: D1Database,
  kind: InventoryKind,
  batchId: string,
  field: string,
  cursor: number,
  limit: number,
  actorId: string,
  now: number,
) {
  const column = new Map(fieldsOf(kind).map((f) => [f.key, f.column])).get(field);
  if (!column) throw new Error(`undoChunk: ${kind.table} has no field ${field}`);
  const v = kind.versionColumn;
  const last = "(SELECT max(id) FROM (SELECT id FROM inventory_history WHERE batch_id = ?1 AND id > ?2 ORDER BY id LIMIT ?3))";
  // The step's history rows (found by the batch index, in id order), each joined to its record by key; CROSS JOIN keeps that order.
  const step = `(SELECT record_id, field, old_value, version_after FROM inventory_history WHERE batch_id = ?1 AND id > ?2 AND id <= ${last} AND field = ?4) h`;
  const claimed =
    "EXISTS (SELECT 1 FROM bulk_operations WHERE id = ?1 AND state = 'undoing' AND coalesce(CAST(cursor AS INTEGER), 0) = ?2)";
  const unchanged = `${step} CROSS JOIN ${kind.table} t ON t.id = h.record_id AND t.${v} = h.version_after`;
  // An agent the batch cleared with its group change (Assign Group) comes back with the group.
  const clearedAgent = "(SELECT a.old_value FROM inventory_history a WHERE a.batch_id = ?1 AND a.record_id = t.id AND a.field = 'agent')";
  const withAgent = field === "group";
  const results = await db.batch<{ id: string }>([
    db
      .prepare(
        `${HISTORY_INSERT} SELECT ?5, t.id, h.field, t.${column}, h.old_value, t.${v} + 1, ?6, 'undo:' || ?1, ?7 FROM ${unchanged} WHERE ${claimed}`,
      )
      .bind(batchId, cursor, limit, field, kind.type, actorId, now),
    ...(withAgent
      ? [
          db
            .prepare(
              `${HISTORY_INSERT} SELECT ?5, t.id, 'agent', t.agent_id, ${clearedAgent}, t.${v} + 1, ?6, 'undo:' || ?1, ?7 FROM ${unchanged} WHERE ${clearedAgent} IS NOT NULL AND ${claimed}`,
            )
            .bind(batchId, cursor, limit, field, kind.type, actorId, now),
        ]
      : []),
    db
      .prepare(
        `UPDATE ${kind.table} AS t SET ${column} = h.old_value${withAgent ? `, agent_id = coalesce(${clearedAgent}, agent_id)` : ""}, ${v} = ${v} + 1, updated_at = ?5
         FROM ${step} WHERE t.id = h.record_id AND t.${v} = h.version_after AND ${claimed} RETURNING id`,
      )
      .bind(batchId, cursor, limit, field, now),
    db
      .prepare(`UPDATE bulk_operations SET cursor = ${last} WHERE id = ?1 AND ${last} IS NOT NULL AND ${claimed} RETURNING cursor AS id`)
      .bind(batchId, cursor, limit),
  ]);
  const [restored, moved] = results.slice(-2);
  return { restored: restored!.results.length, cursor: moved!.results[0] ? Number(moved!.results[0].id) : null };
}
