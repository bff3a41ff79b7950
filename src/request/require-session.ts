import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "../app-env";
import type { Portal } from "../portal/policy";
import { clearSessionCookie, readSession } from "./session-cookie";
import type { SessionStage } from "../auth/user-do";

/** What a person signed out by "Immediately" reads: why, and nothing more. */
export const POLICY_APPLIED = "Your administrator changed the sign-in settings, so you need to sign in again.";

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
    // validated for this portal is reused rather than read again (a Durable Object call).
    const known = c.get("auth");
    const auth = known?.portal === portal ? known : await readSession(c, portal);
    if (!auth) {
      clearSessionCookie(c, portal);
      const byPolicy = c.get("sessionEnded") === "policy";
      if (c.req.method === "GET") {
        const url = new URL(c.req.url);
        const login = loginPath(portal, url.pathname + url.search);
        return c.redirect(byPolicy ? `${login}${login.includes("?") ? "&" : "?"}policy_applied=1` : login, 303);
      }
      return c.text(byPolicy ? POLICY_APPLIED : "Your session has ended. Sign in again.", 401);
    }
    if (!stages.includes(auth.session.stage)) {
      if (c.req.method === "GET") return c.redirect(`/${portal}/login/verify`, 303);
      return c.text("Finish signing in first.", 401);
    }
    c.set("auth", auth);
    await next();
  };
}
