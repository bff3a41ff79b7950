// The Worker `npm start`, the browser journeys and the bench run (`wrangler dev
// src/dev/index.tsx`): production's Worker (src/index.tsx) with the development app in front.
// `wrangler deploy` builds `main` from wrangler.toml, src/index.tsx, which never imports this.
import production from "../index";
import { createDevelopmentApp } from "./app";

export { AuditStreamDurableObject, BulkJobDurableObject, LimiterDurableObject, PortalDurableObject, UserDurableObject } from "../index";

export default { ...production, fetch: createDevelopmentApp().fetch } satisfies ExportedHandler<Env>;
