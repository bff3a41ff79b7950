import { ASSET_STATUSES, ASSET_TYPES, IMPACTS, SOFTWARE_STATUSES } from "../db/schema";

/** The four fields edited inline and in bulk, and their columns (the same in both tables). */
export const EDITABLE = {
  impact: "impact",
  location: "location_id",
  group: "group_id",
  agent: "agent_id",
} as const;
export type EditableField = keyof typeof EDITABLE;
export const BULK_FIELDS = ["group", "agent", "location"] as const;
export type BulkField = (typeof BULK_FIELDS)[number];

export const FIELD_LABELS: Record<EditableField, string> = {
  impact: "Impact",
  location: "Location",
  group: "Managed By Group",
  agent: "Managed By Agent",
};

/** What differs between the asset list and the software list. */
export interface InventoryKind {
  type: "asset" | "software";
  table: "assets" | "software";
  versionColumn: "version" | "row_version";
  path: string;
  title: string;
  noun: string;
  /** Columns searched by the search box. */
  search: readonly string[];
  /** Filterable enum columns: query key -> column and allowed values. */
  enums: Record<string, { column: string; values: readonly string[]; label: string }>;
  /** Sortable columns: query key -> column. */
  sorts: Record<string, string>;
}

export const ASSET_KIND: InventoryKind = {
  type: "asset",
  table: "assets",
  versionColumn: "version",
  path: "/agent/assets",
  title: "Assets",
  noun: "asset",
  search: ["name", "asset_tag", "serial_number"],
  enums: {
    type: { column: "asset_type", values: ASSET_TYPES, label: "Type" },
    status: { column: "status", values: ASSET_STATUSES, label: "Status" },
    impact: { column: "impact", values: IMPACTS, label: "Impact" },
  },
  sorts: { name: "name", tag: "asset_tag", type: "asset_type", status: "status", impact: "impact", updated: "updated_at" },
};

export const SOFTWARE_KIND: InventoryKind = {
  type: "software",
  table: "software",
  versionColumn: "row_version",
  path: "/agent/software",
  title: "Software",
  noun: "software record",
  search: ["name", "publisher", "category"],
  enums: {
    status: { column: "status", values: SOFTWARE_STATUSES, label: "Status" },
    impact: { column: "impact", values: IMPACTS, label: "Impact" },
  },
  sorts: { name: "name", publisher: "publisher", status: "status", impact: "impact", updated: "updated_at" },
};

const humanized = new Map<string, string>();

/** "in_use" → "In use". Kept per value: the values are a few enums, asked for on every row. */
export function humanize(value: string): string {
  let text = humanized.get(value);
  if (text === undefined) {
    text = value.replaceAll("_", " ").replace(/^./, (c) => c.toUpperCase());
    if (humanized.size < 1000) humanized.set(value, text);
  }
  return text;
}
