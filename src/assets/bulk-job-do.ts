// The Durable Object that runs a bulk job (bulk-job.ts), one per job. It keeps only which job it
// runs; the job's state is in D1 (bulk_operations), where its progress page reads it. An alarm
// runs the steps one after another, so the job goes on after the request that started it has
// been answered, and an alarm that fails is retried (each step is safe to run twice).
import { DurableObject } from "cloudflare:workers";
import { advanceJob } from "./bulk-job";
import { ASSET_KIND, SOFTWARE_KIND } from "./kinds";
import type { InventoryKind } from "./kinds";

interface Job {
  kind: InventoryKind["type"];
  batchId: string;
}

export class BulkJobDurableObject extends DurableObject<Env> {
  private running: Promise<void> | null = null;

  /** Takes the job and sets an alarm for now: the steps start once this call has answered. */
  async start(job: Job): Promise<void> {
    await this.ctx.storage.put("job", job);
    await this.ctx.storage.setAlarm(Date.now());
  }

  override async alarm(): Promise<void> {
    await this.finished();
  }

  /** Runs the job to its end (or waits for the run under way); what the alarm does, and what tests await. */
  async finished(): Promise<void> {
    this.running ??= this.run().finally(() => {
      this.running = null;
    });
    await this.running;
  }

  private async run(): Promise<void> {
    const job = await this.ctx.storage.get<Job>("job");
    if (!job) return;
    const kind = job.kind === "asset" ? ASSET_KIND : SOFTWARE_KIND;
    while (await advanceJob(this.env.DB, kind, job.batchId));
    await this.ctx.storage.deleteAll();
  }
}

/** Hands a job (just created by applyBulk, or claimed by an Undo) to its Durable Object. */
export async function startBulkJob(env: Env, kind: InventoryKind, batchId: string): Promise<void> {
  await env.BULK_JOB_DO.get(env.BULK_JOB_DO.idFromName(batchId)).start({ kind: kind.type, batchId });
}
