// A bulk change or an import once written (one bulk_operations row): who may follow it, and what
// its page (bulk/<id>) shows. Its author, or anyone holding Manage Assets, may see that page and
// undo it from there (undoBatch asks the same question), so nobody undoes a change they could not
// look at first; to everyone else it does not exist, and its page and its Undo are both a 404.
// Batch ids are no secret (the audit log and ?reselect= links carry them): the rule keeps a change.
import type { Holder } from "../access/grants";
import { hasPermission } from "../access/permissions";
import { personNames } from "../auth/users";
import { fieldsOf } from "./fields";
import { humanize, type InventoryKind } from "./kinds";
import { loadOptions } from "./listing";

/** Who asks: the acting person and their role's permissions. */
export type Viewer = Pick<Holder, "id" | "permissions">;

/** May `viewer` see a batch's page, and so undo it (with Manage Assets, which undoing needs)? */
export function mayFollowBatch(batch: { actorId: string }, viewer: Viewer): boolean {
  return batch.actorId === viewer.id || hasPermission(viewer.permissions, "manageAssets");
}

/** Changes listed on a batch's page; beyond them, the page says how many more. */
export const LISTED_CHANGES = 50;

export interface BatchChange {
  record: string;
  field: string;
  before: string;
  after: string;
}

export interface BatchOverview {
  id: string;
  /** "import", or the field a bulk change set. */
  field: string;
  count: number;
  actorId: string;
  actorName: string;
  at: number;
  undoneAt: number | null;
  /** The first LISTED_CHANGES changes as written, values as a person reads them (empty unless asked for). */
  changes: BatchChange[];
  more: number;
}

interface OperationRow {
  id: string;
  field: string;
  count: number;
  actor_id: string;
  at: number;
  undone_at: number | null;
}

interface ChangeRow {
  record_id: string;
  record_name: string | null;
  field: string;
  old_value: string | null;
  new_value: string | null;
}

/** A batch as its page shows it, or null when there is none; `listChanges` reads its changes too (not for a job). */
export async function batchOverview(
  db: D1Database,
  kind: InventoryKind,
  batchId: string,
  listChanges: boolean,
): Promise<BatchOverview | null> {
  const op = await db
    .prepare("SELECT id, field, count, actor_id, at, undone_at FROM bulk_operations WHERE id = ? AND record_type = ?")
    .bind(batchId, kind.type)
    .first<OperationRow>();
  if (!op) return null;
  const overview: BatchOverview = {
    id: op.id,
    field: op.field,
    count: op.count,
    actorId: op.actor_id,
    actorName: "",
    at: op.at,
    undoneAt: op.undone_at,
    changes: [],
    more: 0,
  };
  const rows = listChanges
    ? await db.batch([
        db
          .prepare(
            `SELECT h.record_id, t.name AS record_name, h.field, h.old_value, h.new_value FROM inventory_history h LEFT JOIN ${kind.table} t ON t.id = ` +
              `h.record_id WHERE h.batch_id = ? ORDER BY h.id LIMIT ?`,
          )
          .bind(batchId, LISTED_CHANGES),
        db.prepare("SELECT count(*) AS n FROM inventory_history WHERE batch_id = ?").bind(batchId),
      ])
    : null;
  const changes = (rows?.[0]?.results ?? []) as ChangeRow[];
  const total = (rows?.[1]?.results[0] as { n: number } | undefined)?.n ?? 0;
  const fields = new Map(fieldsOf(kind).map((f) => [f.key, f]));
  // People by id (the author, agents and contacts the changes name), disabled and removed ones too.
  const personFields = new Set(["agent", "usedBy"]);
  const people = await personNames(db, [
    op.actor_id,
    ...changes
      .filter((c) => personFields.has(c.field))
      .flatMap((c) => [c.old_value, c.new_value])
      .filter((v): v is string => v !== null),
  ]);
  overview.actorName = people.get(op.actor_id) ?? "Someone";
  if (changes.length === 0) return overview;
  const options = await loadOptions(db);
  const names = new Map([...options.locations, ...options.groups, ...options.agents].map((o) => [o.id, o.name]));
  for (const [id, name] of people) names.set(id, name);
  const shown = (key: string, value: string | null) => {
    if (value === null || value === "") return "—";
    const field = fields.get(key);
    if (field?.type === "ref" || field?.type === "contact") return names.get(value) ?? value;
    return field?.type === "choice" ? humanize(value) : value;
  };
  overview.changes = changes.map((c) =>
    c.field === "created"
      ? { record: c.record_name ?? c.new_value ?? c.record_id, field: "Created", before: "—", after: c.new_value ?? "—" }
      : {
          record: c.record_name ?? c.record_id,
          field: fields.get(c.field)?.label ?? c.field,
          before: shown(c.field, c.old_value),
          after: shown(c.field, c.new_value),
        },
  );
  overview.more = Math.max(0, total - changes.length);
  return overview;
}
