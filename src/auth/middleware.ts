import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "../app-env";
import type { Portal } from "../portal/policy";
import { clearSessionCookie, readSession } from "./sessions";
import type { SessionStage } from "./user-do";

export function loginPath(portal: Portal, next?: string): string {
  return next ? `/${portal}/login?next=${encodeURIComponent(next)}` : `/${portal}/login`;
}

/**
 * Let a request through only with a live session of this portal at one of `stages` (a signed-in
 * session by default). Without one, a page visit goes to sign-in and comes back after it; any
 * other request gets 401. A session part-way through signing in is sent to finish it.
 */
export function requireSession(portal: Portal, stages: readonly SessionStage[] = ["full"]): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    // Sub-apps sharing a mount point each guard their routes: a session this request already
    // validated for this portal is reused rather than read again (two Durable Object calls).
    const known = c.get("auth");
    const auth = known?.portal === portal ? known : await readSession(c, portal);
    if (!auth) {
      clearSessionCookie(c, portal);
      if (c.req.method === "GET") {
        const url = new URL(c.req.url);
        return c.redirect(loginPath(portal, url.pathname + url.search), 303);
      }
      return c.text("Your session has ended. Sign in again.", 401);
    }
    if (!stages.includes(auth.session.stage)) {
      if (c.req.method === "GET") return c.redirect(`/${portal}/login/verify`, 303);
      return c.text("Finish signing in first.", 401);
    }
    c.set("auth", auth);
    await next();
  };
}
