// What a request does with the outbox (src/mail/outbox.ts): store its audit rows and the notices
// they cause in one batch, and start sending once its response is on its way.
import type { Context } from "hono";
import type { AppEnv } from "../app-env";
import { auditOriginOf } from "./audit";
import { type AuditEntry, auditInsert } from "../audit/events";
import { getDb } from "../db";
import { afterResponse } from "./background";
import { deliverQueued, type Notice, storeWithNotices } from "../mail/outbox";

/** Start sending what a request queued once its response is on its way. */
export async function sendAfterResponse(c: Context<AppEnv>, ids: readonly string[]): Promise<void> {
  if (ids.length) await afterResponse(c, "Sending queued mail", () => deliverQueued(c.env, ids, c.var.clock));
}

/**
 * Append events and queue the notices they cause in one batch (src/mail/outbox.ts): a person is
 * told of what the audit log records, or neither is stored. Sending starts after the response.
 */
export async function recordAuditWithNotices(
  c: Context<AppEnv>,
  entries: readonly AuditEntry[],
  notices: readonly Notice[],
): Promise<void> {
  const db = getDb(c.env.DB);
  const origin = auditOriginOf(c);
  const ids = await storeWithNotices(
    c.env,
    db,
    entries.map((e) => auditInsert(db, e, origin)),
    notices,
    origin.at,
  );
  await sendAfterResponse(c, ids);
}
