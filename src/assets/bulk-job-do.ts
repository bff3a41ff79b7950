// The Durable Object that runs a bulk job (bulk-job.ts), one per job. It keeps only which job it
// runs; the job's state is in D1 (bulk_operations), where its progress page reads it. An alarm
// runs the steps one after another for up to a second, then sets the next alarm, so the job goes
// on after the request that started it has been answered, and an alarm that fails is retried
// (each step is safe to run twice).
import { DurableObject } from "cloudflare:workers";
import { advanceJob } from "./bulk-job";
import { ASSET_KIND, SOFTWARE_KIND } from "./kinds";
import type { InventoryKind } from "./kinds";

interface Job {
  kind: InventoryKind["type"];
  batchId: string;
}

/**
 * How long one alarm runs steps before it sets the next alarm and returns: each invocation is
 * bounded (a Durable Object alarm has the same CPU limit as a request, [limits] cpu_ms), and one
 * that fails is retried from where the job is, not from the start. Measured: an 80,000-record
 * job run in a single invocation went over the limit locally and was restarted.
 */
const SLICE_MS = 1000;

/**
 * Lets whatever else is waiting run before the next step. Without it, local workerd went from one
 * step straight to the next and answered no other request, not even a 404, until the slice was
 * over (about 1 s; bench/results.json has a goal for a list page asked for during a job).
 */
const giveOthersATurn = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

export class BulkJobDurableObject extends DurableObject<Env> {
  private running: Promise<boolean> | null = null;

  /** Takes the job and sets an alarm for now: the steps start once this call has answered. */
  async start(job: Job): Promise<void> {
    await this.ctx.storage.put("job", job);
    await this.ctx.storage.setAlarm(Date.now());
  }

  override async alarm(): Promise<void> {
    if (!(await this.slice())) await this.ctx.storage.setAlarm(Date.now());
  }

  /** Runs the job to its end, slice after slice; what tests await (production leaves it to the alarms). */
  async finished(): Promise<void> {
    while (!(await this.slice()));
  }

  /** Steps for up to SLICE_MS (or joins the slice under way); true once the job has ended. */
  private slice(): Promise<boolean> {
    this.running ??= this.runSlice().finally(() => {
      this.running = null;
    });
    return this.running;
  }

  private async runSlice(): Promise<boolean> {
    const job = await this.ctx.storage.get<Job>("job");
    if (!job) return true;
    const kind = job.kind === "asset" ? ASSET_KIND : SOFTWARE_KIND;
    // Date.now() moves on at each I/O in Workers, so it measures the slice's steps.
    const started = Date.now();
    while (await advanceJob(this.env.DB, kind, job.batchId)) {
      if (Date.now() - started >= SLICE_MS) return false;
      await giveOthersATurn();
    }
    await this.ctx.storage.deleteAll();
    return true;
  }
}

/** Hands a job (just created by applyBulk, or claimed by an Undo) to its Durable Object. */
export async function startBulkJob(env: Env, kind: InventoryKind, batchId: string): Promise<void> {
  await env.BULK_JOB_DO.get(env.BULK_JOB_DO.idFromName(batchId)).start({ kind: kind.type, batchId });
}
