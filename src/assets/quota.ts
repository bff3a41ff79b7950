// SECURITY.md 44: the heavy work one agent can start. An import and a bulk change of more than one
// batch (a job) each write thousands of records; one agent running them back to back slowed every
// other agent's list. So each agent runs one at a time, and starts at most 20 an hour.
import { HOUR, MINUTE } from "../lib/clock";
import { limiterFor, waitMessage } from "../limits/limits";
import type { LimitRule } from "../limits/limiter-do";

export const HEAVY_WORK: { perHour: LimitRule; atOnce: LimitRule } = {
  perHour: { limit: 20, windowMs: HOUR },
  // A slot held while an import runs (one request); it frees itself if the request never ends.
  atOnce: { limit: 1, windowMs: 10 * MINUTE },
};

export type HeavyStart = { ok: true; release: () => Promise<void> } | { ok: false; message: string; retryAfterMs: number };

const RUNNING_JOB =
  "SELECT 1 FROM bulk_operations WHERE actor_id = ? AND job IS NOT NULL AND state IN ('snapshot', 'applying', 'undoing') LIMIT 1";

/**
 * Start one heavy piece of work for `agentId`: refused while their job runs or their other import
 * does, or past 20 this hour. `release` gives the slot back once an import has finished; a job
 * holds none (its running state in D1 is the slot).
 */
export async function startHeavyWork(env: Env, agentId: string, now: number): Promise<HeavyStart> {
  // The slot first, then the running job: a job's row is written while its starter holds the
  // slot, so of two requests at once, the second either waits for the slot or sees the job.
  const slot = limiterFor(env, `work:${agentId}`);
  const held = await slot.hit(now, HEAVY_WORK.atOnce, "import");
  if (!held.allowed)
    return {
      ok: false,
      message: "Your other import is still running. Wait for it to finish, then try again.",
      retryAfterMs: held.retryAfterMs,
    };
  const release = () => slot.refund(held.tickets);
  if (await env.DB.prepare(RUNNING_JOB).bind(agentId).first()) {
    await release();
    return {
      ok: false,
      message: "Your earlier change is still running. Wait for it to finish (its page shows the progress), then try again.",
      retryAfterMs: MINUTE,
    };
  }
  const hourly = await limiterFor(env, `heavy:${agentId}`).hit(now, HEAVY_WORK.perHour, "started");
  if (!hourly.allowed) {
    await release();
    return {
      ok: false,
      message: `You have started ${HEAVY_WORK.perHour.limit} imports and large changes in the last hour, the most one person may. You can start another in ${waitMessage(hourly.retryAfterMs)}.`,
      retryAfterMs: hourly.retryAfterMs,
    };
  }
  return { ok: true, release };
}
