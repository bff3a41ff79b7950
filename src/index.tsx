import { createApp } from "./app";
import { getDb } from "./db";
import { resealBatch, staleSecrets } from "./lifecycle/key-rotation";
import { runRetention } from "./lifecycle/retention";
import { answerDueResetRequests } from "./auth/password-reset";
import { payOwedThrottleNotices } from "./limits/throttle-notice";
import { deliverDueMail, OUTBOX_CRON, runClock } from "./mail/outbox";
import { kickAuditStreams } from "./audit/stream-do";

export { UserDurableObject } from "./auth/user-do";
export { PortalDurableObject } from "./portal/portal-do";
export { LimiterDurableObject } from "./limits/limiter-do";
export { BulkJobDurableObject } from "./assets/bulk-job-do";
export { AuditStreamDurableObject } from "./audit/stream-do";

const app = createApp();

export default {
  fetch: app.fetch,
  // Hourly (wrangler.toml [triggers]): retention, then re-encryption after a key rotation. Each
  // part is bounded and logs what it did; one failing does not stop the other, and the run is
  // still reported as failed (Cron Events in the dashboard).
  async scheduled(controller, env) {
    // Each minute (wrangler.toml [triggers]): "Forgot password?" requests and throttling notices a
    // failed request left, a kick to each audit streaming destination, then the mail the outbox still owes.
    if (controller.cron === OUTBOX_CRON) {
      const clock = runClock(controller.scheduledTime);
      // One part failing (D1 refusing a query) does not stop the others.
      const resets = await answerDueResetRequests(env, clock.now()).catch((error: unknown) => ({ error: String(error) }));
      const throttled = await payOwedThrottleNotices(env, clock).catch((error: unknown) => ({ error: String(error) }));
      const streams = await kickAuditStreams(env).catch((error: unknown) => ({ error: String(error) }));
      console.log(
        `Outbox: ${JSON.stringify({ resetRequests: resets, throttleNotices: throttled, auditStreams: streams, mail: await deliverDueMail(env, clock) })}`,
      );
      return;
    }
    const failures: unknown[] = [];
    try {
      console.log(`Retention: ${JSON.stringify(await runRetention(env, controller.scheduledTime))}`);
    } catch (error) {
      failures.push(error);
    }
    try {
      const db = getDb(env.DB);
      const done = await resealBatch(env, db);
      console.log(`Key rotation: ${JSON.stringify({ ...done, stillOnAnOlderKey: await staleSecrets(env, db) })}`);
    } catch (error) {
      failures.push(error);
    }
    if (failures.length) throw new AggregateError(failures, `The scheduled run failed: ${failures.map(String).join("; ")}`);
  },
} satisfies ExportedHandler<Env>;
