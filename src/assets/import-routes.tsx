// CSV import pages of a list: the form (with its limits), the dry run, and the apply, which is
// undone like a bulk change. Manage Assets only.
import { type Context, Hono } from "hono";
import { retryAfterSeconds } from "../limits/limits";
import { startHeavyWork } from "./quota";
import { z } from "zod";
import type { AppEnv } from "../app-env";
import { requireSession } from "../request/require-session";
import { requirePermission } from "../request/guard";
import { auditOriginOf } from "../request/audit";
import { readsFormLists } from "../request/validation";
import { Card, Layout } from "../web/layout";
import { IMPORT_MAX_BYTES, IMPORT_MAX_ROWS, type ImportPlan, importHeaders, planImport } from "./import";
import { applyImport, CHANGED_SINCE_DRY_RUN } from "./import-apply";
import { isOurDryRun, signDryRun } from "./import-check";
import type { InventoryKind } from "./kinds";
import { loadOptions } from "./listing";

type Ctx = Context<AppEnv>;
const csvText = z
  .string({ error: "Choose a CSV file, or paste its lines." })
  .max(IMPORT_MAX_BYTES * 2, `The file is larger than ${IMPORT_MAX_BYTES / 1024} KB: split it into smaller files.`);
const dryRunForm = z.object({
  file: z.union([z.instanceof(File), z.string()], { error: "Choose a CSV file." }).optional(),
  text: csvText.optional(),
});
const applyForm = z.object({
  csv: z
    .string({ error: "Check the file again first." })
    .max(IMPORT_MAX_BYTES * 2, `The file is larger than ${IMPORT_MAX_BYTES / 1024} KB: split it into smaller files.`),
  checked_at: z
    .string({ error: "Check the file again first." })
    .regex(/^\d{1,15}$/, "Check the file again first.")
    .transform(Number),
  expect: z.string({ error: "Check the file again first." }).regex(/^\d{1,4}:\d{1,4}$/, "Check the file again first."),
  // Checked against the other fields in the route (import-check.ts): a missing one is refused there, with the same message.
  checked_sig: z.string().max(80).optional(),
});

const NOT_THIS_DRY_RUN = "This Apply does not match a dry run of this file by you: check the file again. Nothing was written.";

/** Where the import pages live, and the pages. Mounted before the list's /:id route. */
export function importRoutes(kind: InventoryKind) {
  const app = new Hono<AppEnv>();
  const manage = [requireSession("agent"), requirePermission("manageAssets")] as const;

  const form = (c: Ctx, error?: string) => c.html(<ImportFormPage c={c} kind={kind} error={error} />, error ? 400 : 200);

  /** The dry run of a file, checked now: its Apply form carries this time and the MAC that vouches for it. */
  async function dryRunPage(c: Ctx, plan: ImportPlan, csv: string, status: 200 | 400 | 409 | 429, error?: string) {
    const run = { actorId: c.var.auth.user.id, checkedAt: c.var.clock.now(), expect: expectedCounts(plan), csv };
    const mac = await signDryRun(c.env, kind, run);
    return c.html(<DryRunPage c={c} kind={kind} plan={plan} csv={csv} checkedAt={run.checkedAt} mac={mac} error={error} />, status);
  }

  app.get("/import", ...manage, (c) => form(c));

  app.post("/import", ...manage, readsFormLists(dryRunForm), async (c) => {
    const parsed = c.req.valid("form");
    if (!parsed.ok) return form(c, parsed.message);
    const file = parsed.data.file instanceof File && parsed.data.file.size > 0 ? parsed.data.file : null;
    if (file && file.size > IMPORT_MAX_BYTES)
      return form(c, `The file is larger than ${IMPORT_MAX_BYTES / 1024} KB: split it into smaller files.`);
    const text = file ? await file.text() : parsed.data.text?.trim() ? parsed.data.text : null;
    if (text === null) return form(c, "Choose a CSV file, or paste its lines.");
    const plan = await planImport(c.env.DB, kind, text, await loadOptions(c.env.DB));
    if (plan.fileErrors.length > 0) return form(c, plan.fileErrors.join(" "));
    return dryRunPage(c, plan, text, plan.counts.error > 0 ? 400 : 200);
  });

  app.post("/import/apply", ...manage, readsFormLists(applyForm), async (c) => {
    const parsed = c.req.valid("form");
    if (!parsed.ok) return form(c, parsed.message);
    const { csv, checked_at: checkedAt, expect } = parsed.data;
    const plan = await planImport(c.env.DB, kind, csv, await loadOptions(c.env.DB));
    if (plan.fileErrors.length > 0) return form(c, plan.fileErrors.join(" "));
    // The dry-run time decides which changes count as "since the dry run": taken only as the dry run wrote it.
    const run = { actorId: c.var.auth.user.id, checkedAt, expect, csv };
    if (!(await isOurDryRun(c.env, kind, run, parsed.data.checked_sig ?? ""))) return dryRunPage(c, plan, csv, 400, NOT_THIS_DRY_RUN);
    // One import (or large change) at a time per person, and so many an hour (quota.ts).
    const heavy = await startHeavyWork(c.env, run.actorId, c.var.clock.now());
    if (!heavy.ok) {
      c.header("Retry-After", String(retryAfterSeconds(heavy.retryAfterMs)));
      return dryRunPage(c, plan, csv, 429, heavy.message);
    }
    let result: Awaited<ReturnType<typeof applyImport>> | { ok: false; message: string };
    try {
      // What the dry run showed is what is written: if the same file now means something else, check it again.
      result =
        expectedCounts(plan) === expect || plan.counts.error > 0
          ? await applyImport(c.env.DB, kind, plan, run.actorId, c.var.clock.now(), checkedAt, auditOriginOf(c))
          : { ok: false as const, message: CHANGED_SINCE_DRY_RUN };
    } finally {
      await heavy.release();
    }
    if (!result.ok) return dryRunPage(c, plan, csv, 409, result.message);
    return c.html(
      <Layout title="Import done" auth={c.var.auth}>
        <Card title="Import done">
          <p data-testid="import-result" role="status" tabindex={-1} data-focus-on-load>
            Created {result.created} and updated {result.updated} {result.created + result.updated === 1 ? kind.noun : `${kind.noun}s`}.
          </p>
          <form method="post" action={`${kind.path}/bulk/${result.batchId}/undo`} class="actions">
            <input type="hidden" name="return" value={kind.path} />
            <button type="submit">Undo the import</button>
            <a class="button primary" href={kind.path}>
              Back to {kind.title}
            </a>
          </form>
          <p class="hint">
            Undo is available for 10 minutes: it deletes the records the import created and restores the fields it changed, except on
            records someone changed since.
          </p>
        </Card>
      </Layout>,
    );
  });

  return app;
}

function ImportFormPage({ c, kind, error }: { c: Ctx; kind: InventoryKind; error?: string | undefined }) {
  return (
    <Layout title={`Import ${kind.title.toLowerCase()}`} auth={c.var.auth}>
      <section class="narrow">
        <p class="breadcrumb">
          <a href={kind.path}>{kind.title}</a> › Import
        </p>
        <h1>Import {kind.title.toLowerCase()} from CSV</h1>
        {error && (
          <p class="alert error" role="alert">
            {error}
          </p>
        )}
        <p>
          Each line creates a {kind.noun} or updates the one with the same {kind.type === "asset" ? "asset tag" : "name and version"}.
          Columns: {importHeaders(kind).join(", ")}; an export of this list can be imported back. Locations, groups and agents are matched
          by name, and a name that matches none is an error: an import never creates them.
        </p>
        <p class="hint">
          At most {IMPORT_MAX_ROWS.toLocaleString("en-US")} lines and {IMPORT_MAX_BYTES / 1024} KB a file. Nothing is written until you have
          seen the dry run and applied it; then all lines are written or none, and Undo is available for 10 minutes.
        </p>
        <form method="post" action={`${kind.path}/import`} enctype="multipart/form-data" class="stack">
          <div class="field">
            <label for="import-file">CSV file</label>
            <input id="import-file" type="file" name="file" accept=".csv,text/csv" />
          </div>
          <details>
            <summary>Or paste the lines</summary>
            <div class="field">
              <label for="import-text">CSV lines, the first naming the columns</label>
              <textarea id="import-text" name="text" rows={8} />
            </div>
          </details>
          <button type="submit" class="primary">
            Check the file (dry run)
          </button>
        </form>
      </section>
    </Layout>
  );
}

/** The counts a dry run's Apply button shows, "create:update": what the apply must still find. */
function expectedCounts(plan: ImportPlan): string {
  return `${plan.counts.create}:${plan.counts.update}`;
}

const ACTION_TEXT: Record<ImportPlan["rows"][number]["action"], string> = {
  create: "Create",
  update: "Update",
  unchanged: "No change",
  error: "Error",
};

function DryRunPage({
  c,
  kind,
  plan,
  csv,
  checkedAt,
  mac,
  error,
}: {
  c: Ctx;
  kind: InventoryKind;
  plan: ImportPlan;
  csv: string;
  checkedAt: number;
  mac: string;
  error?: string | undefined;
}) {
  const { counts } = plan;
  const writable = counts.error === 0 && counts.create + counts.update > 0;
  // Errors first, so the lines to fix are at the top.
  const rows = [...plan.rows].sort((a, b) => Number(b.action === "error") - Number(a.action === "error") || a.line - b.line);
  return (
    <Layout title="Import: dry run" auth={c.var.auth}>
      <section class="wide">
        <p class="breadcrumb">
          <a href={kind.path}>{kind.title}</a> › <a href={`${kind.path}/import`}>Import</a> › Dry run
        </p>
        <h1>Dry run: nothing is written yet</h1>
        {error && (
          <p class="alert error" role="alert">
            {error}
          </p>
        )}
        <p data-testid="import-summary" role="status" tabindex={-1} data-focus-on-load>
          {counts.create} to create, {counts.update} to update, {counts.unchanged} unchanged, {counts.error} with errors.
        </p>
        {counts.error > 0 && (
          <p class="alert error">Fix the lines with errors and check the file again: an import is written whole or not at all.</p>
        )}
        {writable && (
          <form method="post" action={`${kind.path}/import/apply`} enctype="multipart/form-data" class="actions">
            <textarea name="csv" hidden>
              {csv}
            </textarea>
            <input type="hidden" name="checked_at" value={String(checkedAt)} />
            <input type="hidden" name="expect" value={expectedCounts(plan)} />
            <input type="hidden" name="checked_sig" value={mac} />
            <button type="submit" class="primary">
              Apply: create {counts.create}, update {counts.update}
            </button>
            <a href={`${kind.path}/import`}>Choose another file</a>
          </form>
        )}
        <div class="table-scroll" tabindex={0}>
          <table data-testid="import-rows">
            <thead>
              <tr>
                <th scope="col">Line</th>
                <th scope="col">{kind.type === "asset" ? "Asset tag" : "Name and version"}</th>
                <th scope="col">Result</th>
                <th scope="col">Details</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((r) => (
                <tr class={r.action === "error" ? "failed" : undefined}>
                  <td>{r.line}</td>
                  <td>{r.key || "—"}</td>
                  <td>{ACTION_TEXT[r.action]}</td>
                  <td>
                    {r.errors.length > 0
                      ? r.errors.map((e) => (
                          <div>
                            {e.field}: {e.reason}
                          </div>
                        ))
                      : r.changes.map((ch) => (
                          <div>
                            {ch.field}: {r.action === "create" ? ch.to : `${ch.from} → ${ch.to}`}
                          </div>
                        ))}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </section>
    </Layout>
  );
}
