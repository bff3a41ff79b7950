import { IMPACTS } from "../db/schema";
import { newId } from "../lib/crypto";
import { MINUTE } from "../lib/clock";
import { type BulkField, EDITABLE, type EditableField, type InventoryKind } from "./kinds";
import { ownValue } from "../lib/lookup";

// Set-based SQL on D1 directly: every bulk change is one batch (one transaction), with ids passed
// as one JSON parameter (`json_each`), so no statement nears D1's 100 bound parameters.

export const PAGE_SIZE = 50;
export const UNDO_WINDOW_MS = 10 * MINUTE;

export interface ListFilter {
  q?: string | undefined;
  enums: Record<string, string | undefined>;
  location?: string | undefined;
  group?: string | undefined;
  agent?: string | undefined;
  sort: string;
  dir: "asc" | "desc";
  page: number;
}

export type Row = Record<string, string | number | null> & { id: string; name: string; status: string; impact: string };

interface Where {
  sql: string;
  params: unknown[];
}

// D1 refuses a LIKE pattern over 50 bytes ("LIKE or GLOB pattern too complex"), counted on the
// escaped UTF-8 pattern: the search is bounded there, with a message, rather than answering 5xx.
export const MAX_LIKE_PATTERN_BYTES = 50;

function likePattern(q: string): string {
  return `%${q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

/** True when a search term's LIKE pattern stays inside D1's limit. */
export function searchFits(q: string): boolean {
  return new TextEncoder().encode(likePattern(q)).length <= MAX_LIKE_PATTERN_BYTES;
}

/** The WHERE of a filter. Column names come from the kind's config, never from the request. */
export function filterWhere(kind: InventoryKind, filter: ListFilter, alias = "t"): Where {
  const parts: string[] = [];
  const params: unknown[] = [];
  if (filter.q) {
    const like = likePattern(filter.q);
    parts.push(`(${kind.search.map((col) => `${alias}.${col} LIKE ? ESCAPE '\\'`).join(" OR ")})`);
    params.push(...kind.search.map(() => like));
  }
  for (const [key, value] of Object.entries(filter.enums)) {
    const def = kind.enums[key];
    if (value && def) {
      parts.push(`${alias}.${def.column} = ?`);
      params.push(value);
    }
  }
  for (const field of ["location", "group", "agent"] as const) {
    const value = filter[field];
    if (value === "none") parts.push(`${alias}.${EDITABLE[field]} IS NULL`);
    else if (value) {
      parts.push(`${alias}.${EDITABLE[field]} = ?`);
      params.push(value);
    }
  }
  return { sql: parts.length ? parts.join(" AND ") : "1", params };
}

const SELECT_ROW = (kind: InventoryKind) => `SELECT t.*, t.${kind.versionColumn} AS row_version_value, l.name AS location_name, g.name AS group_name, u.name AS agent_name
  FROM ${kind.table} t LEFT JOIN locations l ON l.id = t.location_id LEFT JOIN groups g ON g.id = t.group_id LEFT JOIN users u ON u.id = t.agent_id`;

export async function listRecords(db: D1Database, kind: InventoryKind, filter: ListFilter): Promise<{ rows: Row[]; total: number }> {
  const where = filterWhere(kind, filter);
  const sortColumn = ownValue(kind.sorts, filter.sort) ?? "name";
  const [rows, total] = await db.batch<Record<string, unknown>>([
    db
      .prepare(`${SELECT_ROW(kind)} WHERE ${where.sql} ORDER BY t.${sortColumn} ${filter.dir === "desc" ? "DESC" : "ASC"}, t.id LIMIT ? OFFSET ?`)
      .bind(...where.params, PAGE_SIZE, (filter.page - 1) * PAGE_SIZE),
    db.prepare(`SELECT count(*) AS n FROM ${kind.table} t WHERE ${where.sql}`).bind(...where.params),
  ]);
  return { rows: rows!.results as Row[], total: Number(total!.results[0]?.n ?? 0) };
}

export async function getRecord(db: D1Database, kind: InventoryKind, id: string): Promise<Row | null> {
  return (await db.prepare(`${SELECT_ROW(kind)} WHERE t.id = ?`).bind(id).first<Row>()) ?? null;
}

export interface Options {
  locations: { id: string; name: string }[];
  groups: { id: string; name: string }[];
  agents: { id: string; name: string; groupIds: string[] }[];
}

/** Everything the dropdowns offer, in one round trip. */
export async function loadOptions(db: D1Database): Promise<Options> {
  const [locations, groups, agents, members] = await db.batch<Record<string, string>>([
    db.prepare("SELECT id, name FROM locations ORDER BY name"),
    db.prepare("SELECT id, name FROM groups ORDER BY name"),
    db.prepare("SELECT id, name FROM users WHERE kind = 'agent' AND active = 1 ORDER BY name"),
    db.prepare("SELECT group_id, agent_id FROM group_members"),
  ]);
  const memberRows = members!.results;
  return {
    locations: locations!.results as Options["locations"],
    groups: groups!.results as Options["groups"],
    agents: (agents!.results as { id: string; name: string }[]).map((a) => ({ ...a, groupIds: memberRows.filter((m) => m.agent_id === a.id).map((m) => m.group_id!) })),
  };
}

export type EditResult = { ok: true; row: Row; changed: EditableField[] } | { ok: false; status: 400 | 403 | 404 | 409; message: string; row?: Row };

function isReadOnly(row: Row): boolean {
  return row.status === "retired";
}

/** A value for a field, checked against what exists; null means "none". */
function checkValue(options: Options, field: EditableField, value: string | null, groupId: string | null): string | null {
  if (field === "impact") return value && (IMPACTS as readonly string[]).includes(value) ? null : "Choose an impact: low, medium or high.";
  if (value === null) return null;
  if (field === "location" && !options.locations.some((l) => l.id === value)) return "That location does not exist.";
  if (field === "group" && !options.groups.some((g) => g.id === value)) return "That group does not exist.";
  if (field === "agent") {
    const agent = options.agents.find((a) => a.id === value);
    if (!agent) return "That agent does not exist or is disabled.";
    if (groupId && !agent.groupIds.includes(groupId)) return "That agent is not in the record's Managed By Group.";
  }
  return null;
}

const HISTORY_INSERT = "INSERT INTO inventory_history (record_type, record_id, field, old_value, new_value, version_after, actor_id, batch_id, at)";

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
  if (Number(row.row_version_value) !== version) return { ok: false, status: 409, message: "Changed by someone else: this row now shows the current values.", row };
  if (isReadOnly(row)) return { ok: false, status: 403, message: "Retired records are read-only.", row };
  const options = await loadOptions(db);
  const current = Object.fromEntries(Object.entries(EDITABLE).map(([f, col]) => [f, (row[col] as string | null) ?? null])) as Record<EditableField, string | null>;
  // A row's form carries all four dropdowns; only the ones whose value differs were changed.
  const requested = Object.fromEntries(Object.entries(changes).filter(([f, v]) => current[f as EditableField] !== v)) as typeof changes;
  const next = { ...current, ...requested };
  for (const field of Object.keys(requested) as EditableField[]) {
    const problem = checkValue(options, field, next[field], next.group);
    if (problem) return { ok: false, status: 400, message: problem, row };
  }
  // A group change that leaves the agent outside the new group clears the agent.
  if (next.agent && next.group && !options.agents.find((a) => a.id === next.agent)?.groupIds.includes(next.group)) {
    if (!("agent" in requested)) next.agent = null;
  }
  const changed = (Object.keys(EDITABLE) as EditableField[]).filter((f) => current[f] !== next[f]);
  if (changed.length === 0) return { ok: true, row, changed };

  const columns = Object.fromEntries(changed.map((f) => [f, { column: EDITABLE[f], value: next[f] }]));
  const written = await writeVersioned(db, kind, id, version, columns, actorId, now);
  const after = (await getRecord(db, kind, id))!;
  if (!written) return { ok: false, status: 409, message: "Changed by someone else: this row now shows the current values.", row: after };
  return { ok: true, row: after, changed };
}

/**
 * Write columns of one record if its version is still `version`, with a history row per field,
 * all in one transaction. False when the version had moved on (nothing written).
 */
export async function writeVersioned(
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
      .prepare(`${HISTORY_INSERT} SELECT ?, id, ?, ${column}, ?, ${kind.versionColumn} + 1, ?, NULL, ? FROM ${kind.table} WHERE ${guard} AND ${column} IS NOT ?`)
      .bind(kind.type, field, value, actorId, now, id, version, value),
  );
  statements.push(
    db
      .prepare(`UPDATE ${kind.table} SET ${entries.map(([, f]) => `${f.column} = ?`).join(", ")}, ${kind.versionColumn} = ${kind.versionColumn} + 1, updated_at = ? WHERE ${guard}`)
      .bind(...entries.map(([, f]) => f.value), now, id, version),
  );
  const results = await db.batch(statements);
  return results.at(-1)!.meta.changes === 1;
}

export type Scope = { ids: string[] } | { filter: ListFilter };

function scopeWhere(kind: InventoryKind, scope: Scope): Where {
  if ("ids" in scope) return { sql: "t.id IN (SELECT value FROM json_each(?))", params: [JSON.stringify(scope.ids)] };
  return filterWhere(kind, scope.filter);
}

export async function countScope(db: D1Database, kind: InventoryKind, scope: Scope): Promise<{ total: number; readOnly: number }> {
  const where = scopeWhere(kind, scope);
  const row = await db
    .prepare(`SELECT count(*) AS total, sum(t.status = 'retired') AS read_only FROM ${kind.table} t WHERE ${where.sql}`)
    .bind(...where.params)
    .first<{ total: number; read_only: number | null }>();
  return { total: row?.total ?? 0, readOnly: row?.read_only ?? 0 };
}

export type BulkResult = { ok: true; batchId: string; changed: number; matched: number } | { ok: false; message: string };

/**
 * Set one field on every record in scope, in one transaction: an operation row, a history row
 * per record that changes, then one UPDATE. Refused whole when a selected id is unknown, a
 * record is read-only, or (agents) a record's group does not include the agent.
 */
export async function bulkUpdate(db: D1Database, kind: InventoryKind, scope: Scope, field: BulkField, value: string | null, actorId: string, now: number): Promise<BulkResult> {
  const options = await loadOptions(db);
  const problem = checkValue(options, field, value, null);
  if (problem) return { ok: false, message: problem };
  const { total, readOnly } = await countScope(db, kind, scope);
  if ("ids" in scope && total !== new Set(scope.ids).size) return { ok: false, message: `${new Set(scope.ids).size - total} of the selected records do not exist. Nothing was changed.` };
  if (total === 0) return { ok: false, message: "Nothing is selected." };
  if (readOnly > 0) return { ok: false, message: `${readOnly} of the selected records are retired and read-only. Nothing was changed.` };
  const where = scopeWhere(kind, scope);
  const column = EDITABLE[field];
  let agentGuard = "1";
  const agentParams: unknown[] = [];
  if (field === "agent" && value) {
    const groupIds = options.agents.find((a) => a.id === value)!.groupIds;
    agentGuard = `(t.group_id IS NULL OR t.group_id IN (SELECT value FROM json_each(?)))`;
    agentParams.push(JSON.stringify(groupIds));
    const outside = await db.prepare(`SELECT count(*) AS n FROM ${kind.table} t WHERE ${where.sql} AND NOT ${agentGuard}`).bind(...where.params, ...agentParams).first<{ n: number }>();
    if (outside && outside.n > 0) return { ok: false, message: `${outside.n} of the selected records belong to a group this agent is not in. Nothing was changed.` };
  }
  const batchId = newId("bulk");
  // Every statement repeats the guards, so a record that turned read-only meanwhile changes nothing at all.
  const guards = `${where.sql} AND ${agentGuard} AND NOT EXISTS (SELECT 1 FROM ${kind.table} t WHERE ${where.sql} AND t.status = 'retired')`;
  const guardParams = [...where.params, ...agentParams, ...where.params];
  const differs = `t.${column} IS NOT ?`;
  const results = await db.batch([
    db.prepare(`INSERT INTO bulk_operations (id, record_type, field, count, actor_id, at) VALUES (?, ?, ?, (SELECT count(*) FROM ${kind.table} t WHERE ${guards} AND ${differs}), ?, ?)`).bind(batchId, kind.type, field, ...guardParams, value, actorId, now),
    db
      .prepare(
        `${HISTORY_INSERT}
         SELECT ?, t.id, ?, t.${column}, ?, t.${kind.versionColumn} + 1, ?, ?, ? FROM ${kind.table} t WHERE ${guards} AND ${differs}`,
      )
      .bind(kind.type, field, value, actorId, batchId, now, ...guardParams, value),
    db
      .prepare(`UPDATE ${kind.table} AS t SET ${column} = ?, ${kind.versionColumn} = ${kind.versionColumn} + 1, updated_at = ? WHERE ${guards} AND ${differs}`)
      .bind(value, now, ...guardParams, value),
  ]);
  return { ok: true, batchId, changed: results[2]!.meta.changes, matched: total };
}

export type UndoResult = { ok: true; restored: number; skipped: number } | { ok: false; message: string };

/**
 * Undo a bulk change within 10 minutes: each record goes back to its previous value, unless
 * someone changed it since (its version moved on). Claimed with a token, so of two parallel
 * Undos exactly one runs.
 */
export async function undoBulk(db: D1Database, kind: InventoryKind, batchId: string, actorId: string, now: number): Promise<UndoResult> {
  const op = await db.prepare("SELECT * FROM bulk_operations WHERE id = ? AND record_type = ?").bind(batchId, kind.type).first<{ field: BulkField; at: number; undone_at: number | null; count: number }>();
  if (!op) return { ok: false, message: "That change does not exist." };
  if (op.undone_at) return { ok: false, message: "That change was already undone." };
  if (now - op.at > UNDO_WINDOW_MS) return { ok: false, message: "Undo is available for 10 minutes after a change; that one is older." };
  const token = newId("undo");
  const column = EDITABLE[op.field];
  const claimed = `EXISTS (SELECT 1 FROM bulk_operations WHERE id = ? AND undo_token = ?)`;
  const untouched = `h.batch_id = ? AND h.record_id = t.id AND t.${kind.versionColumn} = h.version_after`;
  const results = await db.batch([
    db.prepare("UPDATE bulk_operations SET undone_at = ?, undo_token = ? WHERE id = ? AND undone_at IS NULL AND at >= ?").bind(now, token, batchId, now - UNDO_WINDOW_MS),
    db
      .prepare(
        `${HISTORY_INSERT}
         SELECT ?, t.id, ?, t.${column}, h.old_value, t.${kind.versionColumn} + 1, ?, ?, ? FROM ${kind.table} t JOIN inventory_history h ON ${untouched} WHERE ${claimed}`,
      )
      .bind(kind.type, op.field, actorId, `undo:${batchId}`, now, batchId, batchId, token),
    db
      .prepare(
        `UPDATE ${kind.table} AS t SET ${column} = (SELECT h.old_value FROM inventory_history h WHERE ${untouched}),
           ${kind.versionColumn} = ${kind.versionColumn} + 1, updated_at = ?
         WHERE EXISTS (SELECT 1 FROM inventory_history h WHERE ${untouched}) AND ${claimed}`,
      )
      .bind(batchId, now, batchId, batchId, token),
  ]);
  if (results[0]!.meta.changes !== 1) return { ok: false, message: "That change was already undone." };
  const restored = results[2]!.meta.changes;
  return { ok: true, restored, skipped: op.count - restored };
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
      `SELECT h.field, h.old_value, h.new_value, h.at, h.batch_id, u.name AS actor_name FROM inventory_history h
       LEFT JOIN users u ON u.id = h.actor_id WHERE h.record_type = ? AND h.record_id = ? ORDER BY h.id DESC LIMIT 200`,
    )
    .bind(kind.type, id)
    .all<HistoryEntry>();
  return result.results;
}
