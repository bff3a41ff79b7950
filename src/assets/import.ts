// CSV import of assets and software: a file is read with Papa Parse and checked row by
// row against the records it names (assets by asset tag, software by name + version) and the
// locations, groups and agents it names, into a plan: per row what would be created or changed, or
// what is wrong (line, field, reason). The dry run shows the plan; applying it writes it whole
// (import-apply.ts). Nothing is ever created that the file only names: an unknown location is an error.
import Papa from "papaparse";
import { newId } from "../lib/crypto";
import { controlCharacterProblem, type FormField, fieldsOf } from "./fields";
import { humanize, type InventoryKind } from "./kinds";
import { type Assignment, type Options, type Row, SELECT_ROW, settleAssignment } from "./listing";

/** Rows a file may hold: a plan of 1,000 rows stays far inside D1's 2 MB per bound value (checked in apply). */
export const IMPORT_MAX_ROWS = 1000;
export const IMPORT_MAX_BYTES = 512 * 1024;

export interface CellProblem {
  field: string;
  reason: string;
}

export interface RowResult {
  line: number;
  key: string;
  action: "create" | "update" | "unchanged" | "error";
  changes: { field: string; from: string; to: string }[];
  errors: CellProblem[];
}

/** One record the plan writes: the columns it sets (all of them for a new record). */
export type PlannedWrite =
  | { op: "create"; id: string; v: Record<string, string | null> }
  | { op: "update"; id: string; version: number; v: Record<string, string | null> };

export interface ImportPlan {
  /** Problems with the file as a whole (its size, its header): nothing else is checked then. */
  fileErrors: string[];
  rows: RowResult[];
  writes: PlannedWrite[];
  counts: { create: number; update: number; unchanged: number; error: number };
}

/** The headers a field is read from: its form label and the list column's heading, case aside. */
const EXTRA_HEADERS: Record<string, string> = { assetType: "Type" };
/** Columns an export carries that an import reads past. */
const IGNORED_HEADERS = new Set(["updated (utc)"]);

function importableFields(kind: InventoryKind): FormField[] {
  return fieldsOf(kind).filter((f) => f.type !== "contact");
}

function headerIndex(kind: InventoryKind): Map<string, FormField> {
  const index = new Map<string, FormField>();
  for (const f of importableFields(kind)) {
    index.set(f.label.toLowerCase(), f);
    const extra = EXTRA_HEADERS[f.key];
    if (extra) index.set(extra.toLowerCase(), f);
  }
  return index;
}

/** The headers a file may use, for the page and the error about an unknown one. */
export function importHeaders(kind: InventoryKind): string[] {
  return importableFields(kind).map((f) => EXTRA_HEADERS[f.key] ?? f.label);
}

const empty = (): ImportPlan => ({ fileErrors: [], rows: [], writes: [], counts: { create: 0, update: 0, unchanged: 0, error: 0 } });

/** An exported cell starting with a formula character was prefixed with ' (export.ts); reading it back drops that. */
function cellValue(raw: string | undefined): string {
  const text = (raw ?? "").trim();
  return /^'[=+\-@\t\r]/.test(text) ? text.slice(1) : text;
}

function byName<T extends { id: string; name: string }>(list: readonly T[], name: string): T[] {
  const wanted = name.toLowerCase();
  return list.filter((o) => o.name.toLowerCase() === wanted);
}

/** A cell's value for its column (null: empty), or what is wrong with it. */
function readCell(field: FormField, text: string, options: Options): { value: string | null } | { reason: string } {
  if (text === "") return field.required ? { reason: `${field.label} is required.` } : { value: null };
  const control = controlCharacterProblem(field, text);
  if (control) return { reason: control };
  if (field.type === "choice") {
    const wanted = text.toLowerCase();
    const value = field.values!.find((v) => v === wanted || humanize(v).toLowerCase() === wanted);
    return value ? { value } : { reason: `"${text}" is not one of: ${field.values!.map(humanize).join(", ")}.` };
  }
  if (field.type === "ref") {
    const list = options[field.ref!];
    const found = byName(list, text);
    const what = field.ref === "locations" ? "location" : field.ref === "groups" ? "group" : "active agent";
    if (found.length === 0) return { reason: `No ${what} is named "${text}" (imports never create one).` };
    if (found.length > 1) return { reason: `${found.length} ${what}s are named "${text}": rename one first.` };
    return { value: found[0]!.id };
  }
  if ([...text].length > (field.max ?? 200)) return { reason: `${field.label} must be at most ${field.max ?? 200} characters.` };
  if (field.pattern && !field.pattern[0].test(text)) return { reason: field.pattern[1] };
  return { value: text };
}

/** How a value reads on the dry-run page: names for references, labels for choices. */
function shown(field: FormField, value: string | null, options: Options): string {
  if (value === null) return "—";
  if (field.type === "ref") return options[field.ref!].find((o: { id: string }) => o.id === value)?.name ?? value;
  if (field.type === "choice") return humanize(value);
  return value;
}

const keyOf = (kind: InventoryKind, values: Record<string, string | null>) =>
  kind.type === "asset" ? (values.asset_tag ?? "") : `${values.name ?? ""}\u001f${values.software_version ?? ""}`;
const keyShown = (kind: InventoryKind, values: Record<string, string | null>) =>
  kind.type === "asset" ? (values.asset_tag ?? "") : [values.name, values.software_version].filter(Boolean).join(" ");

/** The records a file's keys name, by key (software: every record of the names, matched by version here). */
async function existingRecords(db: D1Database, kind: InventoryKind, keys: Record<string, string | null>[]): Promise<Map<string, Row[]>> {
  const lookup = kind.type === "asset" ? keys.map((k) => k.asset_tag) : keys.map((k) => k.name);
  const column = kind.type === "asset" ? "asset_tag" : "name";
  const { results } = await db
    .prepare(`${SELECT_ROW(kind)} WHERE t.${column} IN (SELECT value FROM json_each(?))`)
    .bind(JSON.stringify([...new Set(lookup.filter(Boolean))]))
    .all<Row>();
  const found = new Map<string, Row[]>();
  for (const row of results) {
    const key = keyOf(kind, row as unknown as Record<string, string | null>);
    found.set(key, [...(found.get(key) ?? []), row]);
  }
  return found;
}

/** Defaults of a new record for the fields a file leaves out. */
function defaultsOf(kind: InventoryKind): Record<string, string | null> {
  return kind.type === "asset" ? { status: "in_use", impact: "low" } : { status: "active", impact: "low" };
}

/**
 * The plan of an import: the file parsed and every row checked, nothing written. Refused as a
 * whole (fileErrors) when it is too large, has too many rows or an unknown or repeated header.
 */
export async function planImport(db: D1Database, kind: InventoryKind, text: string, options: Options): Promise<ImportPlan> {
  const plan = empty();
  if (new TextEncoder().encode(text).length > IMPORT_MAX_BYTES)
    return { ...plan, fileErrors: [`The file is larger than ${IMPORT_MAX_BYTES / 1024} KB: split it into smaller files.`] };
  const parsed = Papa.parse<string[]>(text.replace(/^\uFEFF/, ""), { skipEmptyLines: false });
  const lines = parsed.data;
  const header = (lines[0] ?? []).map((h) => h.trim());
  if (header.every((h) => h === ""))
    return { ...plan, fileErrors: ["The file is empty: its first line names the columns (see the example file)."] };
  const index = headerIndex(kind);
  const fields: (FormField | null)[] = [];
  for (const h of header) {
    const field = index.get(h.toLowerCase());
    if (!field && !IGNORED_HEADERS.has(h.toLowerCase()))
      return {
        ...plan,
        fileErrors: [
          `Line 1: "${h}" is not a column ${kind.title.toLowerCase()} can import. The columns are: ${importHeaders(kind).join(", ")}.`,
        ],
      };
    if (field && fields.includes(field)) return { ...plan, fileErrors: [`Line 1: the column "${h}" appears twice.`] };
    fields.push(field ?? null);
  }
  const keyFields = kind.type === "asset" ? ["assetTag"] : ["name"];
  for (const key of keyFields)
    if (!fields.some((f) => f?.key === key))
      return {
        ...plan,
        fileErrors: [
          `Line 1: a "${importableFields(kind).find((f) => f.key === key)!.label}" column is required: it says which record each line is.`,
        ],
      };

  // Data lines, numbered as the spreadsheet shows them (line 1 is the header); blank lines are skipped.
  const data = lines
    .slice(1)
    .map((cells, i) => ({ line: i + 2, cells }))
    .filter(({ cells }) => cells.some((c) => c.trim() !== ""));
  if (data.length === 0) return { ...plan, fileErrors: ["The file has no lines after the header."] };
  if (data.length > IMPORT_MAX_ROWS)
    return { ...plan, fileErrors: [`The file has ${data.length} lines; at most ${IMPORT_MAX_ROWS} can be imported at once: split it.`] };
  const shapeErrors = new Map<number, string>();
  for (const e of parsed.errors)
    if (e.row !== undefined) shapeErrors.set(e.row + 1, e.code === "MissingQuotes" ? "A quoted cell is not closed." : e.message);

  const read = data.map(({ line, cells }) => {
    const values: Record<string, string | null> = {};
    const errors: CellProblem[] = [];
    if (cells.length !== header.length)
      errors.push({ field: "(line)", reason: `The line has ${cells.length} cells; the header has ${header.length}.` });
    const shape = shapeErrors.get(line);
    if (shape) errors.push({ field: "(line)", reason: shape });
    fields.forEach((field, i) => {
      if (!field) return;
      const cell = readCell(field, cellValue(cells[i]), options);
      if ("reason" in cell) errors.push({ field: EXTRA_HEADERS[field.key] ?? field.label, reason: cell.reason });
      else values[field.column] = cell.value;
    });
    return { line, values, errors };
  });

  const existing = await existingRecords(
    db,
    kind,
    read.map((r) => r.values),
  );
  const firstLineOf = new Map<string, number>();
  const present = fields.filter((f): f is FormField => f !== null);
  for (const { line, values, errors } of read) {
    const key = keyOf(kind, values);
    const result: RowResult = { line, key: keyShown(kind, values), action: "error", changes: [], errors };
    plan.rows.push(result);
    const seen = firstLineOf.get(key);
    if (seen !== undefined && key)
      errors.push({ field: kind.type === "asset" ? "Asset tag" : "Name", reason: `Line ${seen} is the same ${kind.noun}.` });
    else firstLineOf.set(key, line);
    const matches = existing.get(key) ?? [];
    if (matches.length > 1)
      errors.push({ field: "Name", reason: `${matches.length} ${kind.noun}s have this name and version: edit them one by one.` });
    if (errors.length > 0) continue;
    const record = matches[0];
    const next: Record<string, string | null> = record ? {} : { ...defaultsOf(kind), ...values };
    if (record) for (const f of present) if ((record[f.column] ?? null) !== values[f.column]) next[f.column] = values[f.column]!;
    const changedFields = present.filter((f) => f.column in next && (!record ? next[f.column] !== null : true));
    if (!record && !next.asset_type && kind.type === "asset") errors.push({ field: "Type", reason: "Type is required for a new asset." });
    // Retired records are read-only, as in the list; a line may bring one back by changing its status (as its edit form can).
    const unretires = "status" in next && next.status !== "retired";
    if (record && record.status === "retired" && Object.keys(next).length > 0 && !unretires)
      errors.push({ field: "Status", reason: "Retired records are read-only: change the status to bring one back." });
    const requested: Partial<Assignment> = {};
    if ("group_id" in next) requested.group = next.group_id ?? null;
    if ("agent_id" in next) requested.agent = next.agent_id ?? null;
    const settled = settleAssignment(
      options,
      { group: (record?.group_id as string | null) ?? null, agent: (record?.agent_id as string | null) ?? null },
      requested,
    );
    if (!settled.ok) errors.push({ field: "Managed By Agent", reason: settled.message });
    if (errors.length > 0 || !settled.ok) continue;
    if (settled.cleared) {
      // The line moves the record to a group its agent is not in: the agent goes in the same change, and the dry run says so.
      next.agent_id = null;
      const agentField = importableFields(kind).find((f) => f.column === "agent_id")!;
      if (!changedFields.includes(agentField)) changedFields.push(agentField);
    }
    result.changes = changedFields.map((f) => ({
      field: EXTRA_HEADERS[f.key] ?? f.label,
      from: record ? shown(f, (record[f.column] as string | null) ?? null, options) : "—",
      to: settled.cleared && f.column === "agent_id" ? "— (not in the new group)" : shown(f, next[f.column] ?? null, options),
    }));
    if (!record) {
      result.action = "create";
      plan.writes.push({ op: "create", id: newId(kind.type === "asset" ? "ast" : "sw"), v: next });
    } else if (Object.keys(next).length === 0) {
      result.action = "unchanged";
    } else {
      result.action = "update";
      plan.writes.push({ op: "update", id: record.id, version: Number(record.row_version_value), v: next });
    }
  }
  for (const r of plan.rows) plan.counts[r.action]++;
  return plan;
}
