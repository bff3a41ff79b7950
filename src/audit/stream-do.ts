// One Durable Object per streaming destination runs its deliveries (src/audit/streaming.ts) from
// its alarm. Why an alarm, and not the minute's Cron Trigger alone or a Queue: an object runs one
// alarm at a time, so two deliveries to one destination never overlap and overtake each other;
// a failed alarm is retried by the runtime; it re-arms at once while a backlog remains (a
// backlog drains in seconds, not a batch a minute); and each destination backs off on its own.
// A caught-up destination looks again every 10 seconds; the minute's scheduled run also kicks
// every destination not paused (src/index.tsx), in case an object lost its alarm, and a
// destination added or resumed is kicked at once.
import { DurableObject } from "cloudflare:workers";
import { getDb } from "../db";
import { activeDestinationIds, drain } from "./streaming";

/** How often a caught-up destination looks for new events: one small D1 read each time. */
export const STREAM_POLL_MS = 10_000;

export class AuditStreamDurableObject extends DurableObject<Env> {
  /** Make sure a delivery run is due for this destination (now, unless one is already set). */
  async kick(destinationId: string): Promise<void> {
    await this.ctx.storage.put("destination", destinationId);
    // Sooner than an alarm already set (a backoff an admin's resume has just cleared): a run that
    // finds the destination still waiting sets the alarm back to its retry time.
    const set = await this.ctx.storage.getAlarm();
    if (set === null || set > Date.now()) await this.ctx.storage.setAlarm(Date.now());
  }

  override async alarm(): Promise<void> {
    const id = await this.ctx.storage.get<string>("destination");
    if (!id) return;
    const run = await drain(this.env, getDb(this.env.DB), id, Date.now, (request) => fetch(request));
    if (run.next !== null) await this.ctx.storage.setAlarm(Math.max(run.next, Date.now()));
    // Caught up: look again shortly, so a new event waits seconds, not the minute's kick.
    else if (run.last.state === "idle") await this.ctx.storage.setAlarm(Date.now() + STREAM_POLL_MS);
    else if (run.last.state === "gone") await this.ctx.storage.deleteAll();
  }
}

/** Ask a destination's object to run a delivery soon. */
export function kickDestination(env: Env, destinationId: string): Promise<void> {
  return env.AUDIT_STREAM_DO.get(env.AUDIT_STREAM_DO.idFromName(destinationId)).kick(destinationId);
}

/** The minute's kick: each destination not paused gets a run (which finds nothing to do when caught up). */
export async function kickAuditStreams(env: Env): Promise<{ kicked: number }> {
  const ids = await activeDestinationIds(getDb(env.DB));
  await Promise.all(ids.map((id) => kickDestination(env, id)));
  return { kicked: ids.length };
}
