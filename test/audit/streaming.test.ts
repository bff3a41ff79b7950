// Audit log streaming against a real receiver on a real port (test/receiver/siem-receiver.ts, in
// Node), which checks each request as the docs tell a customer to: the HMAC signature of the
// HTTPS format, the HEC token of Splunk's. Whatever the receiver does (fails every other
// request, never answers, answers 500 for ten minutes, or for a day), and wherever the Worker is
// cut off, it ends with every event once or more, in order, with no gap, checked by event id.
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { eq, gt, sql } from "drizzle-orm";
import { afterEach, describe, expect, inject, it } from "vitest";
import { getDb } from "../../src/db";
import { auditDestinations, auditEvents, mailOutbox } from "../../src/db/schema";
import {
  addDestination,
  type DestinationKind,
  deliverBatch,
  destinationUrlProblem,
  drain,
  findDestination,
  pauseDestination,
  resumeDestination,
  STREAM_BATCH,
} from "../../src/audit/streaming";
import { browser, deployedEnv, type FakeClock, fakeClock } from "../helpers/app";
import { signIn } from "../helpers/auth";
import { db, makeAdmin, makeAgent } from "../helpers/factories";
import { faultyD1 } from "../helpers/faults";
import { tableRows, textOf } from "../helpers/html";
import { makeRole } from "../helpers/roles";

type ReceiverState = { requests: number; received: number[]; rejected: string[] };

/** A receiver of its own on the test SIEM, set to `kind` and its secret; `set` changes how it behaves. */
async function startReceiver(kind: DestinationKind, secret: string) {
  const name = crypto.randomUUID();
  const base = inject("siemReceiver");
  const set = async (change: Record<string, unknown> = {}) =>
    (await (await fetch(`${base}/control/${name}`, { method: "POST", body: JSON.stringify(change) })).json()) as ReceiverState;
  await set({ kind, secret });
  return { url: `${base}/r/${name}`, set, state: () => set() };
}

const send = (request: Request) => fetch(request);

/**
 * The destinations' objects as the tests that run deliveries by hand, on their own clock, see
 * them: a kick is noted, not run (the real object would deliver on the wall clock meanwhile).
 * The tests of the object itself use the real one.
 */
function kicksNoted() {
  const kicks: string[] = [];
  const namespace = { idFromName: (name: string) => name, get: () => ({ kick: async (id: string) => void kicks.push(id) }) };
  return { kicks, env: { AUDIT_STREAM_DO: namespace as unknown as Env["AUDIT_STREAM_DO"] } };
}

// At most ten destinations at once: each test's go when it ends.
afterEach(async () => {
  await db().delete(auditDestinations);
});

/** `n` events stored at once, as a burst of sign-ins would leave them. */
async function storeEvents(n: number, at: number) {
  await env.DB.prepare(
    `WITH RECURSIVE k(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM k WHERE i < ?)
     INSERT INTO audit_events (at, event, portal, ip, details) SELECT ?, 'sign_in.failed', 'agent', '198.51.100.7', json_object('n', i) FROM k`,
  )
    .bind(n, at)
    .run();
}

/** Every event stored after `cursor` reached the receiver at least once, first seen in id order, none missing. */
async function expectEveryEventInOrder(received: number[], cursor: number) {
  const stored = (
    await db().select({ id: auditEvents.id }).from(auditEvents).where(gt(auditEvents.id, cursor)).orderBy(auditEvents.id)
  ).map((r) => r.id);
  const firstSeen = [...new Set(received)];
  expect(firstSeen.length).toBe(stored.length);
  expect(firstSeen).toEqual(stored);
}

/** Run deliveries as the destination's object would, the clock moving to each retry, until caught up (or `rounds` runs). */
async function deliverAll(id: string, clock: FakeClock, rounds = 200, options: { timeoutMs?: number } = {}) {
  for (let i = 0; i < rounds; i++) {
    const run = await drain(env, getDb(env.DB), id, clock.now, send, options);
    if (run.next === null) return run;
    clock.set(Math.max(clock.now(), run.next));
  }
  throw new Error("Delivery did not catch up.");
}

async function newDestination(kind: DestinationKind, clock: FakeClock, token = "") {
  const admin = await makeAdmin();
  const added = await addDestination(
    env,
    getDb(env.DB),
    { name: `SIEM ${crypto.randomUUID().slice(0, 4)}`, kind, url: "https://placeholder.example", splunkToken: token, creatorId: admin.id },
    { at: clock.now(), ip: null, userAgent: null },
  );
  if (!added.ok) throw new Error(added.message);
  const receiver = await startReceiver(kind, added.secret ?? token);
  await db().update(auditDestinations).set({ url: receiver.url }).where(eq(auditDestinations.id, added.id));
  await receiver.set({ now: Math.floor(clock.now() / 1000) });
  const destination = (await findDestination(db(), added.id))!;
  return { id: added.id, cursor: destination.cursor, receiver, admin };
}

describe("the two formats", () => {
  it("signs each HTTPS delivery so the receiver's check passes, and sends a backlog in batches, in order", async () => {
    const clock = fakeClock();
    const { id, cursor, receiver } = await newDestination("https", clock);
    await storeEvents(STREAM_BATCH * 2 + 17, clock.now());
    await deliverAll(id, clock);
    const state = await receiver.state();
    expect(state.rejected).toEqual([]);
    expect(state.requests).toBe(3);
    expect(new Set(state.received).size).toBe(state.received.length);
    await expectEveryEventInOrder(state.received, cursor);
  });

  it("sends Splunk's HEC format with its token, and moves nothing while the token is refused", async () => {
    const clock = fakeClock();
    const { id, cursor, receiver } = await newDestination("splunk", clock, "8f3a2c1e-0000-4b6f-9d2e-5c7a1b2c3d4e");
    await storeEvents(40, clock.now());
    await receiver.set({ secret: "the-token-splunk-has-now" });
    const refused = await deliverBatch(env, getDb(env.DB), id, clock.now(), send);
    expect(refused).toMatchObject({ state: "failed", error: 'HTTP 403: {"text":"Invalid token","code":4}' });
    expect((await findDestination(db(), id))!.cursor).toBe(cursor);
    await receiver.set({ secret: "8f3a2c1e-0000-4b6f-9d2e-5c7a1b2c3d4e" });
    await deliverAll(id, clock);
    const state = await receiver.state();
    expect(state.rejected).toEqual(["wrong HEC token"]);
    await expectEveryEventInOrder(state.received, cursor);
  });

  it("is refused by the receiver when the signature or the timestamp is not right", async () => {
    const clock = fakeClock();
    const { id, cursor, receiver } = await newDestination("https", clock);
    await storeEvents(3, clock.now());
    const { secret } = (await receiver.state()) as ReceiverState & { secret: string };
    // The receiver holds another secret: a forged delivery fails its check.
    await receiver.set({ secret: "whsec_not-the-one" });
    expect(await deliverBatch(env, getDb(env.DB), id, clock.now(), send)).toMatchObject({ state: "failed" });
    // The right secret, but stamped ten minutes from the receiver's now: a replay to it.
    await receiver.set({ secret, now: Math.floor(clock.now() / 1000) + 600 });
    clock.advance(60_000);
    expect(await deliverBatch(env, getDb(env.DB), id, clock.now(), send)).toMatchObject({ state: "failed" });
    expect((await findDestination(db(), id))!.cursor).toBe(cursor);
    expect((await receiver.state()).rejected).toEqual(["bad signature", "bad signature"]);
    // Right secret, fresh stamp: accepted.
    await receiver.set({ now: Math.floor(clock.now() / 1000) });
    await deliverAll(id, clock);
    await expectEveryEventInOrder((await receiver.state()).received, cursor);
  });
});

describe("batches", () => {
  it("keep each request within 512 KB of JSON, however large the events", async () => {
    const clock = fakeClock();
    const { id, cursor, receiver } = await newDestination("splunk", clock, "hec-token-5");
    await env.DB.prepare(
      `WITH RECURSIVE k(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM k WHERE i < 600)
       INSERT INTO audit_events (at, event, portal, details) SELECT ?, 'settings.changed', 'agent', json_object('changes', printf('%.2000c', 'x')) FROM k`,
    )
      .bind(clock.now())
      .run();
    await deliverAll(id, clock);
    const state = await receiver.state();
    // 601 events of over 2 KB: more than the two requests 500 a batch would make.
    expect(state.requests).toBeGreaterThanOrEqual(3);
    await expectEveryEventInOrder(state.received, cursor);
  });
});

describe("a receiver that misbehaves loses nothing", () => {
  it("fails every other request", async () => {
    const clock = fakeClock();
    const { id, cursor, receiver } = await newDestination("https", clock);
    await storeEvents(STREAM_BATCH * 3, clock.now());
    await receiver.set({ fail: "every-other" });
    await deliverAll(id, clock);
    const state = await receiver.state();
    const batches = Math.ceil((await db().select().from(auditEvents).where(gt(auditEvents.id, cursor))).length / STREAM_BATCH);
    expect(state.requests).toBe(batches * 2);
    await expectEveryEventInOrder(state.received, cursor);
    expect(state.received.length).toBe(new Set(state.received).size);
  });

  it("never answers: each try times out, and the backlog goes once it answers again", async () => {
    const clock = fakeClock();
    const { id, cursor, receiver } = await newDestination("https", clock);
    await storeEvents(10, clock.now());
    await receiver.set({ fail: "hang" });
    const run = await deliverBatch(env, getDb(env.DB), id, clock.now(), send, { timeoutMs: 200 });
    expect(run).toMatchObject({ state: "failed", error: "No answer within 0.2 seconds." });
    expect((await findDestination(db(), id))!).toMatchObject({ cursor, attempts: 1, lastError: "No answer within 0.2 seconds." });
    await receiver.set({ fail: "none" });
    await deliverAll(id, clock);
    await expectEveryEventInOrder((await receiver.state()).received, cursor);
  });

  it("answers 500 for ten minutes while events keep coming", async () => {
    const clock = fakeClock();
    const { id, cursor, receiver } = await newDestination("splunk", clock, "hec-token-1");
    await receiver.set({ fail: "always" });
    const start = clock.now();
    while (clock.now() - start < 10 * 60_000) {
      await storeEvents(25, clock.now());
      const run = await drain(env, getDb(env.DB), id, clock.now, send);
      expect(run.last.state).toBe("failed");
      clock.set(run.next!);
      await receiver.set({ now: Math.floor(clock.now() / 1000) });
    }
    const failing = (await findDestination(db(), id))!;
    expect(failing).toMatchObject({ cursor, pausedAt: null, failingSince: start });
    expect(failing.lastError).toContain("HTTP 500");
    await receiver.set({ fail: "none" });
    await deliverAll(id, clock);
    expect((await findDestination(db(), id))!).toMatchObject({ failingSince: null, attempts: 0, lastError: null });
    await expectEveryEventInOrder((await receiver.state()).received, cursor);
  });
});

describe("a receiver that redirects, or a secret that cannot be opened", () => {
  it("counts a redirect as a failure, never following it, and moves nothing", async () => {
    const clock = fakeClock();
    const { id, cursor, receiver } = await newDestination("splunk", clock, "hec-token-3");
    await storeEvents(5, clock.now());
    await receiver.set({ fail: "redirect" });
    const run = await deliverBatch(env, getDb(env.DB), id, clock.now(), send);
    expect(run).toMatchObject({ state: "failed" });
    expect((await findDestination(db(), id))!).toMatchObject({
      cursor,
      lastError: `HTTP 307: redirected to http://127.0.0.1:9/elsewhere/${receiver.url.split("/").at(-1)}, which is not followed.`,
    });
    await receiver.set({ fail: "none" });
    await deliverAll(id, clock);
    await expectEveryEventInOrder((await receiver.state()).received, cursor);
  });

  it("records a secret no key opens as a failure the page shows, not an error nobody sees", async () => {
    const clock = fakeClock();
    const { id, cursor, receiver } = await newDestination("https", clock);
    await storeEvents(2, clock.now());
    await db().update(auditDestinations).set({ sealedSecret: "v2.00000000.AAAA" }).where(eq(auditDestinations.id, id));
    const run = await deliverBatch(env, getDb(env.DB), id, clock.now(), send);
    expect(run).toMatchObject({ state: "failed", paused: false });
    expect((await findDestination(db(), id))!.lastError).toMatch(/^Its secret cannot be decrypted/);
    expect((await findDestination(db(), id))!.cursor).toBe(cursor);
    expect((await receiver.state()).requests).toBe(0);
  });
});

describe("an admin acting while a delivery is in flight", () => {
  it("keeps a resume made while a failing batch was on its way", async () => {
    const clock = fakeClock();
    const { id, receiver } = await newDestination("https", clock);
    await storeEvents(3, clock.now());
    await db()
      .update(auditDestinations)
      .set({ failingSince: clock.now() - 24 * 3_600_000, attempts: 12, nextAttemptAt: 0 })
      .where(eq(auditDestinations.id, id));
    await receiver.set({ fail: "always" });
    let release!: () => void;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    const slow = async (request: Request) => {
      await held;
      return fetch(request);
    };
    const run = deliverBatch(env, getDb(env.DB), id, clock.now(), slow);
    // The admin pauses and resumes while the batch is on its way.
    const admin = await makeAdmin();
    const destination = (await findDestination(db(), id))!;
    await pauseDestination(env, db(), destination, admin, { at: clock.now(), ip: null, userAgent: null });
    await resumeDestination(env, db(), (await findDestination(db(), id))!, admin, { at: clock.now(), ip: null, userAgent: null });
    release();
    await run;
    expect((await findDestination(db(), id))!).toMatchObject({ pausedAt: null, failingSince: null, attempts: 0, nextAttemptAt: 0 });
  });
});

describe("a Worker cut off mid-delivery", () => {
  it("sends the batch in flight again, and nothing else twice, when the cursor's write is lost", async () => {
    const clock = fakeClock();
    const { id, cursor, receiver } = await newDestination("https", clock);
    await storeEvents(STREAM_BATCH * 2, clock.now());
    // The receiver acknowledged; the Worker died before the cursor was stored.
    const cut = faultyD1(env.DB, (_, queries) => queries.some((q) => /^update "audit_destinations" set "cursor"/i.test(q)));
    await expect(deliverBatch({ ...env, DB: cut.db }, getDb(cut.db), id, clock.now(), send)).rejects.toThrow(/Failed query/);
    const firstBatch = (await receiver.state()).received;
    expect(firstBatch).toHaveLength(STREAM_BATCH);
    expect((await findDestination(db(), id))!.cursor).toBe(cursor);
    await deliverAll(id, clock);
    const state = await receiver.state();
    const counts = new Map<number, number>();
    for (const e of state.received) counts.set(e, (counts.get(e) ?? 0) + 1);
    expect([...counts].filter(([, n]) => n > 1).map(([e]) => e)).toEqual(firstBatch);
    await expectEveryEventInOrder(state.received, cursor);
  });

  it("sends nothing when the events cannot be read, and everything on the next run", async () => {
    const clock = fakeClock();
    const { id, cursor, receiver } = await newDestination("splunk", clock, "hec-token-2");
    await storeEvents(5, clock.now());
    const cut = faultyD1(env.DB, (_, queries) => queries.some((q) => /from "audit_events"/i.test(q)));
    await expect(deliverBatch({ ...env, DB: cut.db }, getDb(cut.db), id, clock.now(), send)).rejects.toThrow(/Failed query/);
    expect((await receiver.state()).requests).toBe(0);
    await deliverAll(id, clock);
    await expectEveryEventInOrder((await receiver.state()).received, cursor);
  });
});

describe("a destination failing for a day", () => {
  it("is paused, audited and told to the admins; resumed, it is sent everything it missed", async () => {
    const clock = fakeClock();
    const { id, cursor, receiver } = await newDestination("https", clock);
    const admin = await makeAdmin();
    await storeEvents(30, clock.now());
    await receiver.set({ fail: "always" });
    const start = clock.now();
    let paused = false;
    for (let i = 0; i < 100 && !paused; i++) {
      const run = await deliverBatch(env, getDb(env.DB), id, clock.now(), send);
      if (run.state !== "failed") throw new Error(`expected a failure, got ${run.state}`);
      paused = run.paused;
      if (!paused) clock.set(run.retryAt);
    }
    expect(paused).toBe(true);
    expect(clock.now() - start).toBeGreaterThanOrEqual(86_400_000);
    expect(clock.now() - start).toBeLessThan(86_400_000 + 3_600_000);
    // Paused: no more tries, however much time passes.
    clock.advance(3_600_000);
    expect(await deliverBatch(env, getDb(env.DB), id, clock.now(), send)).toEqual({ state: "paused" });
    const [entry] = await db()
      .select()
      .from(auditEvents)
      .where(sql`${auditEvents.event} = 'audit_stream.paused' AND json_extract(${auditEvents.details}, '$.destinationId') = ${id}`);
    expect(entry!.details).toMatchObject({ reason: "failing for 24 hours" });
    const mail = await db().select().from(mailOutbox).where(eq(mailOutbox.to, admin.email));
    expect(mail.map((m) => m.subject)).toContain(`Audit log streaming to ${(await findDestination(db(), id))!.name} is paused`);

    // The page says so; events stored meanwhile wait.
    await storeEvents(12, clock.now());
    const objects = kicksNoted();
    const client = browser({ clock, env: objects.env });
    await signIn(client, "agent", admin);
    const page = await (await client.get("/agent/settings/security/streaming")).text();
    const mine = tableRows(page, "destinations").find((r) => r.Address === receiver.url)!;
    expect(mine.Status).toBe("Paused: Failing for 24 hours.");
    expect(mine["Last error"]).toContain("HTTP 500");
    // 42 stored here, and the destination's "added", its "paused" and the admin's sign-in.
    const waiting = (await db().select().from(auditEvents).where(gt(auditEvents.id, cursor))).length;
    expect(waiting).toBe(45);
    expect(mine.Lag).toBe("45 events waiting, the oldest from 2026-11-22 09:00 UTC (25 h ago)");

    // Resumed from the page, once the receiver works again.
    await receiver.set({ fail: "none", now: Math.floor(clock.now() / 1000) });
    const resume = await client.post(`/agent/settings/security/streaming/${id}/resume`);
    expect(resume.status).toBe(303);
    await resume.text();
    expect(objects.kicks).toEqual([id]);
    await deliverAll(id, clock);
    await expectEveryEventInOrder((await receiver.state()).received, cursor);
    const after = tableRows(await (await client.get("/agent/settings/security/streaming")).text(), "destinations").find(
      (r) => r.Address === receiver.url,
    )!;
    expect(after).toMatchObject({ Status: "Active", Lag: "Up to date", "Last error": "None" });
  });
});

describe("Settings > Audit log streaming", () => {
  it("adds a Splunk destination whose own object then delivers in the background", async () => {
    const admin = await makeAdmin();
    const clock = fakeClock(Date.now());
    const client = browser({ clock });
    await signIn(client, "agent", admin);
    const receiver = await startReceiver("splunk", "hec-from-the-page");
    const add = await client.post("/agent/settings/security/streaming", {
      name: "Splunk Cloud",
      kind: "splunk",
      url: receiver.url,
      token: "hec-from-the-page",
    });
    expect(add.status).toBe(303);
    await add.text();
    const [row] = await db().select().from(auditDestinations).where(eq(auditDestinations.name, "Splunk Cloud"));
    expect(row!.sealedSecret).not.toContain("hec-from-the-page");
    // The destination's object was kicked: its alarm posts the "added" event without any help, and
    // stores its cursor once the receiver answered (waited for in real time, up to a minute on a busy machine).
    for (let waited = 0; waited < 60_000; waited += 100) {
      if ((await findDestination(db(), row!.id))?.lastDeliveredAt) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const state = await receiver.state();
    const [added] = await db()
      .select({ id: auditEvents.id })
      .from(auditEvents)
      .where(sql`${auditEvents.event} = 'audit_stream.added' AND json_extract(${auditEvents.details}, '$.destinationId') = ${row!.id}`);
    expect(state.received[0]).toBe(added!.id);
    const page = await (await client.get("/agent/settings/security/streaming")).text();
    const shown = tableRows(page, "destinations").find((r) => r.Name === "Splunk Cloud")!;
    expect(shown).toMatchObject({ Type: "Splunk HTTP Event Collector", Address: receiver.url, Status: "Active", "Last error": "None" });
    expect(shown["Last delivery"]).not.toBe("Never");
  });

  it("shows an HTTPS endpoint's secret once, and its test event passes the receiver's check", async () => {
    const admin = await makeAdmin();
    const clock = fakeClock(Date.now());
    const client = browser({ clock });
    await signIn(client, "agent", admin);
    const receiver = await startReceiver("https", "unknown yet");
    const add = await client.post("/agent/settings/security/streaming", { name: "Sentinel relay", kind: "https", url: receiver.url });
    const page = await add.text();
    expect(add.status).toBe(200);
    const secret = textOf(page, "[data-testid=new-secret] code.secret")!;
    expect(secret).toMatch(/^whsec_[a-z2-7]{52}$/);
    expect(await (await client.get("/agent/settings/security/streaming")).text()).not.toContain(secret);
    await receiver.set({ secret });
    const [row] = await db().select().from(auditDestinations).where(eq(auditDestinations.name, "Sentinel relay"));
    const tested = await client.post(`/agent/settings/security/streaming/${row!.id}/test`);
    expect(textOf(await tested.text(), "[role=status]")).toBe("Sentinel relay acknowledged the test event.");
    expect((await receiver.state()).received).toContain(0);
    // A wrong secret on the receiver's side is reported, not hidden.
    await receiver.set({ secret: "something else" });
    const failed = await client.post(`/agent/settings/security/streaming/${row!.id}/test`);
    expect(failed.status).toBe(502);
    expect(textOf(await failed.text(), "[role=alert]")).toBe(
      'The test event to Sentinel relay failed: HTTP 401: {"error":"bad signature"}',
    );
  });

  it("pauses, resumes and removes from the page, each audited; stopping one needs a fresh confirmation and tells the admins", async () => {
    const clock = fakeClock();
    const { id, receiver } = await newDestination("https", clock);
    const name = (await findDestination(db(), id))!.name;
    const admin = await makeAdmin({ name: `Ada ${crypto.randomUUID().slice(0, 4)}` });
    const other = await makeAdmin();
    const objects = kicksNoted();
    const client = browser({ clock, env: objects.env });
    await signIn(client, "agent", admin);
    const act = async (action: string) => {
      const r = await client.post(`/agent/settings/security/streaming/${id}/${action}`);
      return { status: r.status, location: r.headers.get("Location"), alert: textOf(await r.text(), "[role=alert]") };
    };
    expect(await act("resume")).toMatchObject({ status: 409, alert: `${name} is not paused: nothing was changed.` });
    expect(await act("pause")).toMatchObject({ status: 303, location: "/agent/settings/security/streaming?done=paused" });
    expect(await act("pause")).toMatchObject({ status: 409, alert: `${name} is already paused: nothing was changed.` });
    const row = () =>
      client
        .get("/agent/settings/security/streaming")
        .then((r) => r.text())
        .then((html) => tableRows(html, "destinations").find((r) => r.Address === receiver.url));
    expect((await row())!.Status).toBe(`Paused: Paused by ${admin.name}.`);
    const told = await db().select().from(mailOutbox).where(eq(mailOutbox.to, other.email));
    expect(told.map((m) => m.subject)).toContain(`Audit log streaming to ${name} was paused by ${admin.name}`);
    expect(await act("resume")).toMatchObject({ status: 303, location: "/agent/settings/security/streaming?done=resumed" });
    expect(objects.kicks).toEqual([id]);
    expect((await row())!.Status).toBe("Active");

    // Six minutes on, stopping it asks for a confirmation first, and changes nothing.
    clock.advance(6 * 60_000);
    expect((await act("remove")).status).toBe(401);
    expect(await findDestination(db(), id)).toBeDefined();
    const fresh = browser({ clock, env: objects.env });
    await signIn(fresh, "agent", admin);
    const removed = await fresh.post(`/agent/settings/security/streaming/${id}/remove`);
    await removed.text();
    expect(removed.status).toBe(303);
    expect(await findDestination(db(), id)).toBeUndefined();
    expect(await row()).toBeUndefined();
    const again = await fresh.post(`/agent/settings/security/streaming/${id}/remove`);
    expect([again.status, textOf(await again.text(), "[role=alert]")]).toEqual([
      404,
      "That destination does not exist (it may have been removed): nothing was changed.",
    ]);
    const events = await db()
      .select({ event: auditEvents.event, actorId: auditEvents.actorId })
      .from(auditEvents)
      .where(sql`json_extract(${auditEvents.details}, '$.destinationId') = ${id} AND ${auditEvents.actorId} IS NOT NULL`)
      .orderBy(auditEvents.id);
    expect(events.map((e) => e.event)).toEqual([
      "audit_stream.added",
      "audit_stream.paused",
      "audit_stream.resumed",
      "audit_stream.removed",
    ]);
    expect((await db().select().from(mailOutbox).where(eq(mailOutbox.to, other.email))).map((m) => m.subject)).toContain(
      `Audit log streaming to ${name} was removed by ${admin.name}`,
    );
  });

  it("brings a destination waiting out a long backoff forward when it is resumed", async () => {
    const clock = fakeClock(Date.now());
    const { id, receiver } = await newDestination("splunk", clock, "hec-token-4");
    const stub = env.AUDIT_STREAM_DO.get(env.AUDIT_STREAM_DO.idFromName(id));
    // Its object waits an hour for the next try, as after a long run of failures.
    await runInDurableObject(stub, async (_instance, state) => {
      await state.storage.put("destination", id);
      await state.storage.setAlarm(Date.now() + 3_600_000);
    });
    await db()
      .update(auditDestinations)
      .set({ pausedAt: clock.now(), pausedReason: "Paused by an admin.", nextAttemptAt: clock.now() + 3_600_000, attempts: 7 })
      .where(eq(auditDestinations.id, id));
    const admin = await makeAdmin();
    const client = browser({ clock });
    await signIn(client, "agent", admin);
    const resumed = await client.post(`/agent/settings/security/streaming/${id}/resume`);
    await resumed.text();
    expect(resumed.status).toBe(303);
    // Delivered within the minute this waits at most, not after the hour its old alarm was set for.
    for (let waited = 0; waited < 60_000; waited += 100) {
      if ((await findDestination(db(), id))?.lastDeliveredAt) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect((await findDestination(db(), id))!.lastDeliveredAt).not.toBeNull();
    expect((await receiver.state()).received.length).toBeGreaterThan(0);
  });

  it("refuses addresses production must not send to, and people without the permission, storing nothing", async () => {
    for (const [url, problem] of [
      ["http://siem.example.com/in", "The address must start with https://: audit events are never sent unencrypted."],
      ["https://127.0.0.1:8088/services/collector", "That address is on a private or local network"],
      ["https://10.1.2.3/in", "That address is on a private or local network"],
      ["https://169.254.169.254/latest", "That address is on a private or local network"],
      ["https://[::1]/in", "That address is on a private or local network"],
      ["https://[fd00::1]/in", "That address is on a private or local network"],
      ["https://splunk.internal/in", "That address is on a private or local network"],
      ["https://user:pass@siem.example.com/in", "Leave the user name and password out of the address."],
      ["siem.example.com", "Enter the full address, starting with https://."],
      ["https://localhost./in", "That address is on a private or local network"],
      ["https://splunk.internal./in", "That address is on a private or local network"],
      ["https://2130706433/in", "That address is on a private or local network"],
      ["https://0177.0.0.1/in", "That address is on a private or local network"],
      ["https://[::127.0.0.1]/in", "That address is on a private or local network"],
      ["https://[::ffff:10.0.0.1]/in", "That address is on a private or local network"],
      ["https://[64:ff9b::a9fe:a9fe]/in", "That address is on a private or local network"],
      ["https://[fec0::1]/in", "That address is on a private or local network"],
      ["https://[ff02::1]/in", "That address is on a private or local network"],
      ["https://[fe80::1]/in", "That address is on a private or local network"],
      ["https://192.0.0.8/in", "That address is on a private or local network"],
      ["https://198.18.0.1/in", "That address is on a private or local network"],
      ["https://100.64.0.1/in", "That address is on a private or local network"],
      ["https://224.0.0.1/in", "That address is on a private or local network"],
      ["https://255.255.255.255/in", "That address is on a private or local network"],
    ] as const) {
      expect(destinationUrlProblem(url, "production"), url).toContain(problem);
    }
    for (const allowed of [
      "https://siem.example.com/in",
      "https://10.example.com/in",
      "https://[2606:4700::1111]/in",
      "https://8.8.8.8/in",
    ])
      expect(destinationUrlProblem(allowed, "production"), allowed).toBeNull();
    expect(destinationUrlProblem("http://127.0.0.1:9999/in", "development")).toBeNull();

    const admin = await makeAdmin();
    const production = browser({ env: deployedEnv() });
    await signIn(production, "agent", admin);
    const before = (await db().select().from(auditDestinations)).length;
    const refused = await production.post("/agent/settings/security/streaming", {
      name: "Local",
      kind: "https",
      url: "http://127.0.0.1:9/in",
    });
    expect(refused.status).toBe(400);
    expect(textOf(await refused.text(), "[role=alert]")).toContain("https://");
    const dashed = await production.post("/agent/settings/security/streaming", {
      name: "Pasted",
      kind: "splunk",
      url: "https://splunk.example.com/x",
      token: "8f3a2c1e–0000",
    });
    expect(dashed.status).toBe(400);
    expect(textOf(await dashed.text(), "[role=alert]")).toBe(
      "The HEC token holds a character a token cannot have: copy it again from Splunk.",
    );
    const noToken = await production.post("/agent/settings/security/streaming", {
      name: "No token",
      kind: "splunk",
      url: "https://splunk.example.com/x",
    });
    expect(noToken.status).toBe(400);
    expect(textOf(await noToken.text(), "[role=alert]")).toBe("Enter the HTTP Event Collector token Splunk gave you.");

    const manager = await makeAgent({ roleId: await makeRole(["manageAgents"]) });
    const client = browser();
    await signIn(client, "agent", manager);
    const page = await client.get("/agent/settings/security/streaming");
    expect(page.status).toBe(403);
    await page.text();
    const post = await client.post("/agent/settings/security/streaming", {
      name: "Mine",
      kind: "https",
      url: "https://siem.example.com/in",
    });
    expect(post.status).toBe(403);
    await post.text();
    expect((await db().select().from(auditDestinations)).length).toBe(before);
  });
});
