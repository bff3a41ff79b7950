import { type Context, Hono } from "hono";
import { z } from "zod";
import { IMPACTS } from "../db/schema";
import type { AppEnv } from "../app-env";
import { requireSession } from "../auth/middleware";
import { parseDeclared, parseQuery, reads, safeNextPath } from "../lib/validation";
import { requirePermission } from "../access/guard";
import { hasPermission } from "../access/permissions";
import { Card, Layout } from "../web/layout";
import { type BulkPlan, bulkUpdate, editInline, planBulk, recordHistory, type Scope, selectionOf } from "./inventory";
import { undoBatch } from "./undo";
import { exportStream } from "./export";
import { recordAudit } from "../audit/audit";
import { countMatches, decodeCursor, getRecord, type ListFilter, listRecords, loadOptions } from "./listing";
import { BULK_FIELDS, type BulkField, EDITABLE, type EditableField, FIELD_LABELS, humanize, type InventoryKind } from "./kinds";
import { personNames } from "../auth/users";
import { availableColumns, chosenColumns, columnFormSchema, saveColumnChoice } from "./columns";
import { ColumnChoicePage, HistoryList, InventoryListPage, InventoryRow, listUrl, MatchCountFragment } from "./pages";
import { ownValue } from "../lib/lookup";

type Ctx = Context<AppEnv>;
const idValue = z.string().max(40).regex(/^[a-z]+_[a-z0-9]+$/, "That is not a valid id.");
const optionalId = z.union([z.literal(""), z.literal("none"), idValue]).optional().transform((v) => v || undefined);

const cursorField = (dir: "after" | "before") =>
  z.string().max(400, "That page link is not one of ours: go back to the first page.").refine((v) => decodeCursor(dir, v) !== null, "That page link is not one of ours: go back to the first page.");

/** A list's filter, sort and cursor from a query (or, with a prefix, from a bulk form's hidden fields). */
export function filterSchema(kind: InventoryKind, prefix = "") {
  const enumFields = Object.fromEntries(
    Object.entries(kind.enums).map(([k, def]) => [`${prefix}${k}`, z.enum(["", ...def.values] as [string, ...string[]], { error: `${def.label}: choose one from the list.` }).optional()]),
  );
  return z
    .object({
      [`${prefix}q`]: z
        .string()
        .trim()
        .max(100, "Search for at most 100 characters.")
        .optional(),
      [`${prefix}location`]: optionalId,
      [`${prefix}group`]: optionalId,
      [`${prefix}agent`]: optionalId,
      [`${prefix}sort`]: z.string().refine((s) => ownValue(kind.sorts, s) !== undefined, "That column cannot be sorted.").optional(),
      [`${prefix}dir`]: z.enum(["asc", "desc"]).optional(),
      [`${prefix}page`]: z.string().regex(/^\d{1,6}$/, "The page is a number.").optional(),
      [`${prefix}after`]: cursorField("after").optional(),
      [`${prefix}before`]: cursorField("before").optional(),
      ...enumFields,
    })
    .transform((raw: Record<string, string | undefined>): ListFilter => ({
      q: raw[`${prefix}q`] || undefined,
      enums: Object.fromEntries(Object.keys(kind.enums).map((k) => [k, raw[`${prefix}${k}`] || undefined])),
      location: raw[`${prefix}location`],
      group: raw[`${prefix}group`],
      agent: raw[`${prefix}agent`],
      sort: raw[`${prefix}sort`] ?? "name",
      dir: (raw[`${prefix}dir`] as "asc" | "desc") ?? "asc",
      // A page number means something only with the cursor that reaches it; alone it is page 1.
      page: raw[`${prefix}after`] || raw[`${prefix}before`] ? Math.max(1, Number(raw[`${prefix}page`] ?? 1)) : 1,
      cursor: raw[`${prefix}after`] ? decodeCursor("after", raw[`${prefix}after`]!)! : raw[`${prefix}before`] ? decodeCursor("before", raw[`${prefix}before`]!)! : undefined,
    }));
}

// Unknown fields are refused (SECURITY.md 29): only the four inline fields, the version and where to return.
const inlineSchema = z.strictObject({
  version: z.string({ error: "The row's version is missing: reload the page." }).regex(/^\d{1,9}$/, "The row's version is missing: reload the page.").transform(Number),
  impact: z.enum(IMPACTS, { error: "Choose an impact: low, medium or high." }).optional(),
  location: z.union([z.literal(""), idValue]).optional(),
  group: z.union([z.literal(""), idValue]).optional(),
  agent: z.union([z.literal(""), idValue]).optional(),
  return: z.string().max(2048).optional(),
  ids: z.unknown().optional(),
}, { error: (issue) => (issue.code === "unrecognized_keys" ? "Only Impact, Location, Managed By Group and Managed By Agent can be edited here." : undefined) });

const MAX_SELECTED = 500;
const bulkSchema = z.object({
  scope: z.enum(["selected", "all"], { error: "Choose which records to change." }),
  action: z.enum(BULK_FIELDS, { error: "Choose Assign Group, Assign Agent or Update Location." }),
  ids: z.array(idValue).max(MAX_SELECTED, `Select at most ${MAX_SELECTED} rows, or choose all matching this filter.`).optional().default([]),
  value_group: z.union([z.literal(""), idValue]).optional(),
  value_agent: z.union([z.literal(""), idValue]).optional(),
  value_location: z.union([z.literal(""), idValue]).optional(),
});

const reselectQuery = z.object({ reselect: z.string().max(40).regex(/^bulk_[a-z0-9]+$/, "That selection link is not one of ours.").optional() });
const returnQuery = z.object({ return: z.string().max(2048).optional() });

/** "asset" or "assets" (a kind's noun for a count). */
function nouns(kind: InventoryKind, n: number): string {
  return n === 1 ? kind.noun : `${kind.noun}s`;
}

/** Why records of a bulk change are (or were) not changed, by reason; "" when all are. */
export function unchangedText(plan: BulkPlan, when: "before" | "after"): string {
  const reasons = [
    plan.alreadySet && `${plan.alreadySet} already had that value`,
    plan.retired && `${plan.retired} ${plan.retired === 1 ? "is" : "are"} retired (read-only)`,
    plan.outsideGroup && `${plan.outsideGroup} ${plan.outsideGroup === 1 ? "belongs" : "belong"} to a group the agent is not in`,
  ].filter(Boolean);
  const left = plan.alreadySet + plan.retired + plan.outsideGroup;
  if (!left) return "";
  const one = left === 1;
  const verb = when === "before" ? (one ? "will be left as it is" : "will be left as they are") : one ? "was left as it was" : "were left as they were";
  return `${left} ${verb}: ${reasons.join(", ")}.`;
}

function withParam(url: string, key: string, value: string): string {
  return `${url}${url.includes("?") ? "&" : "?"}${key}=${encodeURIComponent(value)}`;
}

// Where Undo goes back to (a list URL with its filter); anything else goes to the list itself.
const undoForm = z.object({ return: z.string().max(2048).optional() });

async function readBody(c: Ctx): Promise<Record<string, unknown> | null> {
  const body = await c.req.parseBody({ all: true }).catch(() => null);
  if (!body) return null;
  if (typeof body.ids === "string") body.ids = [body.ids];
  return body;
}

/** The asset list or the software list, mounted at kind.path; agents with View (read) and Manage (write). */
export function inventoryRoutes(kind: InventoryKind) {
  const app = new Hono<AppEnv>();
  app.use("*", requireSession("agent"), requirePermission("viewAssets"));
  const manage = requirePermission("manageAssets");
  const canManage = (c: Ctx) => hasPermission(c.var.auth.permissions, "manageAssets");
  const filters = filterSchema(kind);
  // The bulk forms carry the list's filter as f_ fields, for "all matching".
  const bulkFilters = filterSchema(kind, "f_");

  async function listPage(c: Ctx, filter: ListFilter, error?: string, status: 200 | 400 = 200, selected?: ReadonlySet<string>) {
    const page = await listRecords(c.env.DB, kind, filter);
    const columns = chosenColumns(kind, c.var.auth.user);
    return c.html(<InventoryListPage auth={c.var.auth} kind={kind} columns={columns} filter={filter} page={page} options={page.options} canManage={canManage(c)} selected={selected} error={error} />, status);
  }

  app.get("/", reads(filters, reselectQuery), async (c) => {
    const parsed = parseQuery(c, filters);
    if (!parsed.ok) return listPage(c, { enums: {}, sort: "name", dir: "asc", page: 1 }, parsed.message, 400);
    const again = parseQuery(c, reselectQuery);
    const batchId = again.ok ? again.data.reselect : undefined;
    const selected = batchId && canManage(c) ? new Set(await selectionOf(c.env.DB, kind, batchId, c.var.auth.user.id)) : undefined;
    return listPage(c, parsed.data, undefined, 200, selected);
  });

  // Which columns the list shows, and in which order: the person's own choice (issue 22).
  const columnForm = columnFormSchema(kind);
  const columnsPage = (c: Ctx, back: string, error?: string) =>
    c.html(<ColumnChoicePage auth={c.var.auth} kind={kind} chosen={chosenColumns(kind, c.var.auth.user)} back={back} error={error} />, error ? 400 : 200);
  app.get("/columns", reads(returnQuery), (c) => {
    const back = parseQuery(c, returnQuery);
    return columnsPage(c, safeNextPath(back.ok ? back.data.return : undefined, kind.path));
  });
  app.post("/columns", reads(columnForm), async (c) => {
    const body = await readBody(c);
    const back = safeNextPath(typeof body?.return === "string" ? body.return : undefined, kind.path);
    const parsed = parseDeclared(c, columnForm, body ?? {});
    if (!parsed.ok) return columnsPage(c, back, parsed.message);
    await saveColumnChoice(c.env, c.var.auth.user.id, kind, parsed.data);
    return c.redirect(back, 303);
  });

  // Everything the filter matches as CSV, with the person's columns; audited with its filter and size.
  app.get("/export.csv", reads(filters), async (c) => {
    const parsed = parseQuery(c, filters);
    if (!parsed.ok) return c.text(parsed.message, 400);
    const filter: ListFilter = { ...parsed.data, page: 1, cursor: undefined };
    const described = listUrl(kind, filter).slice(kind.path.length).replace(/^\?/, "");
    const stream = exportStream(c.env.DB, kind, filter, chosenColumns(kind, c.var.auth.user), (rows, complete) =>
      recordAudit(c, { event: "inventory.exported", portal: "agent", actorId: c.var.auth.user.id, details: { list: kind.table, filter: described || "(none)", rows, ...(complete ? {} : { cancelled: true }) } }),
    );
    const day = new Date(c.var.clock.now()).toISOString().slice(0, 10);
    return new Response(stream, {
      headers: {
        "Content-Type": "text/csv; charset=utf-8",
        "Content-Disposition": `attachment; filename="${kind.table}-${day}.csv"`,
        "Cache-Control": "no-store",
      },
    });
  });

  // The count, after the page (htmx swaps it in); without JavaScript, a page of its own.
  app.get("/count", reads(filters), async (c) => {
    const parsed = parseQuery(c, filters);
    if (!parsed.ok) return c.text(parsed.message, 400);
    const count = await countMatches(c.env.DB, kind, parsed.data);
    if (c.req.header("HX-Request") === "true") return c.html(<MatchCountFragment count={count} canManage={canManage(c)} />);
    return c.html(
      <Layout title={kind.title} auth={c.var.auth}>
        <Card title={kind.title}>
          <MatchCountFragment count={count} canManage={false} />
          <a href={listUrl(kind, parsed.data)}>Back to the list</a>
        </Card>
      </Layout>,
    );
  });

  app.post("/:id/inline", manage, reads(inlineSchema), async (c) => {
    const id = c.req.param("id");
    const body = await readBody(c);
    const parsed = parseDeclared(c, inlineSchema, body ?? {});
    const htmx = c.req.header("HX-Request") === "true";
    const returnTo = safeNextPath(typeof body?.return === "string" ? body.return : undefined, kind.path);
    if (!parsed.ok) return c.text(parsed.message, 400);
    const changes: Partial<Record<EditableField, string | null>> = {};
    for (const field of Object.keys(EDITABLE) as EditableField[]) {
      const value = parsed.data[field];
      if (value !== undefined) changes[field] = value === "" ? null : value;
    }
    const result = await editInline(c.env.DB, kind, id, parsed.data.version, changes, c.var.auth.user.id, c.var.clock.now());
    if (!htmx) {
      if (!result.ok && result.status === 404) return c.notFound();
      return result.ok ? c.redirect(returnTo, 303) : listPage(c, { enums: {}, sort: "name", dir: "asc", page: 1 }, result.message, 400);
    }
    if (!result.ok && !result.row) return c.text(result.message, result.status);
    const row = result.ok ? result.row : result.row!;
    const text = result.ok ? (result.changed.length ? `Saved ${result.changed.map((f) => FIELD_LABELS[f]).join(", ")}` : "No change") : result.message;
    return c.html(<InventoryRow kind={kind} columns={chosenColumns(kind, c.var.auth.user)} row={row} options={await loadOptions(c.env.DB)} canManage returnTo={returnTo} status={{ ok: result.ok, text }} />, result.ok ? 200 : result.status);
  });

  function scopeOf(data: z.output<typeof bulkSchema>, filter: ListFilter): Scope {
    return data.scope === "all" ? { filter } : { ids: data.ids };
  }

  async function readBulk(c: Ctx) {
    const body = await readBody(c);
    const parsed = parseDeclared(c, bulkSchema, body ?? {});
    const filter = parseDeclared(c, bulkFilters, body ?? {});
    if (!parsed.ok) return { ok: false as const, message: parsed.message };
    if (!filter.ok) return { ok: false as const, message: filter.message };
    if (parsed.data.scope === "selected" && parsed.data.ids.length === 0) return { ok: false as const, message: "Select at least one row, or choose all matching this filter." };
    const action = parsed.data.action as BulkField;
    const raw = parsed.data[`value_${action}`];
    return { ok: true as const, data: parsed.data, filter: filter.data, action, value: raw ? raw : null, body: body! };
  }

  app.post("/bulk", manage, reads(bulkSchema, bulkFilters), async (c) => {
    const bulk = await readBulk(c);
    const options = await loadOptions(c.env.DB);
    const planned = bulk.ok ? await planBulk(c.env.DB, kind, scopeOf(bulk.data, bulk.filter), bulk.action, bulk.value, options) : bulk;
    if (!planned.ok || !bulk.ok) return c.html(<Layout title="Bulk change" auth={c.var.auth}><Card title="Nothing was changed"><p role="alert">{planned.ok ? "" : planned.message}</p><a href={kind.path}>Back to {kind.title}</a></Card></Layout>, 400);
    const list = bulk.action === "group" ? options.groups : bulk.action === "agent" ? options.agents : options.locations;
    const valueName = bulk.value ? list.find((o) => o.id === bulk.value)?.name ?? "(unknown)" : "none";
    const { plan } = planned;
    const unchanged = unchangedText(plan, "before");
    return c.html(
      <Layout title="Confirm bulk change" auth={c.var.auth}>
        <Card title="Confirm bulk change">
          <p data-testid="bulk-summary" tabindex={-1} data-focus-on-load>
            {FIELD_LABELS[bulk.action]} will be set to <strong>{valueName}</strong> on <strong>{plan.change}</strong> of {plan.total} {nouns(kind, plan.total)}.
          </p>
          {unchanged && <p data-testid="bulk-unchanged">{unchanged}</p>}
          <form method="post" action={`${kind.path}/bulk/apply`} class="actions">
            {Object.entries(bulk.body).flatMap(([k, v]) => (Array.isArray(v) ? v : [v]).map((x) => <input type="hidden" name={k} value={String(x)} />))}
            {plan.change > 0 && <button type="submit" class="primary">Change {plan.change} {plan.change === 1 ? "record" : "records"}</button>}
            <a href={listUrl(kind, bulk.filter)}>{plan.change > 0 ? "Cancel" : `Back to ${kind.title}`}</a>
          </form>
        </Card>
      </Layout>,
    );
  });

  app.post("/bulk/apply", manage, reads(bulkSchema, bulkFilters), async (c) => {
    const bulk = await readBulk(c);
    const result = bulk.ok ? await bulkUpdate(c.env.DB, kind, scopeOf(bulk.data, bulk.filter), bulk.action, bulk.value, c.var.auth.user.id, c.var.clock.now()) : bulk;
    if (!result.ok || !bulk.ok) return c.html(<Layout title="Bulk change" auth={c.var.auth}><Card title="Nothing was changed"><p role="alert">{result.ok ? "" : result.message}</p><a href={bulk.ok ? listUrl(kind, bulk.filter) : kind.path}>Back to {kind.title}</a></Card></Layout>, 400);
    const list = listUrl(kind, bulk.filter);
    // Back to the list with the same rows selected, ready for the next change to them.
    const back = bulk.data.scope === "selected" ? withParam(list, "reselect", result.batchId) : list;
    const unchanged = unchangedText(result, "after");
    return c.html(
      <Layout title="Bulk change done" auth={c.var.auth}>
        <Card title="Done">
          <p data-testid="bulk-result" role="status" tabindex={-1} data-focus-on-load>
            Changed {result.change} of {result.total} {nouns(kind, result.total)}.{unchanged ? ` ${unchanged}` : ""}
          </p>
          <form method="post" action={`${kind.path}/bulk/${result.batchId}/undo`} class="actions">
            <input type="hidden" name="return" value={list} />
            {result.change > 0 && <button type="submit">Undo</button>}
            <a class="button primary" href={back}>{bulk.data.scope === "selected" ? `Back to ${kind.title}, same rows selected` : `Back to ${kind.title}`}</a>
          </form>
          {result.change > 0 && <p class="hint">Undo is available for 10 minutes, and restores only records nobody has changed since.</p>}
        </Card>
      </Layout>,
    );
  });

  app.post("/bulk/:batchId/undo", manage, reads(undoForm), async (c) => {
    const form = parseDeclared(c, undoForm, (await readBody(c)) ?? {});
    const back = safeNextPath(form.ok ? form.data.return : undefined, kind.path);
    const result = await undoBatch(c.env.DB, kind, c.req.param("batchId").slice(0, 40), c.var.auth.user.id, c.var.clock.now());
    const text = result.ok ? `Undone: ${result.restored} restored${result.skipped ? `, ${result.skipped} left as they were because someone changed them since` : ""}.` : result.message;
    return c.html(
      <Layout title="Undo" auth={c.var.auth}>
        <Card title={result.ok ? "Undone" : "Could not undo"}>
          <p role={result.ok ? "status" : "alert"} data-testid="undo-result" tabindex={-1} data-focus-on-load>{text}</p>
          <a class="button primary" href={back}>Back to {kind.title}</a>
        </Card>
      </Layout>,
      result.ok ? 200 : 400,
    );
  });

  app.get("/:id", async (c) => {
    const row = await getRecord(c.env.DB, kind, c.req.param("id"));
    if (!row) return c.notFound();
    const [history, options] = await Promise.all([recordHistory(c.env.DB, kind, row.id), loadOptions(c.env.DB)]);
    // People by id: disabled agents and contacts too, and removed people under their pseudonym (issue 19.5).
    const people = await personNames(c.env.DB, history.filter((h) => h.field === "agent" || h.field === "usedBy").flatMap((h) => [h.old_value, h.new_value]).filter((v): v is string => v !== null));
    const names = new Map([...options.locations, ...options.groups, ...options.agents].map((o) => [o.id, o.name]));
    for (const [id, name] of people) names.set(id, name);
    return c.html(
      <Layout title={row.name} auth={c.var.auth}>
        <section class="wide">
          <p class="breadcrumb"><a href={kind.path}>{kind.title}</a> › {row.name}</p>
          <h1>{row.name}</h1>
          {canManage(c) && (
            <p class="actions">
              <a class="button" href={`${kind.path}/${row.id}/edit`}>Edit</a>
              <a class="button danger" href={`${kind.path}/${row.id}/delete`}>Delete</a>
            </p>
          )}
          <div class="panel">
            <dl class="details-grid">
              {availableColumns(kind).map((col) => (<><dt>{col.label}</dt><dd>{col.text(row) || "—"}</dd></>))}
            </dl>
          </div>
          <h2>History</h2>
          <div class="panel"><HistoryList entries={history} names={names} /></div>
        </section>
      </Layout>,
    );
  });

  return app;
}
