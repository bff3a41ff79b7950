// Reads near the reader. Every request runs its D1 queries in a D1 session (the Sessions
// API), so once read replication is on for the database (docs/ARCHITECTURE.md, "Reads near the reader") list pages and other
// reads can be served by a nearby replica, while a person always sees their own writes: the
// session's bookmark travels in a cookie, and the next request reads from a copy at least that
// new. Changes (any method but GET and HEAD), which include every sign-in step, run against the
// primary: a password an admin just changed must not still work on a lagging replica.
import type { MiddlewareHandler } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import type { AppEnv } from "../app-env";

const COOKIE = "edgedesk_d1";
/** What D1 bookmarks look like (e.g. 00000085-0000024c-00004c6d-8e61117bf38d7adb71b934ebbf891683). */
export const BOOKMARK = /^[0-9a-f]{8}-[0-9a-f]{8}-[0-9a-f]{8}-[0-9a-f]{32}$/;
const HOUR_SECONDS = 3600;

/** The bookmark this request carries, when it is one; anything else is ignored (and its cookie cleared). */
export function carriedBookmark(cookie: string | undefined): string | null {
  return cookie !== undefined && BOOKMARK.test(cookie) ? cookie : null;
}

export function d1Sessions(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const cookie = getCookie(c, COOKIE, "host");
    const bookmark = carriedBookmark(cookie);
    // The API is read on the primary: a token revoked, or its creator disabled, a moment ago must
    // not pass on a lagging copy; and a SIEM paging the audit log wants the newest events.
    const reading = (c.req.method === "GET" || c.req.method === "HEAD") && !c.req.path.startsWith("/api/");
    const session = c.env.DB.withSession(reading ? (bookmark ?? "first-unconstrained") : "first-primary");
    // The session has prepare() and batch(), all this app and drizzle call (test/e2e/structure.test.ts
    // refuses exec() and dump() in src); it lacks exec, dump and withSession.
    c.env = { ...c.env, DB: session as unknown as D1Database };
    await next();
    const latest = session.getBookmark();
    // Bookmarks sort oldest to newest: keep the newer one.
    if (latest && BOOKMARK.test(latest) && (bookmark === null || latest > bookmark)) {
      setCookie(c, COOKIE, latest, { prefix: "host", httpOnly: true, sameSite: "Lax", maxAge: HOUR_SECONDS });
    } else if (cookie !== undefined && bookmark === null) {
      deleteCookie(c, COOKIE, { prefix: "host", secure: true, path: "/" });
    }
  };
}
