import { Hono } from "hono";
import { z } from "zod";
import type { AppEnv } from "../app-env";
import { AUDIT_EVENTS, type AuditEvent } from "../audit/events";
import { type AuditFilter, csvCell, searchAudit } from "../audit/log";
import { describeDevice } from "../lib/device";
import { getDb } from "../db";
import { readsQuery } from "../request/validation";
import { retentionSettings } from "../lifecycle/retention";
import { ErrorMessage } from "../web/layout";
import { SecurityPage } from "./pages";

const day = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}$/, "Dates are written YYYY-MM-DD.")
  .refine((d) => !Number.isNaN(Date.parse(`${d}T00:00:00Z`)), "That date does not exist.");
// An empty field means "no filter"; anything else gets the field's own message.
const optionalDay = z
  .string()
  .optional()
  .transform((v) => v || undefined)
  .pipe(day.optional());
const filterSchema = z.object({
  event: z
    .string()
    .optional()
    .transform((v) => v || undefined)
    .pipe(z.enum(Object.keys(AUDIT_EVENTS) as [AuditEvent, ...AuditEvent[]], { error: "Choose an event type from the list." }).optional()),
  user: z
    .string()
    .trim()
    .max(254, "The user filter is an email address, or a removed person's pseudonym.")
    .optional()
    .transform((v) => v || undefined),
  from: optionalDay,
  to: optionalDay,
  page: z
    .string()
    .regex(/^\d{1,5}$/, "The page is a number.")
    .optional()
    .transform((v) => Math.max(1, Number(v ?? 1))),
});

/** How long events are kept: a deployment setting, shown where the events are read. */
function RetentionNote({ env }: { env: Env }) {
  let days: number;
  try {
    days = retentionSettings(env).auditDays;
  } catch (error) {
    return <ErrorMessage message={`Nothing is being deleted: ${(error as Error).message}`} />;
  }
  return (
    <p class="hint" data-testid="audit-retention">
      Events are kept for {days.toLocaleString("en-US")} days, then deleted. This is set for the whole deployment (AUDIT_RETENTION_DAYS in
      wrangler.toml).
    </p>
  );
}

/** Settings > Security and Compliance > Audit log (guarded by the settings area's permission). */
export const auditLogRoutes = new Hono<AppEnv>();

auditLogRoutes.get("/audit", readsQuery(filterSchema), async (c) => {
  const parsed = c.req.valid("query");
  const filter: AuditFilter & { page: number } = parsed.ok ? parsed.data : { page: 1 };
  const { rows, hasMore } = await searchAudit(getDb(c.env.DB), filter, filter.page);
  const query = (page: number) => {
    const q = new URLSearchParams(Object.entries({ ...parsed.input, page: String(page) }).filter(([, v]) => v) as [string, string][]);
    return `?${q}`;
  };
  // What was asked, as the filter form shows it back (the query as its validator read it: each parameter once).
  const f = parsed.input as Record<string, string | undefined>;
  return c.html(
    <SecurityPage title="Audit log" auth={c.var.auth}>
      <RetentionNote env={c.env} />
      {!parsed.ok && <ErrorMessage message={parsed.message} />}
      <form method="get" action="/agent/settings/security/audit" class="filters">
        <div class="field">
          <label for="f-event">Event</label>
          <select id="f-event" name="event">
            <option value="">All events</option>
            {Object.entries(AUDIT_EVENTS).map(([key, label]) => (
              <option value={key} selected={f.event === key}>
                {label}
              </option>
            ))}
          </select>
        </div>
        <div class="field">
          <label for="f-user">User (email, or a removed person's pseudonym)</label>
          <input id="f-user" name="user" type="search" value={f.user ?? ""} maxlength={254} />
        </div>
        <div class="field">
          <label for="f-from">From</label>
          <input id="f-from" name="from" type="date" value={f.from ?? ""} />
        </div>
        <div class="field">
          <label for="f-to">To</label>
          <input id="f-to" name="to" type="date" value={f.to ?? ""} />
        </div>
        <div class="actions">
          <button type="submit" class="primary">
            Filter
          </button>
          <a class="button" href={`/agent/settings/security/audit.csv${query(1)}`}>
            Export CSV
          </a>
        </div>
      </form>
      <div class="table-scroll" tabindex={0}>
        <table class="audit">
          <thead>
            <tr>
              <th scope="col">Time (UTC)</th>
              <th scope="col">Event</th>
              <th scope="col">Actor</th>
              <th scope="col">Target</th>
              <th scope="col">IP</th>
              <th scope="col">Device</th>
              <th scope="col">Details</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((r) => (
              <tr data-testid="audit-row">
                <td>{new Date(r.at).toISOString().slice(0, 19).replace("T", " ")}</td>
                <td>{AUDIT_EVENTS[r.event as AuditEvent] ?? r.event}</td>
                <td>{r.actor ?? "—"}</td>
                <td>{r.target ?? "—"}</td>
                <td>{r.ip ?? ""}</td>
                <td>{r.userAgent ? describeDevice(r.userAgent) : ""}</td>
                <td>
                  <code class="details">{r.details ? JSON.stringify(r.details) : ""}</code>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {rows.length === 0 && <p>No events match.</p>}
      <nav class="pager" aria-label="Pages">
        {filter.page > 1 && <a href={query(filter.page - 1)}>Newer</a>}
        <span>Page {filter.page}</span>
        {hasMore && <a href={query(filter.page + 1)}>Older</a>}
      </nav>
    </SecurityPage>,
  );
});

auditLogRoutes.get("/audit.csv", readsQuery(filterSchema), async (c) => {
  const parsed = c.req.valid("query");
  if (!parsed.ok) return c.text(parsed.message, 400);
  const { rows } = await searchAudit(getDb(c.env.DB), parsed.data, 1, 10_000);
  const header = ["time_utc", "event", "portal", "actor", "target", "ip", "user_agent", "details"];
  const lines = rows.map((r) =>
    [new Date(r.at).toISOString(), r.event, r.portal, r.actor, r.target, r.ip, r.userAgent, r.details].map(csvCell).join(","),
  );
  return c.body(`${[header.join(","), ...lines].join("\r\n")}\r\n`, 200, {
    "Content-Type": "text/csv; charset=utf-8",
    "Content-Disposition": 'attachment; filename="edgedesk-audit-log.csv"',
  });
});
