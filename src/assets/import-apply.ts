// Applying an import plan: one D1 batch, so all rows or none. The records travel as one
// JSON parameter (json_each), so 1,000 rows are a handful of statements and never near D1's 100
// bound parameters. Every changed field gets its history row under the import's batch id, which
// is what Undo (undo.ts) reverses.
import { type AuditOrigin, auditStatementWhere } from "../audit/events";
import { HISTORY_INSERT } from "./inventory";
import { fieldsOf } from "./fields";
import type { ImportPlan } from "./import";
import type { InventoryKind } from "./kinds";
import { newId } from "../lib/crypto";

/** D1 refuses a bound value over 2,000,000 bytes; the plan's JSON is one. */
export const MAX_PLAN_JSON_BYTES = 1_900_000;

export type ApplyResult = { ok: true; batchId: string; created: number; updated: number } | { ok: false; message: string };

export const CHANGED_SINCE_DRY_RUN =
  "Records in this file were changed by someone else after the dry run. Nothing was written: check the file again.";

/**
 * Write a plan whole. `checkedAt` is when the person saw the dry run: a record changed after it,
 * or changed between this plan's reading and its writing, refuses the whole import.
 */
export async function applyImport(
  db: D1Database,
  kind: InventoryKind,
  plan: ImportPlan,
  actorId: string,
  now: number,
  checkedAt: number,
  origin: AuditOrigin,
): Promise<ApplyResult> {
  if (plan.fileErrors.length > 0 || plan.counts.error > 0)
    return { ok: false, message: "The file has errors: fix them and check it again. Nothing was written." };
  if (plan.writes.length === 0) return { ok: false, message: "Nothing in the file differs from the records: there is nothing to import." };
  const json = JSON.stringify(plan.writes);
  if (new TextEncoder().encode(json).length > MAX_PLAN_JSON_BYTES)
    return { ok: false, message: "This import is too large to write at once: split the file in two." };
  const fields = fieldsOf(kind).filter((f) => f.type !== "contact");
  const v = kind.versionColumn;
  const batchId = newId("bulk");
  const at = (path: string) => `json_extract(j.value, '${path}')`;
  const updates = `SELECT j.value FROM json_each(?1) j WHERE ${at("$.op")} = 'update'`;
  const claimed = "EXISTS (SELECT 1 FROM bulk_operations WHERE id = ?2)";
  // The claim: written only if every record to update is still at the version this plan read, and untouched since the dry run.
  const fresh = `NOT EXISTS (SELECT 1 FROM json_each(?1) j LEFT JOIN ${kind.table} t ON t.id = ${at("$.id")}
      WHERE ${at("$.op")} = 'update' AND (t.id IS NULL OR t.${v} != ${at("$.version")} OR t.updated_at > ?3))`;
  const creates = plan.writes.filter((w) => w.op === "create").length;
  const updated = plan.writes.length - creates;
  const changedColumns = fields.filter((f) => plan.writes.some((w) => w.op === "update" && f.column in w.v));
  const statements = [
    db
      .prepare(
        `INSERT INTO bulk_operations (id, record_type, field, count, actor_id, at) SELECT ?2, ?4, 'import', ?5, ?6, ?7 WHERE ${fresh}`,
      )
      .bind(json, batchId, checkedAt, kind.type, plan.writes.length, actorId, now),
    db
      .prepare(
        `INSERT INTO ${kind.table} (id, ${fields.map((f) => f.column).join(", ")}, ${v}, created_at, updated_at)
         SELECT ${at("$.id")}, ${fields.map((f) => at(`$.v.${f.column}`)).join(", ")}, 1, ?3, ?3 FROM json_each(?1) j WHERE ${at("$.op")} = 'create' AND ${claimed}`,
      )
      .bind(json, batchId, now),
    db
      .prepare(
        `${HISTORY_INSERT} SELECT ?3, ${at("$.id")}, 'created', NULL, ${at("$.v.name")}, 1, ?4, ?2, ?5 FROM json_each(?1) j WHERE ${at("$.op")} = 'create' AND ${claimed}`,
      )
      .bind(json, batchId, kind.type, actorId, now),
    ...changedColumns.map((f) =>
      db
        .prepare(
          `${HISTORY_INSERT} SELECT ?3, t.id, ?4, t.${f.column}, ${at(`$.v.${f.column}`)}, t.${v} + 1, ?5, ?2, ?6
           FROM json_each(?1) j JOIN ${kind.table} t ON t.id = ${at("$.id")}
           WHERE ${at("$.op")} = 'update' AND json_type(j.value, '$.v.${f.column}') IS NOT NULL AND ${claimed}`,
        )
        .bind(json, batchId, kind.type, f.key, actorId, now),
    ),
    db
      .prepare(
        `UPDATE ${kind.table} AS t SET ${changedColumns
          .map(
            (f) =>
              `${f.column} = CASE WHEN json_type(p.value, '$.v.${f.column}') IS NULL THEN t.${f.column} ELSE json_extract(p.value, '$.v.${f.column}') END`,
          )
          .join(", ")}${changedColumns.length ? ", " : ""}${v} = ${v} + 1, updated_at = ?3
         FROM (${updates}) AS p WHERE t.id = json_extract(p.value, '$.id') AND ${claimed}`,
      )
      .bind(json, batchId, now),
    // Its audit entry, stored where the claim was.
    auditStatementWhere(
      db,
      { event: "inventory.imported", portal: "agent", actorId, details: { list: kind.table, created: creates, updated, batch: batchId } },
      origin,
      "EXISTS (SELECT 1 FROM bulk_operations WHERE id = ?)",
      batchId,
    ),
  ];
  let results: D1Result[];
  try {
    results = await db.batch(statements);
  } catch (error) {
    // A record created meanwhile with one of the file's tags: the UNIQUE index refuses, and the batch rolls back whole.
    if (error instanceof Error && /UNIQUE constraint failed/.test(error.message))
      return { ok: false, message: "Another asset now has one of this file's asset tags. Nothing was written: check the file again." };
    throw error;
  }
  if (results[0]!.meta.changes !== 1) return { ok: false, message: CHANGED_SINCE_DRY_RUN };
  return { ok: true, batchId, created: creates, updated };
}
