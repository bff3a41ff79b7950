// Bulk changes too large for one batch. One D1 database runs one query at a time, so a
// single batch changing 80,000 records held it for about 2 s, and every sign-in and page waited.
// A change of more than BULK_CHUNK records is instead a job, run by a Durable Object (one per
// job, bulk-job-do.ts) as short steps, each its own D1 call, so others' queries run in between:
//
//   snapshot  which records it changes, and at which version: BULK_CHUNK to a bulk_chunks row,
//             each step one INSERT … SELECT inside D1 (no rows travel);
//   applying  a chunk at a time: claimed only if every record in it is still at its snapshot
//             version (and still live and in the agent's groups), then its history rows and the
//             UPDATE, in one transaction;
//   done      Undo is offered (then undoing → undone, a chunk at a time as well).
//
// All or nothing: if a chunk's claim finds a record changed by someone else since the snapshot,
// the job stops and puts back, a chunk at a time, what it had changed (the records nobody changed
// since), and ends "failed" with the reason. Meanwhile the records change chunk by chunk: a list
// read during a job may show part of it (docs/ASSETS.md, bulk changes).
//
// Every step is safe to run twice (a Durable Object alarm runs at least once): each claims with
// the state it read (a chunk number, a token, a cursor) in the same transaction as its writes.
import { z } from "zod";
import type { HeavyStart } from "./quota";
import { agentLeavesGroupSql, filterWhere, type ListFilter, loadOptions } from "./listing";
import { agentGroups, type BulkResult, bulkUpdate, changeWhere, fitsWhere, HISTORY_INSERT, planBulk, type Scope } from "./inventory";
import { BULK_FIELDS, type BulkField, EDITABLE, type InventoryKind } from "./kinds";
import { undoChunk } from "./undo";
import { newId } from "../lib/crypto";

/**
 * Records per step. Measured at 100,000 assets (bench/lists.mjs): a step holds D1 for well under
 * the 1 s the design allows (bench/results.json, "holds the database"), and a change of 80,000 is
 * 40 steps of each kind.
 */
export const BULK_CHUNK = 2000;

/** What a job needs to know for each step, kept in bulk_operations.job. */
const jobSchema = z.object({
  field: z.enum(BULK_FIELDS),
  value: z.string().nullable(),
  filter: z.custom<ListFilter>((v) => typeof v === "object" && v !== null),
  /** The assigned agent's groups when the job started (Assign Agent), else null. */
  fitsGroupIds: z.array(z.string()).nullable(),
  /** Who asked for Undo (undo.ts), whose name the put-back history rows carry. */
  undoBy: z.string().optional(),
  plan: z.object({
    total: z.number(),
    change: z.number(),
    alreadySet: z.number(),
    retired: z.number(),
    outsideGroup: z.number(),
    clearsAgent: z.number().default(0),
  }),
  at: z.number(),
});
export type JobSpec = z.infer<typeof jobSchema>;

export type JobState = "snapshot" | "applying" | "undoing" | "done" | "undone" | "failed";

export interface JobStatus {
  id: string;
  state: JobState;
  /** Records snapshotted (while snapshotting), then records changed; while undoing, records the job had changed. */
  count: number;
  /** Records changed (applying) or put back (undoing) so far. */
  doneCount: number;
  actorId: string;
  undoneAt: number | null;
  message: string | null;
  longestMs: number;
  spec: JobSpec | null;
}

/** The operation row of a job or of a change written at once, as its progress page shows it. */
export async function jobStatus(db: D1Database, kind: InventoryKind, batchId: string): Promise<JobStatus | null> {
  const row = await db
    .prepare(
      "SELECT id, state, count, done_count, actor_id, undone_at, message, longest_ms, job FROM bulk_operations WHERE id = ? AND record_type = ?",
    )
    .bind(batchId, kind.type)
    .first<{
      id: string;
      state: JobState;
      count: number;
      done_count: number;
      actor_id: string;
      undone_at: number | null;
      message: string | null;
      longest_ms: number;
      job: string | null;
    }>();
  if (!row) return null;
  const spec = row.job ? jobSchema.safeParse(JSON.parse(row.job)) : null;
  return {
    id: row.id,
    state: row.state,
    count: row.count,
    doneCount: row.done_count,
    actorId: row.actor_id,
    undoneAt: row.undone_at,
    message: row.message,
    longestMs: row.longest_ms,
    spec: spec?.success ? spec.data : null,
  };
}

/**
 * The agents a finished Assign Group job cleared, as its history rows record them: the plan's
 * count was made before the job ran, and a membership that changed meanwhile changes the count.
 */
export async function agentsClearedBy(db: D1Database, batchId: string): Promise<number> {
  return (
    (
      await db
        .prepare("SELECT count(*) AS n FROM inventory_history WHERE batch_id = ? AND field = 'agent'")
        .bind(batchId)
        .first<{ n: number }>()
    )?.n ?? 0
  );
}

/**
 * A bulk change: written at once (inventory.ts's bulkUpdate) up to BULK_CHUNK records, else
 * started as a job (`job: true`), which the caller hands to its Durable Object (startBulkJob).
 */
/**
 * Apply a bulk change: at once when it fits one batch, else as a job. A job is heavy work
 * (quota.ts): `startJob` says whether this person may start one now.
 */
export async function applyBulk(
  db: D1Database,
  kind: InventoryKind,
  scope: Scope,
  field: BulkField,
  value: string | null,
  actorId: string,
  now: number,
  startJob: () => Promise<HeavyStart>,
): Promise<BulkResult> {
  const options = await loadOptions(db);
  const planned = await planBulk(db, kind, scope, field, value, options);
  if (!planned.ok) return planned;
  if ("ids" in scope || planned.plan.change <= BULK_CHUNK)
    return bulkUpdate(db, kind, scope, field, value, actorId, now, { options, plan: planned.plan });
  const started = await startJob();
  if (!started.ok) return { ok: false, message: started.message, retryAfterMs: started.retryAfterMs };
  const batchId = newId("bulk");
  try {
    await createJob(
      db,
      kind,
      batchId,
      { field, value, filter: scope.filter, fitsGroupIds: agentGroups(options, field, value), plan: planned.plan, at: now },
      actorId,
    );
  } finally {
    // From here the job's own state in D1 holds the person's one slot.
    await started.release();
  }
  return { ok: true, batchId, job: true, ...planned.plan };
}

/** The operation row of a new job, in its first state. */
async function createJob(db: D1Database, kind: InventoryKind, batchId: string, spec: JobSpec, actorId: string): Promise<void> {
  await db
    .prepare(
      "INSERT INTO bulk_operations (id, record_type, field, count, actor_id, at, state, job) VALUES (?, ?, ?, 0, ?, ?, 'snapshot', ?)",
    )
    .bind(batchId, kind.type, spec.field, actorId, spec.at, JSON.stringify(jobSchema.parse(spec)))
    .run();
}

interface StepRow {
  state: JobState;
  job: string;
  chunks: number;
  applied_chunks: number;
  cursor: string | null;
  actor_id: string;
  undone_at: number | null;
}

/**
 * One step of a job; true while there are more. The longest step's time (its D1 calls, the
 * step's batch among them) is kept in longest_ms: at most that long did the job hold the
 * database at once.
 */
export async function advanceJob(db: D1Database, kind: InventoryKind, batchId: string): Promise<boolean> {
  const op = await db
    .prepare("SELECT state, job, chunks, applied_chunks, cursor, actor_id, undone_at FROM bulk_operations WHERE id = ? AND record_type = ?")
    .bind(batchId, kind.type)
    .first<StepRow>();
  if (!op?.job) return false;
  const spec = jobSchema.parse(JSON.parse(op.job));
  const started = performance.now();
  let more: boolean;
  if (op.state === "snapshot") more = await snapshotStep(db, kind, batchId, spec, op);
  else if (op.state === "applying") more = await applyStep(db, kind, batchId, spec, op);
  else if (op.state === "undoing") more = await undoStep(db, kind, batchId, spec, op);
  else return false;
  const ms = Math.ceil(performance.now() - started);
  await db.prepare("UPDATE bulk_operations SET longest_ms = max(longest_ms, ?) WHERE id = ?").bind(ms, batchId).run();
  return more;
}

/** The next BULK_CHUNK records to change, in id order after the cursor, as one bulk_chunks row. */
async function snapshotStep(db: D1Database, kind: InventoryKind, batchId: string, spec: JobSpec, op: StepRow): Promise<boolean> {
  const changes = changeWhere(kind, filterWhere(kind, spec.filter), spec.field, spec.value, fitsWhere(spec.fitsGroupIds));
  const seq = op.chunks + 1;
  const cursor = op.cursor ?? "";
  const last = "(SELECT max(json_extract(j.value, '$[0]')) FROM bulk_chunks c, json_each(c.items) j WHERE c.batch_id = ?1 AND c.seq = ?2)";
  const [inserted] = await db.batch([
    db
      .prepare(
        `INSERT INTO bulk_chunks (batch_id, seq, items)
         SELECT ?, ?, json_group_array(json_array(id, v)) FROM (SELECT t.id AS id, t.${kind.versionColumn} AS v FROM ${kind.table} t WHERE ${changes.sql} AND t.id > ? ORDER BY t.id LIMIT ?)
         HAVING count(*) > 0 RETURNING seq`,
      )
      .bind(batchId, seq, ...changes.params, cursor, BULK_CHUNK),
    // Moves on only from the state this step read, so a step run twice adds its chunk once (the INSERT's key refuses the second).
    db
      .prepare(
        `UPDATE bulk_operations SET chunks = ?2, count = count + json_array_length((SELECT items FROM bulk_chunks WHERE batch_id = ?1 AND seq = ?2)),
           cursor = ${last}
         WHERE id = ?1 AND state = 'snapshot' AND chunks = ?2 - 1 AND EXISTS (SELECT 1 FROM bulk_chunks WHERE batch_id = ?1 AND seq = ?2)`,
      )
      .bind(batchId, seq),
    db
      .prepare(
        "UPDATE bulk_operations SET state = CASE WHEN chunks = 0 THEN 'done' ELSE 'applying' END, cursor = NULL WHERE id = ?1 AND state = 'snapshot' AND chunks = ?2 - 1",
      )
      .bind(batchId, seq),
  ]);
  return inserted!.results.length > 0 || op.chunks > 0;
}

const STALE =
  "Nothing was changed: records were changed by someone else while this change ran, so the ones it had already changed were put back. Check the list and try again.";
const VALUE_GONE =
  "Nothing was changed: the value being set was deleted while this change ran, so the records it had already changed were put back.";

/** The next chunk: claimed only if all of it is as the snapshot saw it, then written whole. */
async function applyStep(db: D1Database, kind: InventoryKind, batchId: string, spec: JobSpec, op: StepRow): Promise<boolean> {
  const seq = op.applied_chunks + 1;
  const token = newId("chunk");
  const v = kind.versionColumn;
  const column = EDITABLE[spec.field];
  // Assign Group also clears each record's agent who is not in the new group.
  const clearsAgent = spec.field === "group" ? `, agent_id = CASE WHEN ${agentLeavesGroupSql("?4")} THEN NULL ELSE agent_id END` : "";
  const items = `SELECT json_extract(j.value, '$[0]') AS id, json_extract(j.value, '$[1]') AS v FROM json_each((SELECT items FROM bulk_chunks WHERE batch_id = ?1 AND seq = ?2)) j`;
  const fits = fitsWhere(spec.fitsGroupIds, "?4");
  // A record gone, at another version (changed by anyone, retired included), or out of the agent's groups now.
  const stale = `EXISTS (SELECT 1 FROM (${items}) i LEFT JOIN ${kind.table} t ON t.id = i.id WHERE t.id IS NULL OR t.${v} != i.v OR t.status = 'retired' OR NOT ${fits.sql})`;
  const claimed = "EXISTS (SELECT 1 FROM bulk_operations WHERE id = ?1 AND chunk_token = ?3 AND applied_chunks = ?2)";
  const statements = [
    db
      .prepare(
        `UPDATE bulk_operations SET applied_chunks = ?2, chunk_token = ?3, done_count = done_count + json_array_length((SELECT items FROM bulk_chunks WHERE batch_id = ?1 AND seq = ?2)),
           state = CASE WHEN ?2 = chunks THEN 'done' ELSE state END
         WHERE id = ?1 AND state = 'applying' AND applied_chunks = ?2 - 1 AND NOT ${stale}`,
      )
      .bind(batchId, seq, token, ...fits.params),
    db
      .prepare(
        `${HISTORY_INSERT} SELECT ?4, t.id, ?5, t.${column}, ?6, t.${v} + 1, ?7, ?1, ?8 FROM (${items}) i JOIN ${kind.table} t ON t.id = i.id WHERE ${claimed}`,
      )
      .bind(batchId, seq, token, kind.type, spec.field, spec.value, op.actor_id, spec.at),
    // Assign Group takes off the agent of a record who is not in the new group, as bulkUpdate does.
    ...(spec.field === "group"
      ? [
          db
            .prepare(
              `${HISTORY_INSERT} SELECT ?4, t.id, 'agent', t.agent_id, NULL, t.${v} + 1, ?5, ?1, ?6 FROM (${items}) i JOIN ${kind.table} t ON t.id = ` +
                `i.id WHERE ${agentLeavesGroupSql("?7")} AND ${claimed}`,
            )
            .bind(batchId, seq, token, kind.type, op.actor_id, spec.at, spec.value),
        ]
      : []),
    db
      .prepare(
        `UPDATE ${kind.table} AS t SET ${column} = ?4${clearsAgent}, ${v} = ${v} + 1, updated_at = ?5
         WHERE t.id IN (SELECT id FROM (${items})) AND ${claimed}`,
      )
      .bind(batchId, seq, token, spec.value, spec.at),
    // The snapshot is not needed once the job is done.
    db
      .prepare(
        "DELETE FROM bulk_chunks WHERE batch_id = ?1 AND EXISTS (SELECT 1 FROM bulk_operations WHERE id = ?1 AND state = 'done' AND chunk_token = ?2)",
      )
      .bind(batchId, token),
  ];
  let results: D1Result[];
  try {
    results = await db.batch(statements);
  } catch (error) {
    if (error instanceof Error && /FOREIGN KEY constraint failed/.test(error.message)) return failAndPutBack(db, batchId, VALUE_GONE);
    throw error;
  }
  if (results[0]!.meta.changes === 1) return seq < op.chunks;
  // Not claimed: either an earlier run of this very step committed it (go on), or the chunk is stale.
  const now = await db
    .prepare("SELECT state, applied_chunks FROM bulk_operations WHERE id = ?")
    .bind(batchId)
    .first<{ state: JobState; applied_chunks: number }>();
  if (now?.state !== "applying" || now.applied_chunks >= seq) return now?.state === "applying";
  return failAndPutBack(db, batchId, STALE);
}

/** Stops a job and starts putting back what it changed; it ends "failed" with `message`. */
async function failAndPutBack(db: D1Database, batchId: string, message: string): Promise<boolean> {
  await db
    .prepare(
      "UPDATE bulk_operations SET state = 'undoing', message = ?, count = done_count, done_count = 0, cursor = NULL, undo_token = ? WHERE id = ? AND state = 'applying'",
    )
    .bind(message, newId("undo"), batchId)
    .run();
  return true;
}

/** The next chunk put back (Undo, or a failed job's own), then "undone" or "failed" once none is left. */
async function undoStep(db: D1Database, kind: InventoryKind, batchId: string, spec: JobSpec, op: StepRow): Promise<boolean> {
  // An Undo is made by whoever asked, when they asked; a failed job's own putting back by its author, at its time.
  const result = await undoChunk(
    db,
    kind,
    batchId,
    spec.field,
    op.cursor === null ? 0 : Number(op.cursor),
    BULK_CHUNK,
    spec.undoBy ?? op.actor_id,
    op.undone_at ?? spec.at,
  );
  if (result.cursor === null) {
    await db
      .prepare(
        "UPDATE bulk_operations SET state = CASE WHEN message IS NULL THEN 'undone' ELSE 'failed' END, cursor = NULL WHERE id = ? AND state = 'undoing'",
      )
      .bind(batchId)
      .run();
    await db.prepare("DELETE FROM bulk_chunks WHERE batch_id = ?").bind(batchId).run();
    return false;
  }
  await db.prepare("UPDATE bulk_operations SET done_count = done_count + ? WHERE id = ?").bind(result.restored, batchId).run();
  return true;
}
