// Development only (a 404 elsewhere): the bench's floor for the lists. The same page
// query the asset and software lists run, as one raw prepared D1 statement, its rows rendered as
// a plain string, and no session: what any Worker serving this list must at least do. The bench
// reports every list scenario as a ratio to this, measured in the same run.
import { Hono } from "hono";
import type { AppEnv } from "../app-env";
import { pageQuery, PAGE_SIZE, type Row } from "../assets/listing";
import { ASSET_KIND, SOFTWARE_KIND } from "../assets/kinds";
import { chosenColumns } from "../assets/columns";
import { filterSchema } from "../assets/inputs";
import { escapeHtml } from "../lib/html-escape";
import { isDevelopment } from "../mail/mailer";
import { readsQuery } from "../request/validation";

const esc = (v: unknown) => escapeHtml(String(v ?? ""));

export const devFloorRoutes = new Hono<AppEnv>();
for (const kind of [ASSET_KIND, SOFTWARE_KIND]) {
  const filters = filterSchema(kind);
  devFloorRoutes.get(`/dev/floor/${kind.table}`, readsQuery(filters), async (c) => {
    if (!isDevelopment(c.env)) return c.notFound();
    const parsed = c.req.valid("query");
    if (!parsed.ok) return c.text(parsed.message, 400);
    const query = pageQuery(kind, parsed.data);
    const { results } = await c.env.DB.prepare(query.sql)
      .bind(...query.params)
      .all<Row>();
    const cells = (r: Row) => [r.name, ...chosenColumns(kind, {}).map((col) => col.text(r))];
    const rows = results.slice(0, PAGE_SIZE).map(
      (r) =>
        `<tr>${cells(r)
          .map((v) => `<td>${esc(v)}</td>`)
          .join("")}</tr>`,
    );
    return c.html(`<!doctype html><html lang="en"><title>${kind.title}</title><table>${rows.join("")}</table></html>`);
  });
}
