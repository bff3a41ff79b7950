import { createApp } from "./app";

export { UserDurableObject } from "./auth/user-do";
export { PortalDurableObject } from "./portal/portal-do";
export { LimiterDurableObject } from "./limits/limiter-do";

const app = createApp();

export default {
  fetch: app.fetch,
} satisfies ExportedHandler<Env>;
