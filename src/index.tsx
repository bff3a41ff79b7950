import { createApp } from "./app";
import { runRetention } from "./lifecycle/retention";

export { UserDurableObject } from "./auth/user-do";
export { PortalDurableObject } from "./portal/portal-do";
export { LimiterDurableObject } from "./limits/limiter-do";

const app = createApp();

export default {
  fetch: app.fetch,
  // The hourly retention run (wrangler.toml [triggers]); its time is the schedule's, not the wall clock's.
  async scheduled(controller, env) {
    console.log(`Retention: ${JSON.stringify(await runRetention(env, controller.scheduledTime))}`);
  },
} satisfies ExportedHandler<Env>;
