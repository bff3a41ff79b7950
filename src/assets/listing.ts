// Reading the asset and software lists: the filter's WHERE (FTS5 trigram search for
// terms of 3+ characters), keyset pages by (sort value, id), the capped count, and the options the
// dropdowns offer (kept per isolate while their token stays the same), each a few statements that
// cost the same at 1,000 records and at 100,000.
import { EDITABLE, type InventoryKind } from "./kinds";
import { ownValue } from "../lib/lookup";

export const PAGE_SIZE = 50;
/** Counts stop here: beyond it a list says "More than 1,000" (a bulk change still counts exactly). */
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

export interface Where {
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
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what this strips from a search.
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

export const SELECT_ROW = (
  kind: InventoryKind,
) => `SELECT t.*, t.${kind.versionColumn} AS row_version_value, l.name AS location_name, g.name AS group_name, u.name AS agent_name
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
    return forward
      ? { sql: `((${col} IS NULL AND t.id > ?) OR ${col} IS NOT NULL)`, params: [cursor.id] }
      : { sql: `(${col} IS NULL AND t.id < ?)`, params: [cursor.id] };
  }
  const tail = forward ? "" : ` OR ${col} IS NULL`;
  return { sql: `(${col} ${later} ? OR (${col} = ? AND t.id ${later} ?)${tail})`, params: [cursor.value, cursor.value, cursor.id] };
}

/**
 * The page query of a list: `limit` rows (by default one more than a page) after the filter's
 * cursor. Shared with the bench's floor route and the CSV export, which walks it page by page.
 */
export function pageQuery(kind: InventoryKind, filter: ListFilter, limit = PAGE_SIZE + 1): Where {
  const where = filterWhere(kind, filter);
  const sortColumn = ownValue(kind.sorts, filter.sort) ?? "name";
  // Reading backwards (Previous) walks the order reversed; listRecords turns the page the right way up.
  const walkAscending = (filter.dir !== "desc") !== (filter.cursor?.dir === "before");
  const order = walkAscending ? "ASC" : "DESC";
  const keyset = filter.cursor ? keysetWhere(sortColumn, walkAscending, filter.cursor) : { sql: "1", params: [] };
  return {
    sql: `${SELECT_ROW(kind)} WHERE ${where.sql} AND ${keyset.sql} ORDER BY t.${sortColumn} ${order}, t.id ${order} LIMIT ?`,
    params: [...where.params, ...keyset.params, limit],
  };
}

/**
 * One page of a list: 50 rows by keyset (a page far into the list costs what the first does) and
 * the dropdowns' options token, in one D1 batch (one round trip); the options themselves only
 * when the token moved on. The count comes after (countMatches).
 */
export async function listRecords(db: D1Database, kind: InventoryKind, filter: ListFilter): Promise<ListPage & { options: Options }> {
  const rowsQuery = pageQuery(kind, filter);
  const backwards = filter.cursor?.dir === "before";
  const [page, token] = await db.batch<Record<string, unknown>>([db.prepare(rowsQuery.sql).bind(...rowsQuery.params), tokenStatement(db)]);
  const options = await optionsUnder(db, tokenOf(token!));
  const fetched = page!.results as Row[];
  const more = fetched.length > PAGE_SIZE;
  const rows = fetched.slice(0, PAGE_SIZE);
  if (backwards) rows.reverse();
  return {
    rows,
    hasNext: backwards ? true : more,
    hasPrevious: backwards ? more : filter.cursor !== undefined,
    options,
  };
}

/**
 * How many records match, up to COUNT_CAP + 1. It is asked for after the page (htmx), so a
 * selective filter over many records, whose count must check thousands of rows, never holds up
 * the rows themselves.
 */
export async function countMatches(db: D1Database, kind: InventoryKind, filter: ListFilter): Promise<MatchCount> {
  const where = filterWhere(kind, filter);
  const row = await db
    .prepare(`SELECT count(*) AS n FROM (SELECT 1 FROM ${kind.table} t WHERE ${where.sql} LIMIT ?)`)
    .bind(...where.params, COUNT_CAP + 1)
    .first<{ n: number }>();
  const n = Number(row?.n ?? 0);
  return { total: Math.min(n, COUNT_CAP), capped: n > COUNT_CAP };
}

/** A cursor in a URL: base64url of [value, id], so page links can be shared and reloaded. */
export function encodeCursor(cursor: Cursor): string {
  return btoa(String.fromCharCode(...new TextEncoder().encode(JSON.stringify([cursor.value, cursor.id]))))
    .replace(/\+/g, "-")
    .replace(/\//g, "_")
    .replace(/=+$/, "");
}

/** The cursor a URL carries, or null when it is not one this app wrote. */
export function decodeCursor(dir: Cursor["dir"], text: string): Cursor | null {
  try {
    const json = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(
      Uint8Array.from(atob(text.replace(/-/g, "+").replace(/_/g, "/")), (ch) => ch.charCodeAt(0)),
    );
    const parsed: unknown = JSON.parse(json);
    if (!Array.isArray(parsed) || parsed.length !== 2) return null;
    const [value, id] = parsed as unknown[];
    const valueOk =
      value === null || (typeof value === "string" && value.length <= 200) || (typeof value === "number" && Number.isFinite(value));
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
  return (
    (await db
      .prepare(`${SELECT_ROW(kind)} WHERE t.id = ?`)
      .bind(id)
      .first<Row>()) ?? null
  );
}

export interface Options {
  locations: { id: string; name: string }[];
  groups: { id: string; name: string }[];
  agents: { id: string; name: string; groupIds: string[] }[];
}

/**
 * The one rule of which agent may manage a record: any agent when the record has no Managed By
 * Group, else only the group's members (inline and bulk edits, the forms, and the dropdowns).
 */
export function agentFitsGroup(agent: { groupIds: readonly string[] }, groupId: string | null | undefined): boolean {
  return !groupId || agent.groupIds.includes(groupId);
}

/** A record's Managed By Group and Agent, as stored or as a change would leave them. */
export interface Assignment {
  group: string | null;
  agent: string | null;
}

export type SettledAssignment = { ok: true; agent: string | null; cleared: boolean } | { ok: false; message: string };

/**
 * The one rule of a change to a record's group or agent, wherever it is made (inline, the form,
 * an import; bulk changes and their jobs hold the same rule in SQL: agentLeavesGroupSql). An agent
 * the change names must fit the group it leaves; a group change that leaves the record's agent
 * outside it clears the agent in the same change (`cleared`, so the person is told); a change of
 * any other field leaves both as they are, even an agent who has since left the group.
 */
export function settleAssignment(options: Options, current: Assignment, requested: Partial<Assignment>): SettledAssignment {
  const group = "group" in requested ? (requested.group ?? null) : current.group;
  if ("agent" in requested && requested.agent !== current.agent) {
    const agent = requested.agent ?? null;
    if (agent === null) return { ok: true, agent, cleared: false };
    const named = options.agents.find((a) => a.id === agent);
    if (!named) return { ok: false, message: "That agent does not exist or is disabled." };
    if (!agentFitsGroup(named, group)) return { ok: false, message: "That agent is not in the record's Managed By Group." };
    return { ok: true, agent, cleared: false };
  }
  const agent = current.agent;
  if (agent === null || group === null || group === current.group) return { ok: true, agent, cleared: false };
  const kept = options.agents.find((a) => a.id === agent);
  return kept && agentFitsGroup(kept, group) ? { ok: true, agent, cleared: false } : { ok: true, agent: null, cleared: true };
}

/**
 * settleAssignment's clearing as SQL over a record aliased `t` whose group becomes `groupParam`
 * (a placeholder): true when it has an agent who is not an active member of that group.
 */
export function agentLeavesGroupSql(groupParam: string): string {
  return (
    `(t.agent_id IS NOT NULL AND ${groupParam} IS NOT NULL AND t.agent_id NOT IN (SELECT m.agent_id FROM group_members m JOIN users u ON u.id = ` +
    `m.agent_id WHERE m.group_id = ${groupParam} AND u.kind = 'agent' AND u.active = 1))`
  );
}

/** agentFitsGroup as SQL over a record aliased `t`, for changes made to many records at once. */
export function agentFitsGroupWhere(agent: { groupIds: readonly string[] }, placeholder = "?"): Where {
  return {
    sql: `(t.group_id IS NULL OR t.group_id IN (SELECT value FROM json_each(${placeholder})))`,
    params: [JSON.stringify(agent.groupIds)],
  };
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
  for (const m of members!.results as { group_id: string; agent_id: string }[])
    groupsOf.set(m.agent_id, [...(groupsOf.get(m.agent_id) ?? []), m.group_id]);
  return {
    locations: locations!.results as Options["locations"],
    groups: groups!.results as Options["groups"],
    agents: (agents!.results as { id: string; name: string }[]).map((a) => ({ ...a, groupIds: groupsOf.get(a.id) ?? [] })),
  };
}

/**
 * The options this isolate read last, and the token (option_list_version) they were read under.
 * Triggers replace the token on every change to what the dropdowns show (migrations/0018), so
 * while a request reads the same token, these are the options it would read. Frozen: requests
 * share them. Only read values are kept, never another request's promise.
 */
let kept: { token: string; options: Options } | null = null;

const tokenStatement = (db: D1Database) => db.prepare("SELECT token FROM option_list_version WHERE id = 1");
const tokenOf = (result: D1Result<Record<string, unknown>>): string | null => (result.results[0]?.token as string | undefined) ?? null;

async function optionsUnder(db: D1Database, token: string | null): Promise<Options> {
  if (token !== null && kept?.token === token) return kept.options;
  // Read with the token in one batch (one transaction), so the token kept is the one these options had.
  const [fresh, ...lists] = await db.batch<Record<string, unknown>>([tokenStatement(db), ...optionStatements(db)]);
  const options = deepFreeze(optionsFrom(lists));
  const freshToken = tokenOf(fresh!);
  if (freshToken !== null) kept = { token: freshToken, options };
  return options;
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === "object" && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const inner of Object.values(value)) deepFreeze(inner);
  }
  return value;
}

/** Everything the dropdowns offer: one statement (the token) while this isolate's copy is current, else one more round trip. */
export async function loadOptions(db: D1Database): Promise<Options> {
  return optionsUnder(db, tokenOf(await tokenStatement(db).run<Record<string, unknown>>()));
}
