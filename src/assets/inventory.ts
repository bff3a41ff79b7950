import { changedAny } from "../db";
import { IMPACTS } from "../db/schema";
import { newId } from "../lib/crypto";
import { MINUTE } from "../lib/clock";
import { type BulkField, EDITABLE, type EditableField, type InventoryKind } from "./kinds";
import {
  agentFitsGroupWhere,
  agentLeavesGroupSql,
  filterWhere,
  getRecord,
  type ListFilter,
  loadOptions,
  type Options,
  type Row,
  settleAssignment,
  type Where,
} from "./listing";

// Set-based SQL on D1 directly: every bulk change is one batch (one transaction), with ids passed
// as one JSON parameter (`json_each`), so no statement nears D1's 100 bound parameters.

export const UNDO_WINDOW_MS = 10 * MINUTE;

/** `clearedAgent`: the agent a group change took off the record, as settleAssignment rules. */
export type EditResult =
  | { ok: true; row: Row; changed: EditableField[]; clearedAgent?: boolean }
  | { ok: false; status: 400 | 403 | 404 | 409; message: string; row?: Row };

function isReadOnly(row: Row): boolean {
  return row.status === "retired";
}

/** A value for a field, checked against what exists; null means "none". */
function checkValue(options: Options, field: BulkField | "impact", value: string | null): string | null {
  if (field === "impact") return value && (IMPACTS as readonly string[]).includes(value) ? null : "Choose an impact: low, medium or high.";
  if (value === null) return null;
  if (field === "location" && !options.locations.some((l) => l.id === value)) return "That location does not exist.";
  if (field === "group" && !options.groups.some((g) => g.id === value)) return "That group does not exist.";
  if (field === "agent" && !options.agents.some((a) => a.id === value)) return "That agent does not exist or is disabled.";
  return null;
}

export const HISTORY_INSERT =
  "INSERT INTO inventory_history (record_type, record_id, field, old_value, new_value, version_after, actor_id, batch_id, at)";

/**
 * Inline edit of one record: applied only if `version` is still the record's version (else 409
 * with the current row: no lost updates). Each changed field gets a history row, in the same
 * transaction as the update.
 */
export async function editInline(
  db: D1Database,
  kind: InventoryKind,
  id: string,
  version: number,
  changes: Partial<Record<EditableField, string | null>>,
  actorId: string,
  now: number,
): Promise<EditResult> {
  const row = await getRecord(db, kind, id);
  if (!row) return { ok: false, status: 404, message: `That ${kind.noun} does not exist.` };
  if (Number(row.row_version_value) !== version) {
    // A retry of an edit that was saved (its answer lost on the way) finds its own change: a success, not a conflict.
    const own = await ownEditAt(db, kind, row, version, changes, actorId);
    if (own) return { ok: true, row, changed: own.changed, clearedAgent: own.clearedAgent };
    return { ok: false, status: 409, message: "Changed by someone else: this row now shows the current values.", row };
  }
  if (isReadOnly(row)) return { ok: false, status: 403, message: "Retired records are read-only.", row };
  const options = await loadOptions(db);
  const current = Object.fromEntries(Object.entries(EDITABLE).map(([f, col]) => [f, (row[col] as string | null) ?? null])) as Record<
    EditableField,
    string | null
  >;
  // A row's form carries all four dropdowns; only the ones whose value differs were changed.
  const requested = Object.fromEntries(Object.entries(changes).filter(([f, v]) => current[f as EditableField] !== v)) as typeof changes;
  const next = { ...current, ...requested };
  for (const field of ["impact", "location", "group"] as const) {
    const problem = field in requested ? checkValue(options, field, next[field]) : null;
    if (problem) return { ok: false, status: 400, message: problem, row };
  }
  const settled = settleAssignment(options, { group: current.group, agent: current.agent }, requested);
  if (!settled.ok) return { ok: false, status: 400, message: settled.message, row };
  next.agent = settled.agent;
  const changed = (Object.keys(EDITABLE) as EditableField[]).filter((f) => current[f] !== next[f]);
  if (changed.length === 0) return { ok: true, row, changed };
  const clearedAgent = settled.cleared;

  const columns = Object.fromEntries(changed.map((f) => [f, { column: EDITABLE[f], value: next[f] }]));
  let written: boolean;
  try {
    written = await writeVersioned(db, kind, id, version, columns, actorId, now);
  } catch (error) {
    // The batch may have committed and only its answer been lost: look before answering. If that
    // look fails too, the error stands (503, "try again"), and a retry finds its own change (above).
    const stored = await getRecord(db, kind, id).catch(() => null);
    if (!stored || !(await ownEditAt(db, kind, stored, version, next, actorId).catch(() => null))) throw error;
    written = true;
  }
  // A saved change is answered as saved even when reading the row back fails: it is what was written.
  let readFailure: unknown;
  const after =
    (await getRecord(db, kind, id).catch((failure: unknown) => {
      readFailure = failure;
      return null;
    })) ?? (written ? rowAfter(kind, row, next, version, options, now) : null);
  if (!after) throw readFailure;
  if (!written) return { ok: false, status: 409, message: "Changed by someone else: this row now shows the current values.", row: after };
  return { ok: true, row: after, changed, clearedAgent };
}

/** The row as this edit left it: the row it was made over, with its values and names, one version on. */
function rowAfter(
  kind: InventoryKind,
  row: Row,
  next: Record<EditableField, string | null>,
  version: number,
  options: Options,
  now: number,
): Row {
  const name = (list: readonly { id: string; name: string }[], id: string | null) =>
    id ? (list.find((o) => o.id === id)?.name ?? null) : null;
  const after: Row = { ...row, row_version_value: version + 1, [kind.versionColumn]: version + 1, updated_at: now };
  for (const [field, column] of Object.entries(EDITABLE))
    (after as Record<string, string | number | null>)[column] = next[field as EditableField];
  after.location_name = name(options.locations, next.location);
  after.group_name = name(options.groups, next.group);
  after.agent_name = next.agent === row.agent_id ? (row.agent_name ?? null) : name(options.agents, next.agent);
  return after;
}

/**
 * This person's inline edit over `version`, if it is what the record holds now: the record is one
 * version on, the history rows of that version are all theirs, and every field holds what they
 * posted (an agent the rule cleared with a group change shows as the agent posted, now none). A
 * different edit over the same version, theirs or anyone's, is not this one. Null otherwise.
 */
async function ownEditAt(
  db: D1Database,
  kind: InventoryKind,
  current: Row,
  version: number,
  posted: Partial<Record<EditableField, string | null>>,
  actorId: string,
) {
  if (Number(current.row_version_value) !== version + 1) return null;
  const { results } = await db
    .prepare(
      "SELECT field, old_value, new_value, actor_id FROM inventory_history WHERE record_type = ? AND record_id = ? AND version_after = ? AND batch_id IS NULL",
    )
    .bind(kind.type, current.id, version + 1)
    .all<{ field: string; old_value: string | null; new_value: string | null; actor_id: string }>();
  if (results.length === 0 || !results.every((h) => h.actor_id === actorId && h.field in EDITABLE)) return null;
  const cleared = results.find((h) => h.field === "agent" && h.new_value === null && results.some((g) => g.field === "group"));
  const clearedAgent = cleared !== undefined && posted.agent === cleared.old_value;
  for (const [field, column] of Object.entries(EDITABLE) as [EditableField, string][]) {
    if (!(field in posted)) continue;
    const holds = (current[column] as string | null) ?? null;
    if (posted[field] !== holds && !(field === "agent" && clearedAgent && holds === null)) return null;
  }
  return { changed: results.map((h) => h.field as EditableField), clearedAgent };
}

/**
 * Write columns of one record if its version is still `version`, with a history row per field,
 * all in one transaction. False when the version had moved on (nothing written).
 */
async function writeVersioned(
  db: D1Database,
  kind: InventoryKind,
  id: string,
  version: number,
  fields: Record<string, { column: string; value: string | null }>,
  actorId: string,
  now: number,
): Promise<boolean> {
  const guard = `id = ? AND ${kind.versionColumn} = ?`;
  const entries = Object.entries(fields);
  const statements = entries.map(([field, { column, value }]) =>
    db
      .prepare(
        `${HISTORY_INSERT} SELECT ?, id, ?, ${column}, ?, ${kind.versionColumn} + 1, ?, NULL, ? FROM ${kind.table} WHERE ${guard} AND ${column} IS NOT ?`,
      )
      .bind(kind.type, field, value, actorId, now, id, version, value),
  );
  statements.push(
    db
      .prepare(
        `UPDATE ${kind.table} SET ${entries.map(([, f]) => `${f.column} = ?`).join(", ")}, ${kind.versionColumn} = ${kind.versionColumn} + 1, updated_at = ? WHERE ${guard}`,
      )
      .bind(...entries.map(([, f]) => f.value), now, id, version),
  );
  const results = await db.batch(statements);
  return changedAny(results.at(-1)!);
}

/** A failed write of one record, as the forms and the inline edit answer it. */
export type WriteRefusal = { ok: false; status: 404 | 409; message: string };

export const DUPLICATE_TAG = "Another asset already has this tag.";

/**
 * The UNIQUE index on assets.asset_tag decides duplicates: no read-then-write, so of
 * two parallel writes of one tag exactly one succeeds and the other is a 409, never a 5xx.
 */
function duplicateTag(error: unknown): WriteRefusal | null {
  const message = error instanceof Error ? error.message : "";
  return /UNIQUE constraint failed: assets\.asset_tag/.test(message) ? { ok: false, status: 409, message: DUPLICATE_TAG } : null;
}

/** A new record from a form's checked columns, with its "created" history row, in one transaction. */
export async function createRecord(
  db: D1Database,
  kind: InventoryKind,
  columns: Record<string, string | null>,
  actorId: string,
  now: number,
): Promise<{ ok: true; id: string } | WriteRefusal> {
  const id = newId(kind.type === "asset" ? "ast" : "sw");
  const names = Object.keys(columns);
  try {
    await db.batch([
      db
        .prepare(
          `INSERT INTO ${kind.table} (id, ${names.join(", ")}, ${kind.versionColumn}, created_at, updated_at) VALUES (?, ${names.map(() => "?").join(", ")}, 1, ?, ?)`,
        )
        .bind(id, ...Object.values(columns), now, now),
      db
        .prepare(`${HISTORY_INSERT} VALUES (?, ?, 'created', NULL, ?, 1, ?, NULL, ?)`)
        .bind(kind.type, id, columns.name ?? null, actorId, now),
    ]);
  } catch (error) {
    const refusal = duplicateTag(error);
    if (refusal) return refusal;
    throw error;
  }
  return { ok: true, id };
}

/** A form's edit: the changed columns, if the record is still at `version`. */
export async function editRecord(
  db: D1Database,
  kind: InventoryKind,
  id: string,
  version: number,
  fields: Record<string, { column: string; value: string | null }>,
  actorId: string,
  now: number,
): Promise<{ ok: true } | WriteRefusal> {
  if (Object.keys(fields).length === 0) return { ok: true };
  try {
    if (await writeVersioned(db, kind, id, version, fields, actorId, now)) return { ok: true };
  } catch (error) {
    const refusal = duplicateTag(error);
    if (refusal) return refusal;
    throw error;
  }
  return { ok: false, status: 409, message: "Changed by someone else while you were editing: the form now shows the current values." };
}

/** Delete a record and its history, if it is still at `version`. */
export async function deleteRecord(db: D1Database, kind: InventoryKind, id: string, version: number): Promise<{ ok: true } | WriteRefusal> {
  const [deleted] = await db.batch([
    db.prepare(`DELETE FROM ${kind.table} WHERE id = ? AND ${kind.versionColumn} = ?`).bind(id, version),
    db.prepare("DELETE FROM inventory_history WHERE record_type = ? AND record_id = ? AND changes() = 1").bind(kind.type, id),
  ]);
  if (changedAny(deleted!)) return { ok: true };
  if (!(await getRecord(db, kind, id))) return { ok: false, status: 404, message: `That ${kind.noun} does not exist.` };
  return { ok: false, status: 409, message: "Changed by someone else: review the current values before deleting." };
}

export type Scope = { ids: string[] } | { filter: ListFilter };

function scopeWhere(kind: InventoryKind, scope: Scope): Where {
  if ("ids" in scope) return { sql: "t.id IN (SELECT value FROM json_each(?))", params: [JSON.stringify(scope.ids)] };
  return filterWhere(kind, scope.filter);
}

/**
 * What a bulk change would do to its scope, by reason: how many records it changes,
 * and how many it leaves as they are because they already have the value, are retired
 * (read-only), or (agents) belong to a group the agent is not in.
 */
export interface BulkPlan {
  total: number;
  change: number;
  alreadySet: number;
  retired: number;
  outsideGroup: number;
  /** Of the records it changes (Assign Group), those whose agent is not in the new group: it clears their agent. */
  clearsAgent: number;
}

interface BulkGuards {
  where: Where;
  column: string;
  fits: Where;
}

/** The groups of the agent a bulk change assigns, whose records alone it may change; null for other fields. */
export function agentGroups(options: Options, field: BulkField, value: string | null): string[] | null {
  const agent = field === "agent" && value ? options.agents.find((a) => a.id === value) : undefined;
  return agent ? agent.groupIds : null;
}

export function fitsWhere(groupIds: readonly string[] | null, placeholder = "?"): Where {
  return groupIds ? agentFitsGroupWhere({ groupIds }, placeholder) : { sql: "1", params: [] };
}

function bulkGuards(kind: InventoryKind, options: Options, scope: Scope, field: BulkField, value: string | null): BulkGuards {
  return { where: scopeWhere(kind, scope), column: EDITABLE[field], fits: fitsWhere(agentGroups(options, field, value)) };
}

async function countPlan(
  db: D1Database,
  kind: InventoryKind,
  guards: BulkGuards,
  field: BulkField,
  value: string | null,
): Promise<BulkPlan> {
  const { where, column, fits } = guards;
  const live = "t.status != 'retired'";
  const changes = `${live} AND t.${column} IS NOT ? AND ${fits.sql}`;
  const clears = field === "group" ? agentLeavesGroupSql("?") : "0";
  const row = await db
    .prepare(
      `SELECT count(*) AS total, coalesce(sum(NOT (${live})), 0) AS retired,
         coalesce(sum(${live} AND t.${column} IS ?), 0) AS already_set,
         coalesce(sum(${live} AND t.${column} IS NOT ? AND NOT ${fits.sql}), 0) AS outside_group,
         coalesce(sum(${changes} AND ${clears}), 0) AS clears_agent
       FROM ${kind.table} t WHERE ${where.sql}`,
    )
    .bind(value, value, ...fits.params, value, ...fits.params, ...(field === "group" ? [value, value] : []), ...where.params)
    .first<{ total: number; retired: number; already_set: number; outside_group: number; clears_agent: number }>();
  const total = row?.total ?? 0;
  const retired = row?.retired ?? 0;
  const alreadySet = row?.already_set ?? 0;
  const outsideGroup = row?.outside_group ?? 0;
  return {
    total,
    retired,
    alreadySet,
    outsideGroup,
    change: total - retired - alreadySet - outsideGroup,
    clearsAgent: row?.clears_agent ?? 0,
  };
}

/** The plan of a bulk change, for its confirmation page; or why it cannot be made at all. */
export async function planBulk(
  db: D1Database,
  kind: InventoryKind,
  scope: Scope,
  field: BulkField,
  value: string | null,
  options?: Options,
): Promise<{ ok: true; plan: BulkPlan } | { ok: false; message: string }> {
  options ??= await loadOptions(db);
  const problem = checkValue(options, field, value);
  if (problem) return { ok: false, message: problem };
  const plan = await countPlan(db, kind, bulkGuards(kind, options, scope, field, value), field, value);
  if ("ids" in scope && plan.total !== new Set(scope.ids).size)
    return {
      ok: false,
      message: `${new Set(scope.ids).size - plan.total} of the selected records no longer exist: reload the list and select again. Nothing was changed.`,
    };
  if (plan.total === 0) return { ok: false, message: "Nothing is selected." };
  return { ok: true, plan };
}

/** What a bulk change changes: the records in scope that are live, fit the agent's groups and lack the value. */
export function changeWhere(_kind: InventoryKind, where: Where, field: BulkField, value: string | null, fits: Where): Where {
  return {
    sql: `${where.sql} AND t.status != 'retired' AND ${fits.sql} AND t.${EDITABLE[field]} IS NOT ?`,
    params: [...where.params, ...fits.params, value],
  };
}

/** Written at once, or (more than BULK_CHUNK records) started as a job that a Durable Object runs (bulk-job.ts). */
export type BulkResult = ({ ok: true; batchId: string; job: boolean } & BulkPlan) | { ok: false; message: string; retryAfterMs?: number };

/**
 * Set one field on every record in scope that can take it, in one transaction: an operation row,
 * a history row per record that changes, then one UPDATE. Records that already have the value,
 * retired ones and (agents) those of a group the agent is not in are left as they are, and the
 * result counts them by reason. Refused whole when a selected id is unknown.
 */
export async function bulkUpdate(
  db: D1Database,
  kind: InventoryKind,
  scope: Scope,
  field: BulkField,
  value: string | null,
  actorId: string,
  now: number,
  prepared?: { options: Options; plan: BulkPlan },
): Promise<BulkResult> {
  const options = prepared?.options ?? (await loadOptions(db));
  const planned = prepared ? { ok: true as const, plan: prepared.plan } : await planBulk(db, kind, scope, field, value, options);
  if (!planned.ok) return planned;
  const guards = bulkGuards(kind, options, scope, field, value);
  const { where, column, fits } = guards;
  const batchId = newId("bulk");
  // Every statement repeats the guards, so a record that turned read-only meanwhile is left alone by all of them.
  const { sql: changes, params } = changeWhere(kind, where, field, value, fits);
  const selected = "ids" in scope ? JSON.stringify([...new Set(scope.ids)]) : null;
  const v = kind.versionColumn;
  // Assign Group takes off, in the same transaction, the agent of a record who is not in the new group.
  const clears = field === "group" ? agentLeavesGroupSql("?") : null;
  const statements = [
    db
      .prepare(
        `INSERT INTO bulk_operations (id, record_type, field, count, actor_id, at, selected_ids) VALUES (?, ?, ?, (SELECT count(*) FROM ${kind.table} t WHERE ${changes}), ?, ?, ?)`,
      )
      .bind(batchId, kind.type, field, ...params, actorId, now, selected),
    db
      .prepare(`${HISTORY_INSERT} SELECT ?, t.id, ?, t.${column}, ?, t.${v} + 1, ?, ?, ? FROM ${kind.table} t WHERE ${changes}`)
      .bind(kind.type, field, value, actorId, batchId, now, ...params),
  ];
  if (clears) {
    statements.push(
      db
        .prepare(
          `${HISTORY_INSERT} SELECT ?, t.id, 'agent', t.agent_id, NULL, t.${v} + 1, ?, ?, ? FROM ${kind.table} t WHERE ${changes} AND ${clears} RETURNING record_id`,
        )
        .bind(kind.type, actorId, batchId, now, ...params, value, value),
    );
  }
  const agentSet = clears ? `, agent_id = CASE WHEN ${clears} THEN NULL ELSE agent_id END` : "";
  statements.push(
    db
      .prepare(`UPDATE ${kind.table} AS t SET ${column} = ?${agentSet}, ${v} = ${v} + 1, updated_at = ? WHERE ${changes} RETURNING id`)
      .bind(value, ...(clears ? [value, value] : []), now, ...params),
  );
  const results = await db.batch(statements);
  // Rows returned, not meta.changes, which also counts the search index's trigger writes.
  const changed = results.at(-1)!.results.length;
  const clearsAgent = clears ? results[2]!.results.length : 0;
  // What the counts said a moment ago, corrected by what the UPDATE really changed (a record edited in between).
  const plan = planned.plan;
  return {
    ok: true,
    batchId,
    job: false,
    ...plan,
    change: changed,
    clearsAgent,
    alreadySet: Math.max(0, plan.total - plan.retired - plan.outsideGroup - changed),
  };
}

/** The rows a "selected rows" change of this person was asked for, to select them again. */
export async function selectionOf(db: D1Database, kind: InventoryKind, batchId: string, actorId: string): Promise<string[]> {
  const row = await db
    .prepare("SELECT selected_ids FROM bulk_operations WHERE id = ? AND record_type = ? AND actor_id = ?")
    .bind(batchId, kind.type, actorId)
    .first<{ selected_ids: string | null }>();
  if (!row?.selected_ids) return [];
  const ids: unknown = JSON.parse(row.selected_ids);
  return Array.isArray(ids) ? ids.filter((id): id is string => typeof id === "string") : [];
}

export interface HistoryEntry {
  field: string;
  old_value: string | null;
  new_value: string | null;
  at: number;
  actor_name: string | null;
  batch_id: string | null;
}

export async function recordHistory(db: D1Database, kind: InventoryKind, id: string): Promise<HistoryEntry[]> {
  const result = await db
    .prepare(
      `SELECT h.field, h.old_value, h.new_value, h.at, h.batch_id, coalesce(u.name, r.pseudonym) AS actor_name FROM inventory_history h
       LEFT JOIN users u ON u.id = h.actor_id LEFT JOIN removed_people r ON r.id = h.actor_id WHERE h.record_type = ? AND h.record_id = ? ORDER BY h.id DESC LIMIT 200`,
    )
    .bind(kind.type, id)
    .all<HistoryEntry>();
  return result.results;
}
