// The rows of the asset and software lists, written as strings.
import { IMPACTS } from "../db/schema";
import { escapeHtml } from "../lib/html-escape";
import { agentFitsGroup, type Options, type Row } from "./listing";
import { EDITABLE, type EditableField, FIELD_LABELS, humanize, type InventoryKind } from "./kinds";
import type { ListColumn } from "./columns";

// A list page shows 50 rows of four dropdowns with the same options. The rows are written as
// strings rather than JSX elements (element objects for them were most of the page's rendering
// time), and what the rows share is escaped once: each dropdown's options for each chosen value
// are kept per options list (the lists are per isolate, replaced when they change: listing.ts),
// and the cells' openings, the return address and the row's own attributes once per page or row.
// The markup is the same; values are escaped as JSX does.
export type Choice = { id: string; name: string };

// Characters beyond ASCII are written as character references: V8 keeps a page of Latin-1 at one
// byte a character (building it cost about a quarter less than a two-byte page), and workerd
// writes an ASCII page out as it is, five times faster than one with a single other character
// (web/layout.tsx).
export const DASH = "&#8212;";

const optionHtml = (choice: Choice, selected: boolean) =>
  `<option value="${escapeHtml(choice.id)}"${selected ? ' selected=""' : ""}>${escapeHtml(choice.name)}</option>`;
const noneHtmlOption = (noneHtml: string) => `<option value="">${noneHtml}</option>`;

/**
 * A dropdown's options as markup for a chosen value: "all" of them, after an empty choice
 * labelled `noneHtml` (markup) if given; or only the "chosen" one, the option a closed dropdown
 * shows (the first when the value is none of the choices, as the whole list would show).
 */
function makeOptionsHtml(choices: readonly Choice[], which: "all" | "chosen", value: string, noneHtml: string | undefined): string {
  const none = noneHtml === undefined ? [] : [noneHtmlOption(noneHtml)];
  if (which === "all") return [...none, ...choices.map((o) => optionHtml(o, o.id === value))].join("");
  const chosen = choices.find((o) => o.id === value);
  return chosen ? optionHtml(chosen, true) : (none[0] ?? (choices[0] ? optionHtml(choices[0], false) : ""));
}

type OptionsHtml = (value: string | null) => string;
const kept = new WeakMap<readonly Choice[], Map<string, OptionsHtml>>();

/**
 * makeOptionsHtml for one list of choices, its markup kept per chosen value: the lists are per
 * isolate (replaced when they change, listing.ts), so 50 rows escape each option once.
 */
export function optionsHtmlOf(choices: readonly Choice[], which: "all" | "chosen", noneHtml?: string): OptionsHtml {
  let byKind = kept.get(choices);
  if (!byKind) {
    byKind = new Map();
    kept.set(choices, byKind);
  }
  const key = `${which}${noneHtml === undefined ? "" : `:${noneHtml}`}`;
  let of = byKind.get(key);
  if (!of) {
    const byValue = new Map<string, string>();
    of = (value) => {
      let html = byValue.get(value ?? "");
      if (html === undefined) {
        html = makeOptionsHtml(choices, which, value ?? "", noneHtml);
        byValue.set(value ?? "", html);
      }
      return html;
    };
    byKind.set(key, of);
  }
  return of;
}

export const attr = (name: string, value: string) => ` ${name}="${escapeHtml(value)}"`;

export function selectHtml(attrs: Record<string, string>, choices: readonly Choice[], value: string | null, noneHtml: string): string {
  const attributes = Object.entries(attrs)
    .map(([k, v]) => attr(k, v))
    .join("");
  return `<select${attributes}>${optionsHtmlOf(choices, "all", noneHtml)(value)}</select>`;
}

const IMPACT_CHOICES: readonly Choice[] = IMPACTS.map((i) => ({ id: i, name: humanize(i) }));

/** What a dropdown of this field offers (for agents, those of the row's group), and its empty choice's markup. */
interface FieldChoices {
  choices: readonly Choice[];
  none: string | undefined;
}
function choicesOf(options: Options, field: EditableField, groupId: string | null): FieldChoices {
  if (field === "impact") return { choices: IMPACT_CHOICES, none: undefined };
  return {
    choices: field === "location" ? options.locations : field === "group" ? options.groups : agentsFor(options, groupId),
    none: DASH,
  };
}

const agentsByGroup = new WeakMap<Options, Map<string, Options["agents"]>>();
/** The agents a row's Managed By Agent offers: those in its group (one list per group and options). */
export function agentsFor(options: Options, groupId: string | null): readonly Choice[] {
  if (!groupId) return options.agents;
  let byGroup = agentsByGroup.get(options);
  if (!byGroup) {
    byGroup = new Map();
    agentsByGroup.set(options, byGroup);
  }
  let list = byGroup.get(groupId);
  if (!list) {
    list = options.agents.filter((a) => agentFitsGroup(a, groupId));
    byGroup.set(groupId, list);
  }
  return list;
}

/** A row's stored agent when its group's agents do not include them, as a choice named as the detail page names them. */
function agentOutsideChoices(options: Options, row: Row, groupId: string | null): Choice | null {
  const agent = (row.agent_id as string | null) ?? null;
  if (agent === null || agentsFor(options, groupId).some((a) => a.id === agent)) return null;
  return { id: agent, name: String(row.agent_name ?? agent) };
}

/**
 * How a row's dropdowns are sent. "full": each with all its options, as a browser
 * without JavaScript needs them, and as an inline save answers with its row. "lean": each with
 * only the option it shows closed and `data-choices` naming the <template> (choiceListsHtml, once a
 * page) that app.js fills it from as the page loads, so 50 rows do not repeat every list.
 */
export type Dropdowns = "full" | "lean";

export interface RowSettings {
  kind: InventoryKind;
  columns: readonly ListColumn[];
  options: Options;
  canManage: boolean;
  /** Where the row's Save (without JavaScript) comes back to: the list page it is on. */
  returnTo: string;
  dropdowns: Dropdowns;
}

/** A row's own state beside its record: ticked for a bulk change, or the note of its last save. */
export interface RowState {
  selected?: boolean | undefined;
  status?: { ok: boolean; text: string } | undefined;
}

// data-label names each cell in the narrow layout, where the heading row is hidden.
const cellStart = (label: string, cls = "") => `<td${cls ? attr("class", cls) : ""}${attr("data-label", label)} role="cell">`;

/** Retired records are read-only: their row shows values, not dropdowns. */
const editableRow = (row: Row) => row.status !== "retired";

/** The <template> a lean dropdown of this field (and, for agents, of this group) is filled from. */
function choicesId(field: EditableField, groupId: string | null): string {
  return field === "agent" ? (groupId ? `agents-${groupId}` : "agents") : field;
}

/**
 * The rows of one page. With Manage, the editable columns are dropdowns tied to the row's form
 * (the form attribute), which posts the row: by htmx once app.js sees a change, or with its
 * Save button without JavaScript. Where htmx puts the answer (the row) is inherited from <tbody>.
 */
export function rowRenderer({
  kind,
  columns,
  options,
  canManage,
  returnTo,
  dropdowns,
}: RowSettings): (row: Row, state?: RowState) => string {
  const path = escapeHtml(kind.path);
  const back = escapeHtml(returnTo);
  const lean = dropdowns === "lean";
  const selectStart = cellStart(canManage ? "Select" : "");
  const nameStart = cellStart("Name", "name");
  const statusStart = cellStart("", "row-status");
  const which = lean ? "chosen" : "all";
  const optionsFor = ({ choices, none }: FieldChoices) => optionsHtmlOf(choices, which, none);
  const cells = columns.map((column) => {
    const field = column.editable;
    return {
      column,
      start: cellStart(column.label),
      field,
      // The agents offered depend on the row's group: their markup is looked up per row.
      options: field && field !== "agent" ? optionsFor(choicesOf(options, field, null)) : undefined,
      select: field && `<select name="${field}" aria-label="${escapeHtml(FIELD_LABELS[field])} of `,
      // Which list a lean dropdown is filled from: the agents' depends on the row's group.
      list: field && field !== "agent" ? ` data-choices="${choicesId(field, null)}">` : undefined,
    };
  });
  return (row, state = {}) => {
    const id = escapeHtml(String(row.id));
    const name = escapeHtml(String(row.name));
    const post = `${path}/${id}/inline`;
    const editable = canManage && editableRow(row);
    const groupId = (row.group_id as string | null) ?? null;
    let html = `<tr id="row-${id}" data-testid="inventory-row" role="row">${selectStart}`;
    if (canManage)
      html += `<input type="checkbox" name="ids" value="${id}" form="bulk" aria-label="Select ${name}" class="row-select"${state.selected ? ' checked=""' : ""}/>`;
    html += `</td>${nameStart}<a href="${path}/${id}">${name}</a></td>`;
    for (const cell of cells) {
      html += cell.start;
      if (cell.field && editable) {
        const value = (row[EDITABLE[cell.field]] as string | null) ?? null;
        const outsider = cell.field === "agent" ? agentOutsideChoices(options, row, groupId) : null;
        html += `${cell.select}${name}" form="inline-${id}"`;
        if (outsider) {
          // An agent the group no longer offers (left the group, or disabled) is still the stored value: shown, as the detail page shows it.
          html += `${attr("title", `${outsider.name} is not in ${String(row.group_name ?? "the group")}`)}>${optionsHtmlOf([...agentsFor(options, groupId), outsider], "all", DASH)(value)}</select>`;
        } else {
          const markup = (cell.options ?? optionsFor(choicesOf(options, cell.field, groupId)))(value);
          html += lean ? (cell.list ?? ` data-choices="${escapeHtml(choicesId(cell.field, groupId))}">`) : ">";
          html += `${markup}</select>`;
        }
      } else {
        const text = cell.column.text(row);
        // Kept on one line and cut with an ellipsis past 12rem; the record's page shows it whole.
        html += text ? `<span class="cut">${escapeHtml(text)}</span>` : DASH;
      }
      html += "</td>";
    }
    html += statusStart;
    if (editable) {
      html += `<form id="inline-${id}" method="post" action="${post}" hx-post="${post}"><input type="hidden" name="version" value="${escapeHtml(String(row.row_version_value))}"/>`;
      // Where to come back to, and the Save button, serve only a browser without JavaScript.
      html += lean
        ? "</form>"
        : `<input type="hidden" name="return" value="${back}"/><noscript><button type="submit">Save</button></noscript></form>`;
    }
    const status = state.status;
    html += `<span role="status" class="${status ? (status.ok ? "saved" : "failed") : ""}">${escapeHtml(status?.text ?? "")}</span></td></tr>`;
    return html;
  };
}

/** One row, as an inline save answers with it: with whole dropdowns, since its group may have changed. */
export function rowHtml(props: Omit<RowSettings, "dropdowns"> & { row: Row } & RowState): string {
  return rowRenderer({ ...props, dropdowns: "full" })(props.row, props);
}

/**
 * The lists the lean dropdowns of these rows are filled from: each once, with its empty choice,
 * none chosen; only for the columns shown, and the agents only of the groups rows are in.
 */
export function choiceListsHtml(options: Options, columns: readonly ListColumn[], rows: readonly Row[]): string {
  const groups = [...new Set(rows.filter(editableRow).map((row) => (row.group_id as string | null) ?? null))];
  if (groups.length === 0) return "";
  const lists = new Map<string, FieldChoices>();
  for (const field of columns.map((c) => c.editable)) {
    if (!field) continue;
    for (const group of field === "agent" ? groups : [null]) lists.set(choicesId(field, group), choicesOf(options, field, group));
  }
  return [...lists]
    .map(([id, { choices, none }]) => `<template id="choices-${escapeHtml(id)}">${optionsHtmlOf(choices, "all", none)(null)}</template>`)
    .join("");
}
