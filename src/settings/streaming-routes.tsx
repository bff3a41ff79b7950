// Settings > Security and Compliance > Audit log streaming: where the audit log is sent, how each
// destination is doing (last delivery, lag, last error), a test event, pause, resume and remove.
import { type Context, Hono } from "hono";
import { z } from "zod";
import type { AppEnv } from "../app-env";
import {
  addDestination,
  backlogOf,
  DESTINATION_KINDS,
  type Destination,
  type DestinationKind,
  destinationUrlProblem,
  findDestination,
  listDestinations,
  pauseDestination,
  removeDestination,
  resumeDestination,
  sendTestEvent,
} from "../audit/streaming";
import { kickDestination } from "../audit/stream-do";
import { getDb } from "../db";
import { utcMinute } from "../lib/clock";
import { requiredText } from "../lib/fields";
import { auditOriginOf } from "../request/audit";
import { afterResponse } from "../request/background";
import { sendAfterResponse } from "../request/mail";
import { readsForm, readsNothing, readsQuery } from "../request/validation";
import { requireRecentAuth } from "../sign-in/reauth";
import { ErrorMessage, Field, Notice } from "../web/layout";
import { SecretOnce, SecurityPage } from "./pages";

const PATH = "/agent/settings/security/streaming";
const DESTINATION_ID = /^dst_[a-z2-7]{16}$/;

const addForm = z
  .object({
    name: requiredText("a name for the destination", 80),
    kind: z.enum(Object.keys(DESTINATION_KINDS) as [DestinationKind, ...DestinationKind[]], { error: "Choose the kind of destination." }),
    url: requiredText("the destination's address", 2048),
    // What an HTTP header can carry: a token pasted with a stray dash or space from a document fails here, not in every delivery.
    token: z
      .string()
      .trim()
      .max(512, "The HEC token must be at most 512 characters.")
      .refine(
        (v) => v === "" || /^[\x21-\x7e]+$/.test(v),
        "The HEC token holds a character a token cannot have: copy it again from Splunk.",
      )
      .optional(),
  })
  .refine((f) => f.kind !== "splunk" || f.token, { message: "Enter the HTTP Event Collector token Splunk gave you.", path: ["token"] });

const DONE = {
  added: "The destination was added. Events are sent within seconds.",
  paused: "The destination was paused: nothing is sent until you resume it.",
  resumed: "The destination was resumed: it is sent everything it missed, starting within seconds.",
  removed: "The destination was removed.",
} as const;

function when(ms: number | null, now: number): string {
  if (ms === null) return "Never";
  const minutes = Math.round((now - ms) / 60_000);
  const ago = minutes < 1 ? "just now" : minutes < 120 ? `${minutes} min ago` : `${Math.round(minutes / 60)} h ago`;
  return `${utcMinute(ms)} (${ago})`;
}

function statusOf(d: Destination, now: number): string {
  if (d.pausedAt !== null) return `Paused: ${d.pausedReason ?? ""}`.trim();
  if (d.failingSince !== null) return `Failing since ${when(d.failingSince, now)}, retrying`;
  return "Active";
}

async function lagOf(c: Context<AppEnv>, d: Destination, now: number): Promise<string> {
  const backlog = await backlogOf(getDb(c.env.DB), d.cursor);
  if (backlog.oldestAt === null) return "Up to date";
  const count = `${backlog.waiting.toLocaleString("en-US")}${backlog.atLeast ? "+" : ""} event${backlog.waiting === 1 ? "" : "s"}`;
  return `${count} waiting, the oldest from ${when(backlog.oldestAt, now)}`;
}

async function streamingPage(
  c: Context<AppEnv>,
  shown: {
    error?: string | undefined;
    notice?: string | undefined;
    secret?: { name: string; value: string };
    values?: Record<string, unknown>;
  } = {},
  status: 200 | 400 | 404 | 409 | 502 = 200,
) {
  const now = c.var.clock.now();
  const destinations = await listDestinations(getDb(c.env.DB));
  const lags = await Promise.all(destinations.map((d) => lagOf(c, d, now)));
  const values = shown.values ?? {};
  return c.html(
    <SecurityPage title="Audit log streaming" auth={c.var.auth}>
      <p>
        Every audit event is sent to each destination below at least once, in order, with its id, so your SIEM can drop a repeat
        (docs/AUDIT-STREAMING.md). A destination that fails for 24 hours is paused and the admins are emailed; resuming sends what it
        missed.
      </p>
      <ErrorMessage message={shown.error} />
      <Notice message={shown.notice} />
      {shown.secret && (
        <SecretOnce testId="new-secret" title={`Copy the signing secret of “${shown.secret.name}” now`} value={shown.secret.value}>
          <p>
            It is shown only this once. Your endpoint checks each request's <code>X-EdgeDesk-Signature</code> with it.
          </p>
        </SecretOnce>
      )}
      <div class="table-scroll" tabindex={0}>
        <table data-testid="destinations">
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Type</th>
              <th scope="col">Address</th>
              <th scope="col">Status</th>
              <th scope="col">Last delivery</th>
              <th scope="col">Lag</th>
              <th scope="col">Last error</th>
              <th scope="col">
                <span class="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {destinations.map((d, i) => (
              <tr data-testid="destination-row">
                <td>{d.name}</td>
                <td>{DESTINATION_KINDS[d.kind]}</td>
                <td>
                  <code>{d.url}</code>
                </td>
                <td>{statusOf(d, now)}</td>
                <td>{when(d.lastDeliveredAt, now)}</td>
                <td>{lags[i]}</td>
                <td>{d.lastError ?? "None"}</td>
                <td>
                  <div class="actions">
                    <form method="post" action={`${PATH}/${d.id}/test`}>
                      <button type="submit" class="link" aria-label={`Send test event to ${d.name}`}>
                        Send test event
                      </button>
                    </form>
                    <form method="post" action={`${PATH}/${d.id}/${d.pausedAt === null ? "pause" : "resume"}`}>
                      <button type="submit" class="link" aria-label={`${d.pausedAt === null ? "Pause" : "Resume"} ${d.name}`}>
                        {d.pausedAt === null ? "Pause" : "Resume"}
                      </button>
                    </form>
                    <form method="post" action={`${PATH}/${d.id}/remove`}>
                      <button type="submit" class="link" aria-label={`Remove ${d.name}`}>
                        Remove
                      </button>
                    </form>
                  </div>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {destinations.length === 0 && <p>No destinations yet: the audit log stays in EdgeDesk (and its API).</p>}
      <form method="post" action={PATH} class="stack">
        <h2>Add a destination</h2>
        <Field
          label="Name"
          name="name"
          maxlength={80}
          value={String(values.name ?? "")}
          hint="How it is shown here, e.g. “Splunk Cloud”."
        />
        <fieldset>
          <legend>Type</legend>
          {(Object.keys(DESTINATION_KINDS) as DestinationKind[]).map((kind) => (
            <div class="toggle">
              <input type="radio" id={`kind-${kind}`} name="kind" value={kind} checked={(values.kind ?? "https") === kind} />
              <label for={`kind-${kind}`}>{DESTINATION_KINDS[kind]}</label>
            </div>
          ))}
        </fieldset>
        <Field
          label="Address"
          name="url"
          type="url"
          maxlength={2048}
          value={String(values.url ?? "")}
          hint="https:// only. For Splunk, the collector's event endpoint, e.g. https://splunk.example.com:8088/services/collector/event."
        />
        <Field
          label="Splunk HEC token"
          name="token"
          type="password"
          autocomplete="off"
          required={false}
          maxlength={512}
          hint="Only for Splunk. Sent as “Authorization: Splunk <token>”; stored encrypted and never shown again."
        />
        <div class="actions">
          <button type="submit" class="primary">
            Add destination
          </button>
        </div>
      </form>
    </SecurityPage>,
    status,
  );
}

/** Mounted at /agent/settings/security, behind its session and permission checks. */
export const streamingRoutes = new Hono<AppEnv>();

streamingRoutes.get("/streaming", readsQuery(z.object({ done: z.enum(Object.keys(DONE) as [keyof typeof DONE]).optional() })), (c) => {
  const query = c.req.valid("query");
  return streamingPage(c, { notice: query.ok && query.data.done ? DONE[query.data.done] : undefined });
});

streamingRoutes.post("/streaming", requireRecentAuth(), readsForm(addForm), async (c) => {
  const form = c.req.valid("form");
  const values = { ...form.input, token: undefined };
  if (!form.ok) return streamingPage(c, { error: form.message, values }, 400);
  const problem = destinationUrlProblem(form.data.url, c.env.ENVIRONMENT);
  if (problem) return streamingPage(c, { error: problem, values }, 400);
  const added = await addDestination(
    c.env,
    getDb(c.env.DB),
    { name: form.data.name, kind: form.data.kind, url: form.data.url, splunkToken: form.data.token, creatorId: c.var.auth.user.id },
    auditOriginOf(c),
  );
  if (!added.ok) return streamingPage(c, { error: added.message, values }, 409);
  const id = added.id;
  await afterResponse(c, "Starting audit log streaming", () => kickDestination(c.env, id));
  if (added.secret) return streamingPage(c, { notice: DONE.added, secret: { name: form.data.name, value: added.secret } });
  return c.redirect(`${PATH}?done=added`, 303);
});

/** The destination of the route's `:id`, or the page saying it is gone. */
async function destinationOf(c: Context<AppEnv>) {
  const id = c.req.param("id") ?? "";
  return DESTINATION_ID.test(id) ? await findDestination(getDb(c.env.DB), id) : undefined;
}
const GONE = "That destination does not exist (it may have been removed): nothing was changed.";

streamingRoutes.post("/streaming/:id/test", readsNothing(), async (c) => {
  const destination = await destinationOf(c);
  if (!destination) return streamingPage(c, { error: GONE }, 404);
  const result = await sendTestEvent(c.env, destination, c.var.clock.now(), (request) => fetch(request));
  if (!result.ok) return streamingPage(c, { error: `The test event to ${destination.name} failed: ${result.error}` }, 502);
  return streamingPage(c, { notice: `${destination.name} acknowledged the test event.` });
});

const ACTIONS = {
  pause: { change: pauseDestination, done: "paused", already: "is already paused", confirm: true },
  resume: { change: resumeDestination, done: "resumed", already: "is not paused", confirm: false },
  remove: { change: removeDestination, done: "removed", already: "was already removed", confirm: true },
} as const;

for (const [action, { change, done, already, confirm }] of Object.entries(ACTIONS)) {
  const handler = async (c: Context<AppEnv>) => {
    const destination = await destinationOf(c);
    if (!destination) return streamingPage(c, { error: GONE }, 404);
    const { changed, mail } = await change(c.env, getDb(c.env.DB), destination, c.var.auth.user, auditOriginOf(c));
    if (!changed) return streamingPage(c, { error: `${destination.name} ${already}: nothing was changed.` }, 409);
    await sendAfterResponse(c, mail);
    if (action === "resume") await afterResponse(c, "Resuming audit log streaming", () => kickDestination(c.env, destination.id));
    return c.redirect(`${PATH}?done=${done}`, 303);
  };
  // Stopping a destination blinds the SIEM: it needs a recent confirmation, as adding one does.
  if (confirm) streamingRoutes.post(`/streaming/:id/${action}`, requireRecentAuth(), readsNothing(), handler);
  else streamingRoutes.post(`/streaming/:id/${action}`, readsNothing(), handler);
}
