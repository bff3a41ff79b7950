import { changedAny } from "../db";
import { IMPACTS } from "../db/schema";
import { newId } from "../lib/crypto";
import { MINUTE } from "../lib/clock";
import { type BulkField, EDITABLE, type EditableField, type InventoryKind } from "./kinds";
import { ownValue } from "../lib/lookup";

// Set-based SQL on D1 directly: every bulk change is one batch (one transaction), with ids passed
// as one JSON parameter (`json_each`), so no statement nears D1's 100 bound parameters.

export const PAGE_SIZE = 50;
export const UNDO_WINDOW_MS = 10 * MINUTE;
/** Counts stop here: beyond it a list says "1,000+" (the exact number is computed only for a bulk change). */
export const COUNT_CAP = 1000;

/** Where a page starts: after (Next) or before (Previous) the row with this sort value and id. */
export interface Cursor {
  dir: "after" | "before";
  value: string | number | null;
  id: string;
}

export interface ListFilter {
  q?: string | undefined;
  enums: Record<string, string | undefined>;
  location?: string | undefined;
  group?: string | undefined;
  agent?: string | undefined;
  sort: string;
  dir: "asc" | "desc";
  /** The page's number, shown to the person; the cursor decides what the page holds. */
  page: number;
  cursor?: Cursor | undefined;
}

export type Row = Record<string, string | number | null> & { id: string; name: string; status: string; impact: string };

export interface ListPage {
  rows: Row[];
  hasNext: boolean;
  hasPrevious: boolean;
}

/** Matches of a filter, counted up to COUNT_CAP + 1: `capped` when there are more than COUNT_CAP. */
export interface MatchCount {
  total: number;
  capped: boolean;
}

interface Where {
  sql: string;
  params: unknown[];
}

// D1 refuses a LIKE pattern over 50 bytes ("LIKE or GLOB pattern too complex"), counted on the
// escaped UTF-8 pattern. LIKE now serves only terms too short for the trigram index, which fit.
export const MAX_LIKE_PATTERN_BYTES = 50;
/** The trigram index finds substrings of at least 3 characters; shorter terms use LIKE. */
const TRIGRAM = 3;

function likePattern(q: string): string {
  return `%${q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

/**
 * User text as one FTS5 phrase: quoted, inner quotes doubled, so no search syntax ever reaches
 * MATCH. Control characters (a NUL would end the query string early) become spaces.
 */
function ftsPhrase(q: string): string {
  return `"${q.replace(/[\u0000-\u001f\u007f]/g, " ").replaceAll('"', '""')}"`;
}

/** The WHERE of a filter. Column names come from the kind's config, never from the request. */
export function filterWhere(kind: InventoryKind, filter: ListFilter, alias = "t"): Where {
  const parts: string[] = [];
  const params: unknown[] = [];
  if (filter.q && [...filter.q].length >= TRIGRAM) {
    parts.push(`${alias}.rowid IN (SELECT rowid FROM ${kind.table}_fts WHERE ${kind.table}_fts MATCH ?)`);
    params.push(ftsPhrase(filter.q));
  } else if (filter.q) {
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

/**
 * Rows after (or before) the cursor in the order (column, id), both ascending or both descending.
 * SQLite sorts NULL first ascending and last descending; a nullable column is handled so.
 */
function keysetWhere(column: string, forward: boolean, cursor: Cursor): Where {
  const later = forward ? ">" : "<";
  const col = `t.${column}`;
  if (cursor.value === null) {
    // Past the NULLs going forward means every non-NULL value; going backward, nothing but NULLs.
    return forward ? { sql: `((${col} IS NULL AND t.id > ?) OR ${col} IS NOT NULL)`, params: [cursor.id] } : { sql: `(${col} IS NULL AND t.id < ?)`, params: [cursor.id] };
  }
  const tail = forward ? "" : ` OR ${col} IS NULL`;
  return { sql: `(${col} ${later} ? OR (${col} = ? AND t.id ${later} ?)${tail})`, params: [cursor.value, cursor.value, cursor.id] };
}

/**
 * One page of a list: 50 rows by keyset (a page far into the list costs what the first does) and
 * the dropdowns' options, in one D1 batch (one round trip). The count comes after (countMatches).
 */
/** The page query of a list (the rows only, one more than a page), shared with the bench's floor route. */
export function pageQuery(kind: InventoryKind, filter: ListFilter): Where {
  const where = filterWhere(kind, filter);
  const sortColumn = ownValue(kind.sorts, filter.sort) ?? "name";
  // Reading backwards (Previous) walks the order reversed; listRecords turns the page the right way up.
  const walkAscending = (filter.dir !== "desc") !== (filter.cursor?.dir === "before");
  const order = walkAscending ? "ASC" : "DESC";
  const keyset = filter.cursor ? keysetWhere(sortColumn, walkAscending, filter.cursor) : { sql: "1", params: [] };
  return {
    sql: `${SELECT_ROW(kind)} WHERE ${where.sql} AND ${keyset.sql} ORDER BY t.${sortColumn} ${order}, t.id ${order} LIMIT ?`,
    params: [...where.params, ...keyset.params, PAGE_SIZE + 1],
  };
}

export async function listRecords(db: D1Database, kind: InventoryKind, filter: ListFilter): Promise<ListPage & { options: Options }> {
  const rowsQuery = pageQuery(kind, filter);
  const backwards = filter.cursor?.dir === "before";
  const [page, ...options] = await db.batch<Record<string, unknown>>([db.prepare(rowsQuery.sql).bind(...rowsQuery.params), ...optionStatements(db)]);
  const fetched = page!.results as Row[];
  const more = fetched.length > PAGE_SIZE;
  const rows = fetched.slice(0, PAGE_SIZE);
  if (backwards) rows.reverse();
  return {
    rows,
    hasNext: backwards ? true : more,
    hasPrevious: backwards ? more : filter.cursor !== undefined,
    options: optionsFrom(options),
  };
}

/**
 * How many records match, up to COUNT_CAP + 1. It is asked for after the page (htmx), so a
 * selective filter over many records, whose count must check thousands of rows, never holds up
 * the rows themselves.
 */
export async function countMatches(db: D1Database, kind: InventoryKind, filter: ListFilter): Promise<MatchCount> {
  const where = filterWhere(kind, filter);
  const row = await db.prepare(`SELECT count(*) AS n FROM (SELECT 1 FROM ${kind.table} t WHERE ${where.sql} LIMIT ?)`).bind(...where.params, COUNT_CAP + 1).first<{ n: number }>();
  const n = Number(row?.n ?? 0);
  return { total: Math.min(n, COUNT_CAP), capped: n > COUNT_CAP };
}

/** A cursor in a URL: base64url of [value, id], so page links can be shared and reloaded. */
export function encodeCursor(cursor: Cursor): string {
  return btoa(String.fromCharCode(...new TextEncoder().encode(JSON.stringify([cursor.value, cursor.id])))).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** The cursor a URL carries, or null when it is not one this app wrote. */
export function decodeCursor(dir: Cursor["dir"], text: string): Cursor | null {
  try {
    const json = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(Uint8Array.from(atob(text.replace(/-/g, "+").replace(/_/g, "/")), (ch) => ch.charCodeAt(0)));
    const parsed: unknown = JSON.parse(json);
    if (!Array.isArray(parsed) || parsed.length !== 2) return null;
    const [value, id] = parsed as unknown[];
    const valueOk = value === null || (typeof value === "string" && value.length <= 200) || (typeof value === "number" && Number.isFinite(value));
    if (!valueOk || typeof id !== "string" || !/^[a-z]+_[a-z0-9]{1,40}$/.test(id)) return null;
    return { dir, value: value as Cursor["value"], id };
  } catch {
    return null;
  }
}

/** The cursor of a row for the list's sort: what Next (after the last row) and Previous (before the first) carry. */
export function cursorOf(kind: InventoryKind, filter: ListFilter, row: Row, dir: Cursor["dir"]): Cursor {
  const column = ownValue(kind.sorts, filter.sort) ?? "name";
  return { dir, value: row[column] ?? null, id: row.id };
}

export async function getRecord(db: D1Database, kind: InventoryKind, id: string): Promise<Row | null> {
  return (await db.prepare(`${SELECT_ROW(kind)} WHERE t.id = ?`).bind(id).first<Row>()) ?? null;
}

export interface Options {
  locations: { id: string; name: string }[];
  groups: { id: string; name: string }[];
  agents: { id: string; name: string; groupIds: string[] }[];
}

/** The four queries behind the dropdowns, to run in a batch of their own or beside a page's rows. */
function optionStatements(db: D1Database) {
  return [
    db.prepare("SELECT id, name FROM locations ORDER BY name"),
    db.prepare("SELECT id, name FROM groups ORDER BY name"),
    db.prepare("SELECT id, name FROM users WHERE kind = 'agent' AND active = 1 ORDER BY name"),
    db.prepare("SELECT group_id, agent_id FROM group_members"),
  ];
}

function optionsFrom([locations, groups, agents, members]: D1Result<Record<string, unknown>>[]): Options {
  const groupsOf = new Map<string, string[]>();
  for (const m of members!.results as { group_id: string; agent_id: string }[]) groupsOf.set(m.agent_id, [...(groupsOf.get(m.agent_id) ?? []), m.group_id]);
  return {
    locations: locations!.results as Options["locations"],
    groups: groups!.results as Options["groups"],
    agents: (agents!.results as { id: string; name: string }[]).map((a) => ({ ...a, groupIds: groupsOf.get(a.id) ?? [] })),
  };
}

/** Everything the dropdowns offer, in one round trip. */
export async function loadOptions(db: D1Database): Promise<Options> {
  return optionsFrom(await db.batch<Record<string, unknown>>(optionStatements(db)));
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
  return changedAny(results.at(-1)!);
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
