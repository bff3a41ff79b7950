// The columns of the asset and software lists: what each shows, under which heading,
// and which of them an agent chose, in which order. The same columns head the CSV export, so an
// exported file can be imported back.
import { z } from "zod";
import type { UserProfile } from "../auth/user-do";
import { userStub } from "../auth/user-object";
import { type EditableField, humanize, type InventoryKind } from "./kinds";
import type { Row } from "./listing";

export interface ListColumn {
  /** In the stored choice and the column form. */
  key: string;
  /** The heading a person reads, and the CSV header: distinct within a list. */
  label: string;
  /** The sort key (InventoryKind.sorts) when the column can be sorted. */
  sort?: string;
  /** An inline dropdown for people with Manage Assets. */
  editable?: EditableField;
  /** The value as text, in a read-only cell and in the CSV. */
  text: (row: Row) => string;
}

const plain = (column: string) => (row: Row) => String(row[column] ?? "");
const choice = (column: string) => (row: Row) => (row[column] === null || row[column] === undefined ? "" : humanize(String(row[column])));
const minute = (row: Row) =>
  typeof row.updated_at === "number" ? new Date(row.updated_at).toISOString().slice(0, 16).replace("T", " ") : "";

const SHARED_TAIL: ListColumn[] = [
  { key: "impact", label: "Impact", sort: "impact", editable: "impact", text: choice("impact") },
  { key: "location", label: "Location", editable: "location", text: plain("location_name") },
  { key: "group", label: "Managed By Group", editable: "group", text: plain("group_name") },
  { key: "agent", label: "Managed By Agent", editable: "agent", text: plain("agent_name") },
  { key: "updated", label: "Updated (UTC)", sort: "updated", text: minute },
];

const COLUMNS: Record<InventoryKind["type"], ListColumn[]> = {
  asset: [
    { key: "tag", label: "Asset tag", sort: "tag", text: plain("asset_tag") },
    { key: "type", label: "Type", sort: "type", text: choice("asset_type") },
    { key: "status", label: "Status", sort: "status", text: choice("status") },
    { key: "serial", label: "Serial number", text: plain("serial_number") },
    ...SHARED_TAIL,
  ],
  software: [
    { key: "publisher", label: "Publisher", sort: "publisher", text: plain("publisher") },
    { key: "version", label: "Version", text: plain("software_version") },
    { key: "category", label: "Category", text: plain("category") },
    { key: "status", label: "Status", sort: "status", text: choice("status") },
    ...SHARED_TAIL,
  ],
};

/** The first column of every list: the record's name, a link to it. It cannot be hidden. */
export const NAME_COLUMN: ListColumn = { key: "name", label: "Name", sort: "name", text: plain("name") };

const DEFAULTS: Record<InventoryKind["type"], string[]> = {
  asset: ["tag", "type", "status", "impact", "location", "group", "agent"],
  software: ["publisher", "version", "status", "impact", "location", "group", "agent"],
};

/** Every column a list can show (after Name), in their default order of the column form. */
export function availableColumns(kind: InventoryKind): ListColumn[] {
  return COLUMNS[kind.type];
}

/**
 * The columns a person sees after Name: their choice, or the default. Keys no longer known (a
 * column removed in a later release) are skipped, so an old choice never breaks the list.
 */
export function chosenColumns(kind: InventoryKind, profile: Pick<UserProfile, "listColumns">): ListColumn[] {
  const keys = profile.listColumns?.[kind.type] ?? DEFAULTS[kind.type];
  const byKey = new Map(COLUMNS[kind.type].map((c) => [c.key, c]));
  return keys.flatMap((k) => byKey.get(k) ?? []);
}

export function defaultColumnKeys(kind: InventoryKind): string[] {
  return [...DEFAULTS[kind.type]];
}

/**
 * The column form: per column a "show" checkbox (`show`, repeated) and a position (`pos_<key>`,
 * 1 to the number of columns), and `order`, the order the form listed them in. Shown columns are
 * ordered by position; of two at one position, the one moved there comes first (so "Serial number
 * to 1" puts it before the column that was first).
 */
export function columnFormSchema(kind: InventoryKind) {
  const columns = COLUMNS[kind.type];
  const keys = columns.map((c) => c.key) as [string, ...string[]];
  const known = new Set<string>(keys);
  const positionError = `the position is a number from 1 to ${columns.length}.`;
  const positions = Object.fromEntries(
    columns.map((c) => [
      `pos_${c.key}`,
      z
        .string()
        .regex(/^\d{1,2}$/, `${c.label}: ${positionError}`)
        .transform(Number)
        .refine((n) => n >= 1 && n <= columns.length, `${c.label}: ${positionError}`)
        .optional(),
    ]),
  );
  return z
    .strictObject(
      {
        // A checkbox sent once arrives as a string, more than once as an array.
        show: z
          .preprocess(
            (v) => (typeof v === "string" ? [v] : v),
            z.array(z.enum(keys, { error: "That column does not exist." })).max(columns.length),
          )
          .optional()
          .default([]),
        order: z
          .string()
          .max(400)
          .refine((v) => v.split(",").every((k) => known.has(k)), "That column does not exist.")
          .optional(),
        reset: z.literal("1").optional(),
        return: z.string().max(2048).optional(),
        ...positions,
      },
      { error: (issue) => (issue.code === "unrecognized_keys" ? "That column does not exist." : undefined) },
    )
    .transform((form: Record<string, unknown>): string[] | null => {
      if (form.reset) return null;
      const shown = new Set(form.show as string[]);
      const listed = form.order ? (form.order as string).split(",") : keys;
      const formIndex = (key: string) => (listed.includes(key) ? listed.indexOf(key) : listed.length + keys.indexOf(key));
      return columns
        .map((c) => {
          const index = formIndex(c.key);
          const at = (form[`pos_${c.key}`] as number | undefined) ?? index + 1;
          return { key: c.key, at, moved: at !== index + 1, index };
        })
        .filter((c) => shown.has(c.key))
        .sort((a, b) => a.at - b.at || Number(b.moved) - Number(a.moved) || a.index - b.index)
        .map((c) => c.key);
    });
}

/**
 * Store a person's column choice for one list (null: back to the default) and drop the profile
 * their user object caches, so the next page shows it; the lists read it from that profile, with
 * no storage call of their own.
 */
export async function saveColumnChoice(env: Env, userId: string, kind: InventoryKind, keys: string[] | null): Promise<void> {
  await env.DB.prepare("UPDATE users SET list_columns = json_set(coalesce(list_columns, '{}'), ?, json(?)) WHERE id = ?")
    .bind(`$.${kind.type}`, JSON.stringify(keys), userId)
    .run();
  await userStub(env, userId).refreshProfile();
}
