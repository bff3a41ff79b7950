// Bulk changes of a list: the confirmation, the change, a change's page, and Undo (of a
// bulk change or an import), mounted at <list>/bulk behind the list's session and View Assets guards.
import { retryAfterSeconds } from "../limits/limits";
import { startHeavyWork } from "./quota";
import { type Context, Hono } from "hono";
import { z } from "zod";
import type { AppEnv } from "../app-env";
import { requirePermission } from "../request/guard";
import { hasPermission } from "../access/permissions";
import { type Input, readsFormLists, readsQuery } from "../request/validation";
import { type Parsed, safeNextPath } from "../lib/fields";
import { Card, Layout } from "../web/layout";
import { type BulkPlan, planBulk, type Scope } from "./inventory";
import { agentsClearedBy, applyBulk, BULK_CHUNK, type JobState, type JobStatus, jobStatus } from "./bulk-job";
import { startBulkJob } from "./bulk-job-do";
import { BULK_FIELDS, type BulkField, FIELD_LABELS, type InventoryKind } from "./kinds";
import { type ListFilter, loadOptions } from "./listing";
import { listUrl } from "./pages";
import { filterSchema, idValue } from "./inputs";
import { undoBatch } from "./undo";
import { batchOverview, mayFollowBatch, type Viewer } from "./batch";
import { BatchPage, BatchSummary } from "./batch-page";

type Ctx = Context<AppEnv>;

const MAX_SELECTED = 500;
const bulkSchema = z.object({
  scope: z.enum(["selected", "all"], { error: "Choose which records to change." }),
  action: z.enum(BULK_FIELDS, { error: "Choose Assign Group, Assign Agent or Update Location." }),
  // One selected row arrives as one value, several as a list.
  ids: z
    .preprocess(
      (v) => (typeof v === "string" ? [v] : v),
      z.array(idValue).max(MAX_SELECTED, `Select at most ${MAX_SELECTED} rows, or choose all matching this filter.`),
    )
    .optional()
    .default([]),
  value_group: z.union([z.literal(""), idValue]).optional(),
  value_agent: z.union([z.literal(""), idValue]).optional(),
  value_location: z.union([z.literal(""), idValue]).optional(),
});

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
  const verb =
    when === "before"
      ? one
        ? "will be left as it is"
        : "will be left as they are"
      : one
        ? "was left as it was"
        : "were left as they were";
  return `${left} ${verb}: ${reasons.join(", ")}.`;
}

/** What an Assign Group does beyond the group: the agents it clears, named as the confirmation and the result say it. */
export function clearsAgentText(kind: InventoryKind, plan: BulkPlan, groupName: string | null, when: "before" | "after"): string {
  if (!plan.clearsAgent) return "";
  const n = plan.clearsAgent;
  const whose = `${n.toLocaleString("en-US")} ${nouns(kind, n)} whose ${n === 1 ? "agent is" : "agents are"} not in ${groupName ?? "that group"}`;
  return when === "before" ? `It also clears Managed By Agent on ${whose}.` : `Managed By Agent was cleared on ${whose}.`;
}

function undoneText(restored: number, skipped: number): string {
  return `Undone: ${restored.toLocaleString("en-US")} restored${skipped ? `, ${skipped.toLocaleString("en-US")} left as they were because someone changed them since` : ""}.`;
}

/** A finished bulk change: what it changed and left, Undo (for whoever may undo it), and the way back. */
function BulkDone({
  kind,
  batchId,
  plan,
  list,
  back,
  canUndo,
  groupName,
}: {
  kind: InventoryKind;
  batchId: string;
  plan: BulkPlan;
  list: string;
  back: { href: string; text: string };
  canUndo: boolean;
  groupName: string | null;
}) {
  const unchanged = unchangedText(plan, "after");
  const cleared = clearsAgentText(kind, plan, groupName, "after");
  const undo = canUndo && plan.change > 0;
  return (
    <>
      <p data-testid="bulk-result" role="status" tabindex={-1} data-focus-on-load>
        Changed {plan.change.toLocaleString("en-US")} of {plan.total.toLocaleString("en-US")} {nouns(kind, plan.total)}.
        {cleared ? ` ${cleared}` : ""}
        {unchanged ? ` ${unchanged}` : ""}
      </p>
      <form method="post" action={`${kind.path}/bulk/${batchId}/undo`} class="actions">
        <input type="hidden" name="return" value={list} />
        {undo && <button type="submit">Undo</button>}
        <a class="button primary" href={back.href}>
          {back.text}
        </a>
      </form>
      {undo && <p class="hint">Undo is available for 10 minutes, and restores only records nobody has changed since.</p>}
    </>
  );
}

const JOB_TITLES: Record<JobState, string> = {
  snapshot: "Changing records…",
  applying: "Changing records…",
  undoing: "Putting records back…",
  done: "Done",
  undone: "Undone",
  failed: "Nothing was changed",
};

function jobUrl(kind: InventoryKind, batchId: string): string {
  return `${kind.path}/bulk/${batchId}`;
}

/** A job as its page shows it: progress while it runs (asked again every second), then its result. */
function JobView({
  kind,
  status,
  list,
  canUndo,
  groupName,
  cleared,
}: {
  kind: InventoryKind;
  status: JobStatus;
  list: string;
  canUndo: boolean;
  groupName: string | null;
  cleared: number;
}) {
  const spec = status.spec!;
  const n = (x: number) => x.toLocaleString("en-US");
  if (status.state === "done") {
    // The records changed are the job's count; the ones it left, the plan's, by reason, as the confirmation said.
    const plan = {
      ...spec.plan,
      change: status.count,
      clearsAgent: cleared,
      alreadySet: Math.max(0, spec.plan.total - spec.plan.retired - spec.plan.outsideGroup - status.count),
    };
    return (
      <div data-testid="bulk-job" data-longest-step-ms={status.longestMs}>
        <BulkDone
          kind={kind}
          batchId={status.id}
          plan={plan}
          list={list}
          back={{ href: list, text: `Back to ${kind.title}` }}
          canUndo={canUndo}
          groupName={groupName}
        />
      </div>
    );
  }
  const back = (
    <a class="button primary" href={list}>
      Back to {kind.title}
    </a>
  );
  if (status.state === "undone")
    return (
      <div data-testid="bulk-job">
        <p role="status" data-testid="undo-result" tabindex={-1} data-focus-on-load>
          {undoneText(status.doneCount, status.count - status.doneCount)}
        </p>
        {back}
      </div>
    );
  if (status.state === "failed") {
    return (
      <div data-testid="bulk-job" data-longest-step-ms={status.longestMs}>
        <p role="alert" data-testid="bulk-result" tabindex={-1} data-focus-on-load>
          {status.message}
        </p>
        <p class="hint">
          {n(status.doneCount)} put back
          {status.count > status.doneCount ? `; ${n(status.count - status.doneCount)} left as someone else changed them since` : ""}.
        </p>
        {back}
      </div>
    );
  }
  const url = `${jobUrl(kind, status.id)}?return=${encodeURIComponent(list)}`;
  const [done, of, words] =
    status.state === "snapshot"
      ? [
          0,
          spec.plan.change,
          `Finding the ${n(spec.plan.change)} ${nouns(kind, spec.plan.change)} to change (${FIELD_LABELS[spec.field]})…`,
        ]
      : status.state === "applying"
        ? [
            status.doneCount,
            status.count,
            `${FIELD_LABELS[spec.field]}: changed ${n(status.doneCount)} of ${n(status.count)} ${nouns(kind, status.count)}…`,
          ]
        : [status.doneCount, status.count, `Put back ${n(status.doneCount)} of ${n(status.count)} ${nouns(kind, status.count)}…`];
  return (
    <div data-testid="bulk-job" hx-get={url} hx-trigger="every 1s" hx-swap="outerHTML">
      <p role="status" data-testid="bulk-progress">
        {words}
      </p>
      <progress max={Math.max(1, of)} value={done} aria-label="Progress">
        {Math.round((100 * done) / Math.max(1, of))}%
      </progress>
      <p class="hint">
        It runs in steps of {n(BULK_CHUNK)}, so others can keep working meanwhile; you may leave this page. <a href={url}>Check again</a>
      </p>
    </div>
  );
}

function withParam(url: string, key: string, value: string): string {
  return `${url}${url.includes("?") ? "&" : "?"}${key}=${encodeURIComponent(value)}`;
}

// Where Undo goes back to (a list URL with its filter); anything else goes to the list itself.
const undoForm = z.object({ return: z.string().max(2048).optional() });
const returnQuery = undoForm;

/** The name of the group an Assign Group sets, which its agents-cleared sentence names. */
async function groupNameOf(c: Ctx, field: BulkField, value: string | null): Promise<string | null> {
  if (field !== "group" || !value) return null;
  return (await loadOptions(c.env.DB)).groups.find((g) => g.id === value)?.name ?? null;
}

const viewerOf = (c: Ctx): Viewer => ({ id: c.var.auth.user.id, permissions: c.var.auth.permissions });

export function bulkRoutes(kind: InventoryKind) {
  const app = new Hono<AppEnv>();
  const manage = requirePermission("manageAssets");
  // The bulk forms carry the list's filter as f_ fields, for "all matching".
  const bulkFilters = filterSchema(kind, "f_");

  function scopeOf(data: z.output<typeof bulkSchema>, filter: ListFilter): Scope {
    return data.scope === "all" ? { filter } : { ids: data.ids };
  }

  /** The bulk form, read with its own schema and the list's filter (readsFormLists(bulkSchema, bulkFilters)). */
  function readBulk(read: readonly [Parsed<z.output<typeof bulkSchema>>, Parsed<ListFilter>] & { input: Input }) {
    const [parsed, filter] = read;
    if (!parsed.ok) return { ok: false as const, message: parsed.message };
    if (!filter.ok) return { ok: false as const, message: filter.message };
    if (parsed.data.scope === "selected" && parsed.data.ids.length === 0)
      return { ok: false as const, message: "Select at least one row, or choose all matching this filter." };
    const action = parsed.data.action as BulkField;
    const raw = parsed.data[`value_${action}`];
    return { ok: true as const, data: parsed.data, filter: filter.data, action, value: raw ? raw : null, body: read.input };
  }

  app.post("/", manage, readsFormLists(bulkSchema, bulkFilters), async (c) => {
    const bulk = readBulk(c.req.valid("form"));
    const options = await loadOptions(c.env.DB);
    const planned = bulk.ok ? await planBulk(c.env.DB, kind, scopeOf(bulk.data, bulk.filter), bulk.action, bulk.value, options) : bulk;
    if (!planned.ok || !bulk.ok)
      return c.html(
        <Layout title="Bulk change" auth={c.var.auth}>
          <Card title="Nothing was changed">
            <p role="alert">{planned.ok ? "" : planned.message}</p>
            <a href={kind.path}>Back to {kind.title}</a>
          </Card>
        </Layout>,
        400,
      );
    const list = bulk.action === "group" ? options.groups : bulk.action === "agent" ? options.agents : options.locations;
    const valueName = bulk.value ? (list.find((o) => o.id === bulk.value)?.name ?? "(unknown)") : "none";
    const { plan } = planned;
    const unchanged = unchangedText(plan, "before");
    return c.html(
      <Layout title="Confirm bulk change" auth={c.var.auth}>
        <Card title="Confirm bulk change">
          <p data-testid="bulk-summary" tabindex={-1} data-focus-on-load>
            {FIELD_LABELS[bulk.action]} will be set to <strong>{valueName}</strong> on <strong>{plan.change}</strong> of {plan.total}{" "}
            {nouns(kind, plan.total)}.
          </p>
          {plan.clearsAgent > 0 && <p data-testid="bulk-clears-agent">{clearsAgentText(kind, plan, valueName, "before")}</p>}
          {unchanged && <p data-testid="bulk-unchanged">{unchanged}</p>}
          {plan.change > BULK_CHUNK && (
            <p class="hint" data-testid="bulk-steps">
              So many records change in steps of {BULK_CHUNK.toLocaleString("en-US")}, so others can keep working meanwhile; the next page
              shows its progress. If someone changes one of them before it is done, nothing is changed.
            </p>
          )}
          <form method="post" action={`${kind.path}/bulk/apply`} class="actions">
            {Object.entries(bulk.body).flatMap(([k, v]) =>
              (Array.isArray(v) ? v : [v]).map((x) => <input type="hidden" name={k} value={String(x)} />),
            )}
            {plan.change > 0 && (
              <button type="submit" class="primary">
                Change {plan.change} {plan.change === 1 ? "record" : "records"}
              </button>
            )}
            <a href={listUrl(kind, bulk.filter)}>{plan.change > 0 ? "Cancel" : `Back to ${kind.title}`}</a>
          </form>
        </Card>
      </Layout>,
    );
  });

  app.post("/apply", manage, readsFormLists(bulkSchema, bulkFilters), async (c) => {
    const bulk = readBulk(c.req.valid("form"));
    const now = c.var.clock.now();
    const startJob = () => startHeavyWork(c.env, c.var.auth.user.id, now);
    const result = bulk.ok
      ? await applyBulk(c.env.DB, kind, scopeOf(bulk.data, bulk.filter), bulk.action, bulk.value, c.var.auth.user.id, now, startJob)
      : bulk;
    const busy = !result.ok && "retryAfterMs" in result && result.retryAfterMs !== undefined;
    if (busy) c.header("Retry-After", String(retryAfterSeconds(result.retryAfterMs!)));
    if (!result.ok || !bulk.ok)
      return c.html(
        <Layout title="Bulk change" auth={c.var.auth}>
          <Card title="Nothing was changed">
            <p role="alert">{result.ok ? "" : result.message}</p>
            <a href={bulk.ok ? listUrl(kind, bulk.filter) : kind.path}>Back to {kind.title}</a>
          </Card>
        </Layout>,
        busy ? 429 : 400,
      );
    const list = listUrl(kind, bulk.filter);
    if (result.job) {
      // Too many records for one batch: a job runs it in steps (bulk-job.ts); its page shows the progress.
      await startBulkJob(c.env, kind, result.batchId);
      return c.redirect(`${jobUrl(kind, result.batchId)}?return=${encodeURIComponent(list)}`, 303);
    }
    // Back to the list with the same rows selected, ready for the next change to them.
    const back =
      bulk.data.scope === "selected"
        ? { href: withParam(list, "reselect", result.batchId), text: `Back to ${kind.title}, same rows selected` }
        : { href: list, text: `Back to ${kind.title}` };
    return c.html(
      <Layout title="Bulk change done" auth={c.var.auth}>
        <Card title="Done">
          <BulkDone
            kind={kind}
            batchId={result.batchId}
            plan={result}
            list={list}
            back={back}
            canUndo
            groupName={await groupNameOf(c, bulk.action, bulk.value)}
          />
        </Card>
      </Layout>,
    );
  });

  // A change's page: a job's progress (htmx asks again every second; without JavaScript, a link
  // does), then its result; a change written at once, what it changed. Undo is offered from here.
  app.get("/:batchId", readsQuery(returnQuery), async (c) => {
    const batchId = c.req.param("batchId").slice(0, 40);
    const viewer = viewerOf(c);
    const status = await jobStatus(c.env.DB, kind, batchId);
    // Only its author or a Manage Assets holder may follow a change; to anyone else it does not exist.
    if (!status || !mayFollowBatch(status, viewer)) return c.notFound();
    const form = c.req.valid("query");
    const list = safeNextPath(form.ok ? form.data.return : undefined, kind.path);
    const canUndo = hasPermission(viewer.permissions, "manageAssets");
    if (!status.spec) {
      // Written at once (a bulk change or an import): what it changed.
      const batch = await batchOverview(c.env.DB, kind, batchId, true);
      return batch
        ? c.html(<BatchPage auth={c.var.auth} kind={kind} batch={batch} list={list} canUndo={canUndo} now={c.var.clock.now()} />)
        : c.notFound();
    }
    const cleared = status.state === "done" && status.spec.field === "group" ? await agentsClearedBy(c.env.DB, batchId) : 0;
    const view = (
      <JobView
        kind={kind}
        status={status}
        list={list}
        canUndo={canUndo}
        groupName={await groupNameOf(c, status.spec.field, status.spec.value)}
        cleared={cleared}
      />
    );
    if (c.req.header("HX-Request") === "true") return c.html(view);
    const batch = await batchOverview(c.env.DB, kind, batchId, false);
    return c.html(
      <Layout title={status.state === "done" ? "Bulk change done" : "Bulk change"} auth={c.var.auth}>
        <Card title={JOB_TITLES[status.state]}>
          {batch && <BatchSummary kind={kind} batch={batch} />}
          {view}
        </Card>
      </Layout>,
    );
  });

  app.post("/:batchId/undo", readsFormLists(undoForm), async (c) => {
    const form = c.req.valid("form");
    const back = safeNextPath(form.ok ? form.data.return : undefined, kind.path);
    const batchId = c.req.param("batchId").slice(0, 40);
    // undoBatch decides who may: the change's author or a Manage Assets holder, as for its page (batch.ts).
    const result = await undoBatch(c.env.DB, kind, batchId, viewerOf(c), c.var.clock.now());
    if (result.ok && result.job) {
      await startBulkJob(c.env, kind, batchId);
      return c.redirect(`${jobUrl(kind, batchId)}?return=${encodeURIComponent(back)}`, 303);
    }
    const text = result.ok ? undoneText(result.restored, result.skipped) : result.message;
    return c.html(
      <Layout title="Undo" auth={c.var.auth}>
        <Card title={result.ok ? "Undone" : "Could not undo"}>
          <p role={result.ok ? "status" : "alert"} data-testid="undo-result" tabindex={-1} data-focus-on-load>
            {text}
          </p>
          <a class="button primary" href={back}>
            Back to {kind.title}
          </a>
        </Card>
      </Layout>,
      result.ok ? 200 : result.status,
    );
  });

  return app;
}
