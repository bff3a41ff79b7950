import type { Auth } from "../access/auth";
import { html, raw } from "hono/html";
import { escapeHtml } from "../lib/html-escape";
import { Layout } from "../web/layout";
import type { HistoryEntry } from "./inventory";
import { COUNT_CAP, cursorOf, encodeCursor, type ListFilter, type ListPage, type MatchCount, type Options } from "./listing";
import { FIELD_LABELS, humanize, type InventoryKind } from "./kinds";
import { type Choice, choiceListsHtml, type Dropdowns, rowHtml, rowRenderer, selectHtml } from "./rows";
import type { ListColumn } from "./columns";
import { ownValue } from "../lib/lookup";

/** The list URL for a filter, with some of it changed: the filter lives in the URL, to share and reload. */
export function listUrl(
  kind: InventoryKind,
  filter: ListFilter,
  change: Partial<ListFilter> & { enums?: Record<string, string | undefined> } = {},
): string {
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

/** The filter, as hidden fields of the bulk bar: a bulk change on "all matching" applies it. */
function filterHiddenFields(kind: InventoryKind, filter: ListFilter) {
  const params = new URL(listUrl(kind, { ...filter, page: 1, cursor: undefined }), "https://x").searchParams;
  return [...params].map(([k, v]) => html`<input type="hidden" name="f_${k}" value="${v}"/>`);
}

// The chrome of a list page is written with hono's html template (values escaped as JSX does),
// and its rows as strings (rows.ts): JSX elements took about twice the time for the same markup,
// on a page every agent opens most.
const ELLIPSIS = "&#8230;";
const ARROW = { asc: " &#9650;", desc: " &#9660;" };

/** A dropdown of the filter bar or the bulk bar, named by the <label for> beside it. */
function select(id: string, name: string, value: string | null, options: readonly Choice[], none: string) {
  return raw(selectHtml({ id, name }, options, value, escapeHtml(none)));
}

// The filter bar's choices, made once per list of values (and so their markup is kept too).
const enumChoices = new WeakMap<readonly string[], readonly Choice[]>();
const withNone = new WeakMap<readonly Choice[], readonly Choice[]>();
function choicesOfValues(values: readonly string[]): readonly Choice[] {
  let choices = enumChoices.get(values);
  if (!choices) {
    choices = values.map((v) => ({ id: v, name: humanize(v) }));
    enumChoices.set(values, choices);
  }
  return choices;
}
/** A filter's choices: "None" (records without one), then the list. */
function noneOr(list: readonly Choice[]): readonly Choice[] {
  let choices = withNone.get(list);
  if (!choices) {
    choices = [{ id: "none", name: "None" }, ...list];
    withNone.set(list, choices);
  }
  return choices;
}

/** One row, as an inline save answers with it (whole dropdowns: its group may have changed). */
export function InventoryRow(props: Parameters<typeof rowHtml>[0]) {
  return raw(rowHtml(props));
}

function sortHeader(kind: InventoryKind, filter: ListFilter, sort: string, label: string) {
  const active = filter.sort === sort;
  const dir = active && filter.dir === "asc" ? "desc" : "asc";
  const ariaSort = active ? html` aria-sort="${filter.dir === "asc" ? "ascending" : "descending"}"` : "";
  const text = ownValue(kind.sorts, sort)
    ? html`<a href="${listUrl(kind, filter, { sort, dir, page: 1, cursor: undefined })}">${label}${active ? raw(ARROW[filter.dir]) : ""}</a>`
    : label;
  return html`<th scope="col" role="columnheader"${ariaSort}>${text}</th>`;
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
      <p class="hint" data-testid="match-count" role="status">
        {matchCountText(count)}.
      </p>
      {canManage && (
        <label for="scope-all" id="scope-all-label" hx-swap-oob="true">
          {count.capped
            ? `${SCOPE_ALL} (more than ${COUNT_CAP.toLocaleString("en-US")}: the next step shows how many)`
            : `All ${count.total.toLocaleString("en-US")} matching this filter`}
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
  /** Rows selected again after a bulk change, on this page or others. */
  selected?: ReadonlySet<string>;
  error?: string | undefined;
  dropdowns: Dropdowns;
}) {
  const { kind, filter, options, page, columns, canManage } = props;
  const rows = page.rows;
  const selected = props.selected ?? new Set<string>();
  const onPage = new Set(rows.map((r) => r.id));
  const here = listUrl(kind, filter);
  const first = rows[0];
  const last = rows.at(-1);
  const lean = props.dropdowns === "lean" && canManage;
  const renderRow = rowRenderer({ kind, columns, options, canManage, returnTo: here, dropdowns: props.dropdowns });
  // A browser without JavaScript cannot fill lean dropdowns: it is sent once to noScriptUrl, which
  // remembers that and brings it back here to whole ones.
  const head = lean ? html`<noscript><meta http-equiv="refresh" content="0; url=${noScriptUrl(kind, here)}"/></noscript>` : undefined;
  const filtered = filter.q || Object.values(filter.enums).some(Boolean) || filter.location || filter.group || filter.agent;
  const bulkBar = html`<form id="bulk" method="post" action="${kind.path}/bulk" class="bulk-bar" aria-label="Bulk change" data-bulk-bar="true">${filterHiddenFields(kind, filter)}${[...selected].filter((id) => !onPage.has(id)).map((id) => html`<input type="hidden" name="ids" value="${id}" data-kept-selection="true"/>`)}<p class="bulk-selection" hidden="" data-bulk-summary="true"><span aria-live="polite" data-bulk-count="true"></span> <button type="button" data-bulk-clear="true">Clear</button></p><fieldset class="choices inline"><legend>Apply to</legend><div class="choice"><input type="radio" id="scope-selected" name="scope" value="selected" checked=""/><label for="scope-selected">Selected rows</label></div><div class="choice"><input type="radio" id="scope-all" name="scope" value="all"/><label for="scope-all" id="scope-all-label">${SCOPE_ALL}</label></div></fieldset><div class="field"><label for="bulk-action">Action</label><select id="bulk-action" name="action"><option value="group">Assign Group</option><option value="agent">Assign Agent</option><option value="location">Update Location</option></select></div>${
    /* Without JavaScript all three show and the chosen action's is used; app.js shows only that one. */ ""
  }<div class="field" data-bulk-value="group"><label for="bulk-group">Group</label>${select("bulk-group", "value_group", null, options.groups, "None")}</div><div class="field" data-bulk-value="agent"><label for="bulk-agent">Agent</label>${select("bulk-agent", "value_agent", null, options.agents, "None")}</div><div class="field" data-bulk-value="location"><label for="bulk-location">Location</label>${select("bulk-location", "value_location", null, options.locations, "None")}</div><button type="submit">Review change</button></form><p class="bulk-hint" hidden="" data-bulk-idle="true">Select rows to change them together, or <button type="button" class="link" data-bulk-all="true">change every record that matches</button>.</p>`;
  const previous =
    page.hasPrevious &&
    first &&
    (filter.page <= 2
      ? listUrl(kind, filter, { page: 1, cursor: undefined })
      : listUrl(kind, filter, { page: filter.page - 1, cursor: cursorOf(kind, filter, first, "before") }));
  const next = page.hasNext && last && listUrl(kind, filter, { page: filter.page + 1, cursor: cursorOf(kind, filter, last, "after") });
  return (
    <Layout title={kind.title} auth={props.auth} htmx head={head}>
      {html`<section class="wide inventory ${kind.type}"><h1>${kind.title}</h1><p class="actions">${canManage ? html`<a class="button primary" href="${kind.path}/new">New ${kind.noun}</a><a class="button" href="${kind.path}/import">Import CSV</a>` : ""}<a class="button" href="${exportUrl(kind, filter)}" download="">Export CSV</a><a class="button" href="${kind.path}/columns?return=${encodeURIComponent(here)}">Columns</a></p>${
        props.error ? html`<p class="alert error" role="alert">${props.error}</p>` : ""
      }<form method="get" action="${kind.path}" class="filters" role="search"><div class="field"><label for="f-q">Search</label><input id="f-q" type="search" name="q" value="${filter.q ?? ""}" maxlength="100" placeholder="Name${kind.type === "asset" ? ", tag or serial" : ", publisher or category"}"/></div>${Object.entries(
        kind.enums,
      ).map(
        ([key, def]) =>
          html`<div class="field"><label for="f-${key}">${def.label}</label>${select(`f-${key}`, key, filter.enums[key] ?? null, choicesOfValues(def.values), "Any")}</div>`,
      )}${(["location", "group", "agent"] as const).map(
        (key) =>
          html`<div class="field"><label for="f-${key}">${FIELD_LABELS[key]}</label>${select(`f-${key}`, key, filter[key] ?? null, noneOr(key === "location" ? options.locations : key === "group" ? options.groups : options.agents), "Any")}</div>`,
      )}<div class="actions"><button type="submit" class="primary">Filter</button><a href="${kind.path}">Clear</a></div></form><p class="hint" data-testid="match-count" hx-get="${countUrl(kind, filter)}" hx-trigger="load" hx-swap="outerHTML">Counting matches${raw(ELLIPSIS)}<noscript> <a href="${countUrl(kind, filter)}">Count them</a></noscript></p>${
        canManage ? bulkBar : ""
      }${
        /* Explicit roles: the narrow layout's display: block would otherwise drop the table's semantics in some browsers. */ ""
      }<div class="table-scroll"><table class="inventory-table" role="table"><thead role="rowgroup"><tr role="row"><th scope="col" role="columnheader">${canManage ? html`<input type="checkbox" id="select-page" aria-label="Select all rows on this page"/>` : ""}</th>${sortHeader(kind, filter, "name", "Name")}${columns.map(
        (c) => (c.sort ? sortHeader(kind, filter, c.sort, c.label) : html`<th scope="col" role="columnheader">${c.label}</th>`),
      )}<th scope="col" role="columnheader"><span class="visually-hidden">Save note</span></th></tr></thead><tbody hx-target="closest tr" hx-swap="outerHTML" role="rowgroup">${raw(rows.map((row) => renderRow(row, { selected: selected.has(row.id) })).join(""))}</tbody></table></div>${
        lean ? raw(choiceListsHtml(options, columns, rows)) : ""
      }${rows.length === 0 ? html`<p class="empty" role="status">No ${kind.noun}s match${filtered ? " this filter" : " yet"}.</p>` : ""}<nav class="pager" aria-label="Pages">${
        previous ? html`<a href="${previous}" rel="prev">Previous</a>` : ""
      }<span>Page ${filter.page}</span>${next ? html`<a href="${next}" rel="next">Next</a>` : ""}</nav></section>`}
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
  const show = (v: string | null) => (v === null ? "—" : (names.get(v) ?? humanize(v)));
  return entries.length === 0 ? (
    <p>No changes yet.</p>
  ) : (
    <ol class="history" data-testid="history">
      {entries.map((h) => (
        <li>
          <strong>{HISTORY_LABELS[h.field] ?? h.field}</strong>: {show(h.old_value)} → {show(h.new_value)}
          <span class="hint">
            {" "}
            · {h.actor_name ?? "someone"} · {new Date(h.at).toISOString().slice(0, 16).replace("T", " ")} UTC
            {h.batch_id ? (h.batch_id.startsWith("undo:") ? " · undo" : " · bulk change") : ""}
          </span>
        </li>
      ))}
    </ol>
  );
}
