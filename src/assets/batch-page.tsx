// The page of a bulk change or an import written at once (bulk/<id>): who changed what, when, the
// changes as written, and Undo while it is offered. Whoever may see it may undo it (batch.ts), so
// it is where a colleague holding Manage Assets sees what Undo would put back before doing it.
import type { Auth } from "../access/auth";
import { Card, Layout } from "../web/layout";
import type { BatchOverview } from "./batch";
import { type BulkField, FIELD_LABELS, type InventoryKind } from "./kinds";
import { UNDO_WINDOW_MS } from "./inventory";

const minute = (at: number) => `${new Date(at).toISOString().slice(0, 16).replace("T", " ")} UTC`;
const nouns = (kind: InventoryKind, n: number) => `${n.toLocaleString("en-US")} ${n === 1 ? kind.noun : `${kind.noun}s`}`;

/** "Ada set Location on 3 assets at 2026-11-22 09:00 UTC." (or "imported 3 assets from a CSV file"). */
export function batchSummary(kind: InventoryKind, batch: BatchOverview): string {
  const what =
    batch.field === "import"
      ? `imported ${nouns(kind, batch.count)} from a CSV file`
      : `set ${FIELD_LABELS[batch.field as BulkField] ?? batch.field} on ${nouns(kind, batch.count)}`;
  return `${batch.actorName} ${what} at ${minute(batch.at)}.`;
}

export function BatchSummary({ kind, batch }: { kind: InventoryKind; batch: BatchOverview }) {
  return <p data-testid="batch-summary">{batchSummary(kind, batch)}</p>;
}

export function BatchPage({
  auth,
  kind,
  batch,
  list,
  canUndo,
  now,
}: {
  auth: Auth;
  kind: InventoryKind;
  batch: BatchOverview;
  list: string;
  canUndo: boolean;
  now: number;
}) {
  const isImport = batch.field === "import";
  const record = `${kind.noun[0]!.toUpperCase()}${kind.noun.slice(1)}`;
  const expired = now - batch.at > UNDO_WINDOW_MS;
  return (
    <Layout title={isImport ? "Import" : "Bulk change"} auth={auth}>
      <Card title={isImport ? "Import" : "Bulk change"}>
        <BatchSummary kind={kind} batch={batch} />
        <div class="table-scroll" tabindex={0}>
          <table data-testid="batch-changes">
            <thead>
              <tr>
                <th scope="col">{record}</th>
                <th scope="col">Field</th>
                <th scope="col">Before</th>
                <th scope="col">After</th>
              </tr>
            </thead>
            <tbody>
              {batch.changes.map((c) => (
                <tr>
                  <td>{c.record}</td>
                  <td>{c.field}</td>
                  <td>{c.before}</td>
                  <td>{c.after}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
        {batch.more > 0 && (
          <p class="hint">
            And {batch.more.toLocaleString("en-US")} more {batch.more === 1 ? "change" : "changes"}.
          </p>
        )}
        {batch.undoneAt !== null ? (
          <p role="status">This change was undone.</p>
        ) : expired ? (
          <p>Undo is available for 10 minutes after a change; this one is older.</p>
        ) : canUndo ? (
          <>
            <form method="post" action={`${kind.path}/bulk/${batch.id}/undo`} class="actions">
              <input type="hidden" name="return" value={list} />
              <button type="submit">{isImport ? "Undo the import" : "Undo this change"}</button>
            </form>
            <p class="hint">
              {isImport
                ? "Undo deletes the records the import created and restores the fields it changed, except on records someone changed since."
                : "Undo restores only records nobody has changed since."}
            </p>
          </>
        ) : (
          <p class="hint">Undoing it needs “Manage Assets”, which your role does not include.</p>
        )}
        <a class="button primary" href={list}>
          Back to {kind.title}
        </a>
      </Card>
    </Layout>
  );
}
