import type { Auth } from "../access/auth";
import { IMPACTS } from "../db/schema";
import { raw } from "hono/html";
import { escapeHtml } from "../lib/html-escape";
import { Layout } from "../web/layout";
import type { HistoryEntry } from "./inventory";
import { agentFitsGroup, COUNT_CAP, cursorOf, encodeCursor, type ListFilter, type ListPage, type MatchCount, type Options, type Row } from "./listing";
import { EDITABLE, type EditableField, FIELD_LABELS, humanize, type InventoryKind } from "./kinds";
import type { ListColumn } from "./columns";
import { ownValue } from "../lib/lookup";

/** The list URL for a filter, with some of it changed: the filter lives in the URL, to share and reload. */
export function listUrl(kind: InventoryKind, filter: ListFilter, change: Partial<ListFilter> & { enums?: Record<string, string | undefined> } = {}): string {
  const f = { ...filter, ...change, enums: { ...filter.enums, ...change.enums } };
  const q = new URLSearchParams();
  if (f.q) q.set("q", f.q);
  for (const [k, v] of Object.entries(f.enums)) if (v) q.set(k, v);
  for (const k of ["location", "group", "agent"] as const) if (f[k]) q.set(k, f[k]!);
  if (f.sort !== "name") q.set("sort", f.sort);
  if (f.dir !== "asc") q.set("dir", f.dir);
  if (f.cursor) {
    q.set(f.cursor.dir, encodeCursor(f.cursor));
    q.set("page", String(f.page));
  }
  const s = q.toString();
  return s ? `${kind.path}?${s}` : kind.path;
}

function FilterHiddenFields({ kind, filter }: { kind: InventoryKind; filter: ListFilter }) {
  const params = new URL(listUrl(kind, { ...filter, page: 1, cursor: undefined }), "https://x").searchParams;
  return (
    <>
      {[...params].map(([k, v]) => (
        <input type="hidden" name={`f_${k}`} value={v} />
      ))}
    </>
  );
}

// A list page shows 50 rows of four dropdowns with the same options. The rows are written as
// strings rather than JSX elements (element objects for them were most of the page's rendering
// time), and what the rows share is escaped once: each dropdown's options for each chosen value
// are kept per options list (the lists are per isolate, replaced when they change: listing.ts),
// and the cells' openings, the return address and the row's own attributes once per page or row
// (issue 21). The markup is the same; values are escaped as JSX does.
type Choice = { id: string; name: string };

// Characters beyond Latin-1 are written as character references: while every character of a page
// is Latin-1, V8 keeps its strings at one byte a character, and building the page and encoding it
// for the response cost about a quarter less than for a two-byte page (issue 21).
const DASH = "&#8212;";
const ELLIPSIS = raw("&#8230;");
const ARROW = { asc: raw(" &#9650;"), desc: raw(" &#9660;") };

const optionMarkup = new WeakMap<readonly Choice[], Map<string, string>>();

/** Markup kept per list of choices (the lists are per isolate, so this is too): made once, then reused. */
function keptMarkup(choices: readonly Choice[], key: string, make: () => string): string {
  let byKey = optionMarkup.get(choices);
  if (!byKey) optionMarkup.set(choices, (byKey = new Map()));
  let html = byKey.get(key);
  if (html === undefined) byKey.set(key, (html = make()));
  return html;
}

const optionHtml = (choice: Choice, selected: boolean) => `<option value="${escapeHtml(choice.id)}"${selected ? ' selected=""' : ""}>${escapeHtml(choice.name)}</option>`;
const noneHtmlOption = (noneHtml: string) => `<option value="">${noneHtml}</option>`;

/** The options of a dropdown with `value` chosen, after an empty choice labelled `noneHtml` (markup) if given. */
function optionsHtml(choices: readonly Choice[], value: string | null, noneHtml?: string): string {
  return keptMarkup(choices, `all\u0000${noneHtml ?? "\u0000"}\u0000${value ?? ""}`, () =>
    (noneHtml === undefined ? "" : noneHtmlOption(noneHtml)) + choices.map((o) => optionHtml(o, o.id === value)).join(""),
  );
}

/**
 * Only the option a dropdown shows closed: the chosen one, or the first (the empty choice) when
 * the value is none of the choices, as the whole list would show.
 */
function chosenOptionHtml(choices: readonly Choice[], value: string | null, noneHtml?: string): string {
  return keptMarkup(choices, `chosen\u0000${noneHtml ?? "\u0000"}\u0000${value ?? ""}`, () => {
    const chosen = value === null ? undefined : choices.find((o) => o.id === value);
    if (chosen) return optionHtml(chosen, true);
    return noneHtml === undefined ? (choices[0] ? optionHtml(choices[0], false) : "") : noneHtmlOption(noneHtml);
  });
}

const attr = (name: string, value: string) => ` ${name}="${escapeHtml(value)}"`;

function selectHtml(attrs: Record<string, string>, choices: readonly Choice[], value: string | null, noneHtml: string): string {
  const attributes = Object.entries(attrs).map(([k, v]) => attr(k, v)).join("");
  return `<select${attributes}>${optionsHtml(choices, value, noneHtml)}</select>`;
}

/** A dropdown of the filter bar or the bulk bar, named by the <label for> beside it. */
function Select(props: { id: string; name: string; value: string | null; options: readonly Choice[]; none: string }) {
  return raw(selectHtml({ id: props.id, name: props.name }, props.options, props.value, escapeHtml(props.none)));
}

// The filter bar's choices, made once per list of values (and so their markup is kept too).
const enumChoices = new WeakMap<readonly string[], readonly Choice[]>();
const withNone = new WeakMap<readonly Choice[], readonly Choice[]>();
function choicesOfValues(values: readonly string[]): readonly Choice[] {
  let choices = enumChoices.get(values);
  if (!choices) enumChoices.set(values, (choices = values.map((v) => ({ id: v, name: humanize(v) }))));
  return choices;
}
/** A filter's choices: "None" (records without one), then the list. */
function noneOr(list: readonly Choice[]): readonly Choice[] {
  let choices = withNone.get(list);
  if (!choices) withNone.set(list, (choices = [{ id: "none", name: "None" }, ...list]));
  return choices;
}

const IMPACT_CHOICES: readonly Choice[] = IMPACTS.map((i) => ({ id: i, name: humanize(i) }));
const agentsByGroup = new WeakMap<Options, Map<string, Options["agents"]>>();
/** The agents a row's Managed By Agent offers: those in its group (one list per group and options). */
function agentsFor(options: Options, groupId: string | null): readonly Choice[] {
  if (!groupId) return options.agents;
  let byGroup = agentsByGroup.get(options);
  if (!byGroup) agentsByGroup.set(options, (byGroup = new Map()));
  let list = byGroup.get(groupId);
  if (!list) byGroup.set(groupId, (list = options.agents.filter((a) => agentFitsGroup(a, groupId))));
  return list;
}

/**
 * How a row's dropdowns are sent (issue 21). "full": each with all its options, as a browser
 * without JavaScript needs them, and as an inline save answers with its row. "lean": each with
 * only the option it shows closed and `data-choices` naming the <template> (ChoiceLists, once a
 * page) that app.js fills it from as the page loads, so 50 rows do not repeat every list.
 */
export type Dropdowns = "full" | "lean";

interface RowSettings {
  kind: InventoryKind;
  columns: readonly ListColumn[];
  options: Options;
  canManage: boolean;
  /** Where the row's Save (without JavaScript) comes back to: the list page it is on. */
  returnTo: string;
  dropdowns: Dropdowns;
}

/** A row's own state beside its record: ticked for a bulk change, or the note of its last save. */
interface RowState {
  selected?: boolean | undefined;
  status?: { ok: boolean; text: string } | undefined;
}

// data-label names each cell in the narrow layout, where the heading row is hidden (issue 23).
const cellStart = (label: string, cls = "") => `<td${cls ? attr("class", cls) : ""}${attr("data-label", label)} role="cell">`;

/** The <template> a lean dropdown of this field (and, for agents, of this group) is filled from. */
function choicesId(field: EditableField, groupId: string | null): string {
  return field === "agent" ? (groupId ? `agents-${groupId}` : "agents") : field;
}

/**
 * The rows of one page. With Manage, the editable columns are dropdowns tied to the row's form
 * (the form attribute), which posts the row: by htmx once app.js sees a change, or with its
 * Save button without JavaScript. Where htmx puts the answer (the row) is inherited from <tbody>.
 */
function rowRenderer({ kind, columns, options, canManage, returnTo, dropdowns }: RowSettings): (row: Row, state?: RowState) => string {
  const path = escapeHtml(kind.path);
  const back = escapeHtml(returnTo);
  const lean = dropdowns === "lean";
  const selectStart = cellStart(canManage ? "Select" : "");
  const nameStart = cellStart("Name");
  const statusStart = cellStart("", "row-status");
  const cells = columns.map((column) => {
    const field = column.editable;
    return {
      column,
      start: cellStart(column.label),
      field,
      choices: field === "impact" ? IMPACT_CHOICES : field === "location" ? options.locations : field === "group" ? options.groups : undefined,
      select: field && `<select name="${field}" aria-label="${escapeHtml(FIELD_LABELS[field])} of `,
      none: field === "impact" ? undefined : DASH,
    };
  });
  return (row, state = {}) => {
    const id = escapeHtml(String(row.id));
    const name = escapeHtml(String(row.name));
    const post = `${path}/${id}/inline`;
    const editable = canManage && row.status !== "retired";
    const groupId = (row.group_id as string | null) ?? null;
    let html = `<tr id="row-${id}" data-testid="inventory-row" role="row">${selectStart}`;
    if (canManage) html += `<input type="checkbox" name="ids" value="${id}" form="bulk" aria-label="Select ${name}" class="row-select"${state.selected ? ' checked=""' : ""}/>`;
    html += `</td>${nameStart}<a href="${path}/${id}">${name}</a></td>`;
    for (const cell of cells) {
      html += cell.start;
      if (cell.field && editable) {
        const value = (row[EDITABLE[cell.field]] as string | null) ?? null;
        const choices = cell.choices ?? agentsFor(options, groupId);
        html += `${cell.select}${name}" form="inline-${id}"`;
        html += lean ? ` data-choices="${escapeHtml(choicesId(cell.field, groupId))}">${chosenOptionHtml(choices, value, cell.none)}` : `>${optionsHtml(choices, value, cell.none)}`;
        html += "</select>";
      } else {
        const text = cell.column.text(row);
        html += text ? escapeHtml(text) : DASH;
      }
      html += "</td>";
    }
    html += statusStart;
    if (editable) {
      html += `<form id="inline-${id}" method="post" action="${post}" hx-post="${post}"><input type="hidden" name="version" value="${escapeHtml(String(row.row_version_value))}"/>`;
      // Where to come back to, and the Save button, serve only a browser without JavaScript.
      html += lean ? "</form>" : `<input type="hidden" name="return" value="${back}"/><noscript><button type="submit">Save</button></noscript></form>`;
    }
    const status = state.status;
    html += `<span role="status" class="${status ? (status.ok ? "saved" : "failed") : ""}">${escapeHtml(status?.text ?? "")}</span></td></tr>`;
    return html;
  };
}

/** One row, as an inline save answers with it: with whole dropdowns, since its group may have changed. */
export function InventoryRow(props: Omit<RowSettings, "dropdowns"> & { row: Row } & RowState) {
  return raw(rowRenderer({ ...props, dropdowns: "full" })(props.row, props));
}

/**
 * The lists lean dropdowns are filled from: each once, with its empty choice, none chosen; the
 * agents of each group some editable row on the page is in.
 */
function ChoiceLists({ options, rows }: { options: Options; rows: readonly Row[] }) {
  const lists: [string, readonly Choice[], string | undefined][] = [
    ["impact", IMPACT_CHOICES, undefined],
    ["location", options.locations, DASH],
    ["group", options.groups, DASH],
    ["agents", options.agents, DASH],
  ];
  const groups = new Set(rows.filter((r) => r.status !== "retired" && r.group_id).map((r) => r.group_id as string));
  for (const group of groups) lists.push([`agents-${group}`, agentsFor(options, group), DASH]);
  return raw(lists.map(([id, choices, none]) => `<template id="choices-${escapeHtml(id)}">${optionsHtml(choices, null, none)}</template>`).join(""));
}

function SortHeader(props: { kind: InventoryKind; filter: ListFilter; sort: string; label: string }) {
  const active = props.filter.sort === props.sort;
  const dir = active && props.filter.dir === "asc" ? "desc" : "asc";
  return (
    <th scope="col" role="columnheader" aria-sort={active ? (props.filter.dir === "asc" ? "ascending" : "descending") : undefined}>
      {ownValue(props.kind.sorts, props.sort) ? <a href={listUrl(props.kind, props.filter, { sort: props.sort, dir, page: 1, cursor: undefined })}>{props.label}{active ? ARROW[props.filter.dir] : ""}</a> : props.label}
    </th>
  );
}

/** "1,234 records match", or "More than 1,000 records match" past the count's cap. */
function matchCountText(count: MatchCount): string {
  if (count.capped) return `More than ${COUNT_CAP.toLocaleString("en-US")} records match`;
  return `${count.total.toLocaleString("en-US")} ${count.total === 1 ? "record matches" : "records match"}`;
}

const SCOPE_ALL = "All matching this filter";

/**
 * The count, as it replaces the page's "Counting…" (htmx, after the rows are shown), and the
 * bulk bar's "All N matching this filter" beside it (an out-of-band swap).
 */
export function MatchCountFragment({ count, canManage }: { count: MatchCount; canManage: boolean }) {
  return (
    <>
      <p class="hint" data-testid="match-count" role="status">{matchCountText(count)}.</p>
      {canManage && (
        <label for="scope-all" id="scope-all-label" hx-swap-oob="true">
          {count.capped ? `${SCOPE_ALL} (more than ${COUNT_CAP.toLocaleString("en-US")}: the next step shows how many)` : `All ${count.total.toLocaleString("en-US")} matching this filter`}
        </label>
      )}
    </>
  );
}

/** The CSV of everything the list's filter matches, in its sort order (the page's cursor aside). */
export function exportUrl(kind: InventoryKind, filter: ListFilter): string {
  const list = listUrl(kind, { ...filter, page: 1, cursor: undefined });
  return list.replace(kind.path, `${kind.path}/export.csv`);
}

/** Where a list page without JavaScript goes once, to be sent back with whole dropdowns. */
export function noScriptUrl(kind: InventoryKind, back: string): string {
  return `${kind.path}/without-script?return=${encodeURIComponent(back)}`;
}

/** The count page without JavaScript: the same words, and the way back. */
export function countUrl(kind: InventoryKind, filter: ListFilter): string {
  const list = listUrl(kind, { ...filter, page: 1, cursor: undefined });
  return list.replace(kind.path, `${kind.path}/count`);
}

export function InventoryListPage(props: {
  auth: Auth;
  kind: InventoryKind;
  columns: readonly ListColumn[];
  filter: ListFilter;
  page: ListPage;
  options: Options;
  canManage: boolean;
  /** Rows selected again after a bulk change (issue 22), on this page or others. */
  selected?: ReadonlySet<string>;
  error?: string | undefined;
  dropdowns: Dropdowns;
}) {
  const { kind, filter, options, page, columns } = props;
  const rows = page.rows;
  const selected = props.selected ?? new Set<string>();
  const onPage = new Set(rows.map((r) => r.id));
  const here = listUrl(kind, filter);
  const first = rows[0];
  const last = rows.at(-1);
  const lean = props.dropdowns === "lean" && props.canManage;
  const renderRow = rowRenderer({ kind, columns, options, canManage: props.canManage, returnTo: here, dropdowns: props.dropdowns });
  // A browser without JavaScript cannot fill lean dropdowns: it is sent once to noScriptUrl, which
  // remembers that and brings it back here to whole ones.
  const head = lean ? <noscript><meta http-equiv="refresh" content={`0; url=${noScriptUrl(kind, here)}`} /></noscript> : undefined;
  return (
    <Layout title={kind.title} auth={props.auth} htmx head={head}>
      <section class="wide inventory">
        <h1>{kind.title}</h1>
        <p class="actions">
          {props.canManage && <a class="button primary" href={`${kind.path}/new`}>New {kind.noun}</a>}
          {props.canManage && <a class="button" href={`${kind.path}/import`}>Import CSV</a>}
          <a class="button" href={exportUrl(kind, filter)} download>Export CSV</a>
          <a class="button" href={`${kind.path}/columns?return=${encodeURIComponent(here)}`}>Columns</a>
        </p>
        {props.error && <p class="alert error" role="alert">{props.error}</p>}
        <form method="get" action={kind.path} class="filters" role="search">
          <div class="field">
            <label for="f-q">Search</label>
            <input id="f-q" type="search" name="q" value={filter.q ?? ""} maxlength={100} placeholder={`Name${kind.type === "asset" ? ", tag or serial" : ", publisher or category"}`} />
          </div>
          {Object.entries(kind.enums).map(([key, def]) => (
            <div class="field">
              <label for={`f-${key}`}>{def.label}</label>
              <Select id={`f-${key}`} name={key} value={filter.enums[key] ?? null} options={choicesOfValues(def.values)} none="Any" />
            </div>
          ))}
          {(["location", "group", "agent"] as const).map((key) => (
            <div class="field">
              <label for={`f-${key}`}>{FIELD_LABELS[key]}</label>
              <Select id={`f-${key}`} name={key} value={filter[key] ?? null} options={noneOr(key === "location" ? options.locations : key === "group" ? options.groups : options.agents)} none="Any" />
            </div>
          ))}
          <div class="actions">
            <button type="submit" class="primary">Filter</button>
            <a href={kind.path}>Clear</a>
          </div>
        </form>
        <p class="hint" data-testid="match-count" hx-get={countUrl(kind, filter)} hx-trigger="load" hx-swap="outerHTML">
          Counting matches{ELLIPSIS}
          <noscript>
            {" "}
            <a href={countUrl(kind, filter)}>Count them</a>
          </noscript>
        </p>
        {props.canManage && (
          <form id="bulk" method="post" action={`${kind.path}/bulk`} class="bulk-bar" aria-label="Bulk change" data-bulk-bar>
            <FilterHiddenFields kind={kind} filter={filter} />
            {[...selected].filter((id) => !onPage.has(id)).map((id) => <input type="hidden" name="ids" value={id} data-kept-selection />)}
            <p class="bulk-selection" hidden data-bulk-summary>
              <span aria-live="polite" data-bulk-count></span> <button type="button" data-bulk-clear>Clear</button>
            </p>
            <fieldset class="choices inline">
              <legend>Apply to</legend>
              <div class="choice"><input type="radio" id="scope-selected" name="scope" value="selected" checked /><label for="scope-selected">Selected rows</label></div>
              <div class="choice"><input type="radio" id="scope-all" name="scope" value="all" /><label for="scope-all" id="scope-all-label">{SCOPE_ALL}</label></div>
            </fieldset>
            <div class="field">
              <label for="bulk-action">Action</label>
              <select id="bulk-action" name="action">
                <option value="group">Assign Group</option>
                <option value="agent">Assign Agent</option>
                <option value="location">Update Location</option>
              </select>
            </div>
            {/* Without JavaScript all three show and the chosen action's is used; app.js shows only that one. */}
            <div class="field" data-bulk-value="group"><label for="bulk-group">Group</label><Select id="bulk-group" name="value_group" value={null} options={options.groups} none="None" /></div>
            <div class="field" data-bulk-value="agent"><label for="bulk-agent">Agent</label><Select id="bulk-agent" name="value_agent" value={null} options={options.agents} none="None" /></div>
            <div class="field" data-bulk-value="location"><label for="bulk-location">Location</label><Select id="bulk-location" name="value_location" value={null} options={options.locations} none="None" /></div>
            <button type="submit">Review change</button>
          </form>
        )}
        {props.canManage && (
          <p class="bulk-hint" hidden data-bulk-idle>
            Select rows to change them together, or <button type="button" class="link" data-bulk-all>change every record that matches</button>.
          </p>
        )}
        {/* Explicit roles: the narrow layout's display: block would otherwise drop the table's semantics in some browsers. */}
        <table class="inventory-table" role="table">
          <thead role="rowgroup">
            <tr role="row">
              <th scope="col" role="columnheader">{props.canManage && <input type="checkbox" id="select-page" aria-label="Select all rows on this page" />}</th>
              <SortHeader kind={kind} filter={filter} sort="name" label="Name" />
              {columns.map((c) => (c.sort ? <SortHeader kind={kind} filter={filter} sort={c.sort} label={c.label} /> : <th scope="col" role="columnheader">{c.label}</th>))}
              <th scope="col" role="columnheader"><span class="visually-hidden">Save note</span></th>
            </tr>
          </thead>
          <tbody hx-target="closest tr" hx-swap="outerHTML" role="rowgroup">
            {raw(rows.map((row) => renderRow(row, { selected: selected.has(row.id) })).join(""))}
          </tbody>
        </table>
        {lean && <ChoiceLists options={options} rows={rows} />}
        {rows.length === 0 && <p class="empty" role="status">No {kind.noun}s match{filter.q || Object.values(filter.enums).some(Boolean) || filter.location || filter.group || filter.agent ? " this filter" : " yet"}.</p>}
        <nav class="pager" aria-label="Pages">
          {page.hasPrevious && first && (
            <a href={filter.page <= 2 ? listUrl(kind, filter, { page: 1, cursor: undefined }) : listUrl(kind, filter, { page: filter.page - 1, cursor: cursorOf(kind, filter, first, "before") })} rel="prev">
              Previous
            </a>
          )}
          <span>Page {filter.page}</span>
          {page.hasNext && last && (
            <a href={listUrl(kind, filter, { page: filter.page + 1, cursor: cursorOf(kind, filter, last, "after") })} rel="next">
              Next
            </a>
          )}
        </nav>
      </section>
    </Layout>
  );
}

const HISTORY_LABELS: Record<string, string> = {
  ...FIELD_LABELS,
  created: "Created",
  name: "Name",
  assetTag: "Asset tag",
  assetType: "Type",
  serialNumber: "Serial number",
  status: "Status",
  usedBy: "Used by",
  description: "Description",
  publisher: "Publisher",
  category: "Category",
  version: "Version",
};

export function HistoryList({ entries, names }: { entries: HistoryEntry[]; names: Map<string, string> }) {
  const show = (v: string | null) => (v === null ? "—" : names.get(v) ?? humanize(v));
  return entries.length === 0 ? (
    <p>No changes yet.</p>
  ) : (
    <ol class="history" data-testid="history">
      {entries.map((h) => (
        <li>
          <strong>{HISTORY_LABELS[h.field] ?? h.field}</strong>: {show(h.old_value)} → {show(h.new_value)}
          <span class="hint"> · {h.actor_name ?? "someone"} · {new Date(h.at).toISOString().slice(0, 16).replace("T", " ")} UTC{h.batch_id ? (h.batch_id.startsWith("undo:") ? " · undo" : " · bulk change") : ""}</span>
        </li>
      ))}
    </ol>
  );
}
