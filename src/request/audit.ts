import type { Context } from "hono";
import type { AppEnv } from "../app-env";
import { getDb } from "../db";
import { auditEvents } from "../db/schema";
import type { AuditEntry, AuditOrigin } from "../audit/events";

/** The origin of an event a request causes. */
export function auditOriginOf(c: Context<AppEnv>): AuditOrigin {
  return { at: c.var.clock.now(), ip: c.req.header("CF-Connecting-IP") ?? null, userAgent: c.req.header("User-Agent") ?? null };
}

/** Append an event, with the request's time, IP and user agent. Awaited: an event is never silently lost. */
export async function recordAudit(c: Context<AppEnv>, entry: AuditEntry): Promise<void> {
  await getDb(c.env.DB)
    .insert(auditEvents)
    .values({
      at: c.var.clock.now(),
      event: entry.event,
      portal: entry.portal ?? null,
      actorId: entry.actorId ?? null,
      targetId: entry.targetId === undefined ? (entry.actorId ?? null) : entry.targetId,
      ip: c.req.header("CF-Connecting-IP") ?? null,
      userAgent: (c.req.header("User-Agent") ?? "").slice(0, 512) || null,
      details: entry.details ?? null,
    });
}
