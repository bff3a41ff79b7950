import type { Auth } from "./access/auth";
import type { ApiCaller } from "./api/tokens";
import type { Clock } from "./lib/clock";
import type { PortalStateCache } from "./portal/state-cache";

/** Hono's typed environment: the bindings, and what middleware puts on the context. */
export interface AppEnv {
  Bindings: Env;
  Variables: {
    clock: Clock;
    /** This isolate's copy of the portals' state. */
    portals: PortalStateCache;
    /** Set by requireSession on portal pages. */
    auth: Auth;
    /** Set by readSession when this request's session ended because a policy was applied immediately. */
    sessionEnded: "policy";
    /** Set by requireApiToken on /api routes: the token and the agent it acts for. */
    api: ApiCaller;
  };
}
