// The API, under /api/v1: JSON in and out, a bearer token instead of a session (src/request/api-auth.ts).
// docs/API.md describes each route for the people who script against it.
import { Hono } from "hono";
import { z } from "zod";
import type { AppEnv } from "../app-env";
import { mayManagePerson } from "../access/grants";
import { AUDIT_EVENTS, type AuditEvent } from "../audit/events";
import { auditAfter, eventRecord } from "../audit/log";
import { holderOf } from "../admin/agents";
import { signOutPerson, signOutRefusal } from "../admin/person-sessions";
import { getDb } from "../db";
import { requiredText } from "../lib/fields";
import { apiError, requireApiToken } from "../request/api-auth";
import { auditOriginOf, recordAudit } from "../request/audit";
import { sendAfterResponse } from "../request/mail";
import { readsJson, readsQuery } from "../request/validation";

export const MAX_PAGE = 1000;
const DEFAULT_PAGE = 100;

const isoTime = (name: string) =>
  z.iso
    .datetime({ offset: true, error: `${name} is a time in ISO 8601 with its zone, e.g. 2026-12-01T00:00:00Z.` })
    .transform((t) => Date.parse(t))
    .optional();

const PERSON_FILTER = "person is an email address, or a removed person's pseudonym (“Removed agent 7K2QM4XAPB”).";

const auditQuery = z.strictObject(
  {
    after: z
      .string()
      .regex(/^\d{1,15}$/, "after is the id of the last event you received (a whole number).")
      .transform(Number)
      .default(0),
    limit: z
      .string()
      .regex(/^\d{1,7}$/, `limit is a whole number from 1 to ${MAX_PAGE}.`)
      .transform(Number)
      .refine((n) => n >= 1 && n <= MAX_PAGE, `limit is a whole number from 1 to ${MAX_PAGE}.`)
      .default(DEFAULT_PAGE),
    event: z
      .enum(Object.keys(AUDIT_EVENTS) as [AuditEvent, ...AuditEvent[]], { error: "event is not one of the audit log's events." })
      .optional(),
    person: z
      .string()
      .trim()
      .max(254, PERSON_FILTER)
      .refine((v) => z.email().safeParse(v).success || /^Removed (agent|contact) [A-Z2-7]{10}$/i.test(v), PERSON_FILTER)
      .optional(),
    since: isoTime("since"),
    until: isoTime("until"),
  },
  { error: (issue) => (issue.code === "unrecognized_keys" ? `Unknown parameter: ${issue.keys.join(", ")}.` : undefined) },
);

const signOutBody = z.strictObject({
  reason: requiredText("a reason", 200),
  session: z
    .string()
    .regex(/^(all|ses_[a-z2-7]{16})$/, 'session is "all" or the id of one session.')
    .default("all"),
});

const PERSON_ID = /^(agt|cnt)_[a-z2-7]{16}$/;

export const apiRoutes = new Hono<AppEnv>();

apiRoutes.get("/audit-events", requireApiToken("audit:read"), readsQuery(auditQuery), async (c) => {
  const query = c.req.valid("query");
  if (!query.ok) return apiError(c, 400, "invalid_request", query.message);
  const { after, limit, event, person, since, until } = query.data;
  const { rows, hasMore } = await auditAfter(getDb(c.env.DB), { event, user: person, since, until }, after, limit);
  const events = rows.map(eventRecord);
  const last = events.at(-1)?.id ?? after;
  return c.json({ events, has_more: hasMore, next_after: last });
});

apiRoutes.post("/people/:id/sign-out", requireApiToken("sessions:revoke"), readsJson(signOutBody), async (c) => {
  const body = c.req.valid("json");
  if (!body.ok) return apiError(c, body.status ?? 400, body.status === 415 ? "unsupported_media_type" : "invalid_request", body.message);
  const { actor, tokenId } = c.var.api;
  const id = c.req.param("id");
  const db = getDb(c.env.DB);
  const person = PERSON_ID.test(id) ? await holderOf(db, id) : null;
  if (!person) return apiError(c, 404, "not_found", "There is no person with that id.");
  const rule = mayManagePerson(actor, person, "sign them out");
  if (!rule.ok) {
    await recordAudit(c, {
      event: "access.refused",
      portal: "agent",
      actorId: actor.id,
      targetId: person.id,
      details: { action: "sign out a person", reason: rule.message, via: "api", tokenId },
    });
    return apiError(c, 403, "forbidden", rule.message);
  }
  const refusal = signOutRefusal(actor, person);
  if (refusal) return apiError(c, 403, "forbidden", refusal);
  const { session, reason } = body.data;
  const { ended, mail } = await signOutPerson(c.env, { person, admin: actor, session, reason, via: { tokenId } }, auditOriginOf(c));
  if (ended === 0)
    return apiError(
      c,
      409,
      "nothing_to_end",
      session === "all" ? "They are not signed in anywhere: nothing was changed." : "That session has already ended.",
    );
  await sendAfterResponse(c, mail);
  return c.json({ person: person.id, ended });
});

// Anything else under the API is answered in the API's shape, not with a page.
apiRoutes.all("*", (c) => apiError(c, 404, "not_found", "There is no such API route."));
