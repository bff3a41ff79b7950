import { type Context, Hono } from "hono";
import { getCookie, setCookie } from "hono/cookie";
import { z } from "zod";
import { IMPACTS } from "../db/schema";
import type { AppEnv } from "../app-env";
import { requireSession } from "../request/require-session";
import { readsFormLists, readsQuery } from "../request/validation";
import { safeNextPath } from "../lib/fields";
import { requirePermission } from "../request/guard";
import { hasPermission } from "../access/permissions";
import { Card, Layout, Notice } from "../web/layout";
import { editInline, type EditResult, recordHistory, selectionOf } from "./inventory";
import { filterSchema, idValue } from "./inputs";
import { bulkRoutes } from "./bulk-routes";
import { exportStream } from "./export";
import { recordAudit } from "../request/audit";
import { countMatches, getRecord, type ListFilter, listRecords, loadOptions } from "./listing";
import { EDITABLE, type EditableField, FIELD_LABELS, type InventoryKind } from "./kinds";
import { personNames } from "../auth/users";
import { availableColumns, chosenColumns, columnFormSchema, saveColumnChoice } from "./columns";
import { HistoryList, InventoryListPage, InventoryRow, listUrl, MatchCountFragment } from "./pages";
import type { Dropdowns } from "./rows";
import { ColumnChoicePage } from "./column-page";

type Ctx = Context<AppEnv>;

// Unknown fields are refused (SECURITY.md 29): only the four inline fields, the version and where to return.
const inlineSchema = z.strictObject(
  {
    version: z
      .string({ error: "The row's version is missing: reload the page." })
      .regex(/^\d{1,9}$/, "The row's version is missing: reload the page.")
      .transform(Number),
    impact: z.enum(IMPACTS, { error: "Choose an impact: low, medium or high." }).optional(),
    location: z.union([z.literal(""), idValue]).optional(),
    group: z.union([z.literal(""), idValue]).optional(),
    agent: z.union([z.literal(""), idValue]).optional(),
    return: z.string().max(2048).optional(),
    ids: z.unknown().optional(),
  },
  {
    error: (issue) =>
      issue.code === "unrecognized_keys" ? "Only Impact, Location, Managed By Group and Managed By Agent can be edited here." : undefined,
  },
);

const reselectQuery = z.object({
  reselect: z
    .string()
    .max(40)
    .regex(/^bulk_[a-z0-9]+$/, "That selection link is not one of ours.")
    .optional(),
});
const returnQuery = z.object({ return: z.string().max(2048).optional() });
// What the edit form's redirect says it did beyond the fields asked for.
const savedQuery = z.object({ saved: z.enum(["agent-cleared"]).optional() });

// List pages send lean dropdowns that app.js fills. A browser that runs no script is
// sent once (by the page's <noscript>) to /without-script, which sets this, and from then on it
// gets whole dropdowns. It says nothing about who the person is, and changes only the markup.
const NO_SCRIPT_COOKIE = "edgedesk_no_script";
const NO_SCRIPT_MAX_AGE_SECONDS = 400 * 24 * 60 * 60; // the longest a browser keeps a cookie
const dropdownsFor = (c: Ctx): Dropdowns => (getCookie(c, NO_SCRIPT_COOKIE, "host") === "1" ? "full" : "lean");

/** The asset list or the software list, mounted at kind.path; agents with View (read) and Manage (write). */
/** What an inline save says it did: exactly the fields it changed, and why an agent it cleared went. */
function savedText(result: Extract<EditResult, { ok: true }>): string {
  if (result.changed.length === 0) return "No change";
  const asked = result.changed.filter((f) => !(result.clearedAgent && f === "agent"));
  const saved = `Saved ${asked.map((f) => FIELD_LABELS[f]).join(", ")}`;
  return result.clearedAgent ? `${saved}; cleared Managed By Agent, who is not in ${String(result.row.group_name)}` : saved;
}

export function inventoryRoutes(kind: InventoryKind) {
  const app = new Hono<AppEnv>();
  app.use("*", requireSession("agent"), requirePermission("viewAssets"));
  const manage = requirePermission("manageAssets");
  const canManage = (c: Ctx) => hasPermission(c.var.auth.permissions, "manageAssets");
  const filters = filterSchema(kind);

  async function listPage(c: Ctx, filter: ListFilter, error?: string, status: 200 | 400 = 200, selected?: ReadonlySet<string>) {
    const page = await listRecords(c.env.DB, kind, filter);
    const columns = chosenColumns(kind, c.var.auth.user);
    return c.html(
      <InventoryListPage
        auth={c.var.auth}
        kind={kind}
        columns={columns}
        filter={filter}
        page={page}
        options={page.options}
        canManage={canManage(c)}
        selected={selected}
        error={error}
        dropdowns={dropdownsFor(c)}
      />,
      status,
    );
  }

  app.get("/", readsQuery(filters, reselectQuery), async (c) => {
    const [parsed, again] = c.req.valid("query");
    if (!parsed.ok) return listPage(c, { enums: {}, sort: "name", dir: "asc", page: 1 }, parsed.message, 400);
    const batchId = again.ok ? again.data.reselect : undefined;
    const selected = batchId && canManage(c) ? new Set(await selectionOf(c.env.DB, kind, batchId, c.var.auth.user.id)) : undefined;
    return listPage(c, parsed.data, undefined, 200, selected);
  });

  app.get("/without-script", readsQuery(returnQuery), (c) => {
    const back = c.req.valid("query");
    setCookie(c, NO_SCRIPT_COOKIE, "1", { prefix: "host", httpOnly: true, sameSite: "Lax", maxAge: NO_SCRIPT_MAX_AGE_SECONDS });
    return c.redirect(safeNextPath(back.ok ? back.data.return : undefined, kind.path), 303);
  });

  // Which columns the list shows, and in which order: the person's own choice.
  const columnForm = columnFormSchema(kind);
  const columnsPage = (c: Ctx, back: string, error?: string) =>
    c.html(
      <ColumnChoicePage auth={c.var.auth} kind={kind} chosen={chosenColumns(kind, c.var.auth.user)} back={back} error={error} />,
      error ? 400 : 200,
    );
  app.get("/columns", readsQuery(returnQuery), (c) => {
    const back = c.req.valid("query");
    return columnsPage(c, safeNextPath(back.ok ? back.data.return : undefined, kind.path));
  });
  app.post("/columns", readsFormLists(columnForm), async (c) => {
    const parsed = c.req.valid("form");
    const back = safeNextPath(typeof parsed.input.return === "string" ? parsed.input.return : undefined, kind.path);
    if (!parsed.ok) return columnsPage(c, back, parsed.message);
    await saveColumnChoice(c.env, c.var.auth.user.id, kind, parsed.data);
    return c.redirect(back, 303);
  });

  // Everything the filter matches as CSV, with the person's columns; audited with its filter and size.
  app.get("/export.csv", readsQuery(filters), async (c) => {
    const parsed = c.req.valid("query");
    if (!parsed.ok) return c.text(parsed.message, 400);
    const filter: ListFilter = { ...parsed.data, page: 1, cursor: undefined };
    const described = listUrl(kind, filter).slice(kind.path.length).replace(/^\?/, "");
    const stream = exportStream(c.env.DB, kind, filter, chosenColumns(kind, c.var.auth.user), (rows, complete) =>
      recordAudit(c, {
        event: "inventory.exported",
        portal: "agent",
        actorId: c.var.auth.user.id,
        details: { list: kind.table, filter: described || "(none)", rows, ...(complete ? {} : { cancelled: true }) },
      }),
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
  app.get("/count", readsQuery(filters), async (c) => {
    const parsed = c.req.valid("query");
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

  app.post("/:id/inline", manage, readsFormLists(inlineSchema), async (c) => {
    const id = c.req.param("id");
    const parsed = c.req.valid("form");
    const body = parsed.input;
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
    const text = result.ok ? savedText(result) : result.message;
    return c.html(
      <InventoryRow
        kind={kind}
        columns={chosenColumns(kind, c.var.auth.user)}
        row={row}
        options={await loadOptions(c.env.DB)}
        canManage
        returnTo={returnTo}
        status={{ ok: result.ok, text }}
      />,
      result.ok ? 200 : result.status,
    );
  });

  app.route("/bulk", bulkRoutes(kind));

  app.get("/:id", readsQuery(savedQuery), async (c) => {
    const row = await getRecord(c.env.DB, kind, c.req.param("id"));
    const saved = c.req.valid("query");
    if (!row) return c.notFound();
    const [history, options] = await Promise.all([recordHistory(c.env.DB, kind, row.id), loadOptions(c.env.DB)]);
    // People by id: disabled agents and contacts too, and removed people under their pseudonym.
    const people = await personNames(
      c.env.DB,
      history
        .filter((h) => h.field === "agent" || h.field === "usedBy")
        .flatMap((h) => [h.old_value, h.new_value])
        .filter((v): v is string => v !== null),
    );
    const names = new Map([...options.locations, ...options.groups, ...options.agents].map((o) => [o.id, o.name]));
    for (const [id, name] of people) names.set(id, name);
    return c.html(
      <Layout title={row.name} auth={c.var.auth}>
        <section class="wide">
          <p class="breadcrumb">
            <a href={kind.path}>{kind.title}</a> › {row.name}
          </p>
          <h1>{row.name}</h1>
          {saved.ok && saved.data.saved === "agent-cleared" && (
            <Notice message={`Saved. Managed By Agent was cleared: the agent is not in ${String(row.group_name ?? "the new group")}.`} />
          )}
          {canManage(c) && (
            <p class="actions">
              <a class="button" href={`${kind.path}/${row.id}/edit`}>
                Edit
              </a>
              <a class="button danger" href={`${kind.path}/${row.id}/delete`}>
                Delete
              </a>
            </p>
          )}
          <div class="panel">
            <dl class="details-grid">
              {availableColumns(kind).map((col) => (
                <>
                  <dt>{col.label}</dt>
                  <dd>{col.text(row) || "—"}</dd>
                </>
              ))}
            </dl>
          </div>
          <h2>History</h2>
          <div class="panel">
            <HistoryList entries={history} names={names} />
          </div>
        </section>
      </Layout>,
    );
  });

  return app;
}
