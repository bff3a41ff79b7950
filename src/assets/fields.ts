// The fields of a record, as its create and edit forms, the CSV import and Undo know them: `key`
// names the field in the history, `column` is its column in the kind's table.
import { ASSET_STATUSES, ASSET_TYPES, IMPACTS, SOFTWARE_STATUSES } from "../db/schema";
import { controlCharacterMessage, hasControlCharacter } from "../lib/fields";
import type { InventoryKind } from "./kinds";

/** One field of a record's create/edit form; `key` is also its name in the history. */
export interface FormField {
  key: string;
  column: string;
  label: string;
  type: "text" | "choice" | "ref" | "contact" | "textarea";
  required?: boolean;
  max?: number;
  values?: readonly string[];
  ref?: "locations" | "groups" | "agents";
  pattern?: [RegExp, string];
}

export const ASSET_FIELDS: FormField[] = [
  { key: "name", column: "name", label: "Name", type: "text", required: true, max: 120 },
  {
    key: "assetTag",
    column: "asset_tag",
    label: "Asset tag",
    type: "text",
    required: true,
    max: 40,
    pattern: [/^[A-Za-z0-9._-]+$/, "Asset tags use letters, digits, dots, dashes and underscores."],
  },
  { key: "assetType", column: "asset_type", label: "Asset type", type: "choice", values: ASSET_TYPES },
  { key: "serialNumber", column: "serial_number", label: "Serial number", type: "text", max: 80 },
  { key: "status", column: "status", label: "Status", type: "choice", values: ASSET_STATUSES },
  { key: "impact", column: "impact", label: "Impact", type: "choice", values: IMPACTS },
  { key: "location", column: "location_id", label: "Location", type: "ref", ref: "locations" },
  { key: "group", column: "group_id", label: "Managed By Group", type: "ref", ref: "groups" },
  { key: "agent", column: "agent_id", label: "Managed By Agent", type: "ref", ref: "agents" },
  { key: "usedBy", column: "used_by_id", label: "Used by (contact email)", type: "contact" },
  { key: "description", column: "description", label: "Description", type: "textarea", max: 2000 },
];

export const SOFTWARE_FIELDS: FormField[] = [
  { key: "name", column: "name", label: "Name", type: "text", required: true, max: 120 },
  { key: "publisher", column: "publisher", label: "Publisher", type: "text", max: 120 },
  { key: "category", column: "category", label: "Category", type: "text", max: 80 },
  { key: "version", column: "software_version", label: "Version", type: "text", max: 40 },
  { key: "status", column: "status", label: "Status", type: "choice", values: SOFTWARE_STATUSES },
  { key: "impact", column: "impact", label: "Impact", type: "choice", values: IMPACTS },
  { key: "location", column: "location_id", label: "Location", type: "ref", ref: "locations" },
  { key: "group", column: "group_id", label: "Managed By Group", type: "ref", ref: "groups" },
  { key: "agent", column: "agent_id", label: "Managed By Agent", type: "ref", ref: "agents" },
];

/** A kind's fields. */
export function fieldsOf(kind: InventoryKind): FormField[] {
  return kind.type === "asset" ? ASSET_FIELDS : SOFTWARE_FIELDS;
}

/** Only a textarea holds more than one line: tab and line breaks are allowed there and nowhere else. */
export function isMultiLine(field: FormField): boolean {
  return field.type === "textarea";
}

/**
 * Why a value cannot be stored in a field because of a control character (a NUL, or a line break
 * in a one-line field), naming the field; null when it has none. The forms and the CSV import
 * both ask this.
 */
export function controlCharacterProblem(field: FormField, text: string): string | null {
  return hasControlCharacter(text, isMultiLine(field)) ? controlCharacterMessage(field.label, isMultiLine(field)) : null;
}
