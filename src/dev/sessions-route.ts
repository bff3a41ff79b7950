import { Hono } from "hono";
import { z } from "zod";
import type { AppEnv } from "../app-env";
import { mintSession } from "../auth/sessions";
import { sessionCookieName } from "../request/session-cookie";
import { readsJson } from "../request/validation";
import { isDevelopment } from "../mail/mailer";
import { kindOfPortal } from "../portal/policy";
import { portalPolicy } from "../request/portal";

const mintRequest = z.strictObject(
  {
    portal: z.enum(["agent", "support"], { error: "portal is agent or support." }),
    userIds: z
      .array(z.string().max(40), { error: "userIds is a list of user ids." })
      .min(1, "Name at least one user.")
      .max(200, "At most 200 users a request."),
    perUser: z.number({ error: "perUser is a number." }).int().min(1).max(10, "At most 10 sessions a user a request."),
  },
  { error: "the body is not a JSON object." },
);

/**
 * Development only (a 404 in every other environment, like the development mailbox): full
 * sessions for seeded users, so `npm run bench` can hold 10,000 live sessions without paying for
 * 10,000 password hashes. POST JSON { portal, userIds, perUser } → { cookieName, tokens }.
 */
export const devSessionsRoutes = new Hono<AppEnv>().post("/dev/sessions", readsJson(mintRequest), async (c) => {
  if (!isDevelopment(c.env)) return c.notFound();
  const parsed = c.req.valid("json");
  if (!parsed.ok)
    return c.text(`Send JSON like {"portal": "support", "userIds": ["cnt_…"], "perUser": 5}: ${parsed.message}`, parsed.status ?? 400);
  const { portal, userIds, perUser } = parsed.data;
  const ids = [...new Set(userIds)];
  const known = await c.env.DB.prepare(
    "SELECT count(*) AS n FROM users WHERE kind = ? AND active = 1 AND id IN (SELECT value FROM json_each(?))",
  )
    .bind(kindOfPortal(portal), JSON.stringify(ids))
    .first<{ n: number }>();
  if (known?.n !== ids.length) return c.text(`Some of those ids are not active users of the ${portal} portal.`, 400);
  const { generation } = await portalPolicy(c, portal);
  const session = {
    stage: "full" as const,
    method: "password" as const,
    generation,
    now: c.var.clock.now(),
    ip: "127.0.0.1",
    userAgent: "EdgeDesk bench",
  };
  const minted = await Promise.all(ids.flatMap((id) => Array.from({ length: perUser }, () => mintSession(c.env, id, session))));
  return c.json({ cookieName: sessionCookieName(portal), tokens: minted.map((m) => m.token) });
});
