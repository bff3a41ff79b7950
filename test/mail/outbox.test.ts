// The durable outbox: every mail a page promises is stored with its cause, sent after the response,
// and tried again each minute (backing off) until delivered or a day has passed. Mail is failed here
// for a while (as a dropped connection, then as a refusal), then let through; what arrives is
// counted by the Message-ID Email Service gave it.
import { createScheduledController, env, runDurableObjectAlarm } from "cloudflare:test";
import { and, eq, inArray } from "drizzle-orm";
import { beforeAll, describe, expect, it } from "vitest";
import worker from "../../src/index";
import { userStub } from "../../src/auth/user-object";
import { auditEvents, devMailbox, mailOutbox, notMeLinks, passwordResets, resetRequests } from "../../src/db/schema";
import { DAY, MINUTE } from "../../src/lib/clock";
import { deliverDueMail, OUTBOX_CRON, storeWithNotices } from "../../src/mail/outbox";
import { backoff } from "../../src/lib/backoff";
import { browser, type Browser, type FakeClock, fakeClock } from "../helpers/app";
import { signIn } from "../helpers/auth";
import { failingBatches, failingStatements, faultyD1, objectsWith, switchableEmail } from "../helpers/faults";
import { db, makeAdmin, makeAgent, makeContact } from "../helpers/factories";
import { enrollThroughPages, postPassword, setMfa } from "../helpers/mfa";
import { labelled, shown, cellText } from "../helpers/html";

const PHONE =
  "Mozilla/5.0 (iPhone; CPU iPhone OS 19_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/19.0 Mobile/15E148 Safari/604.1";

beforeAll(async () => {
  for (const portal of ["agent", "support"] as const) await setMfa(portal, { authenticatorApp: false, emailOtp: false });
});

async function reauthenticatedAdmin(clock: FakeClock, mailEnv: Partial<Env>) {
  const admin = await makeAdmin();
  const client = browser({ clock, env: mailEnv });
  await signIn(client, "agent", admin);
  const confirmed = await client.post("/agent/reauth", { current: admin.password, next: "/agent" });
  await confirmed.text();
  expect(confirmed.status).toBe(303);
  return { admin, client };
}

/** The minute's scheduled run, as Cloudflare starts it, with the mail binding the test controls. */
async function minuteRun(at: number, mail: SendEmail) {
  await worker.scheduled(createScheduledController({ scheduledTime: at, cron: OUTBOX_CRON }), { ...env, EMAIL: mail });
}

const outboxTo = (addresses: string[]) => db().select().from(mailOutbox).where(inArray(mailOutbox.to, addresses));
const deliveredTo = (addresses: string[]) => db().select().from(devMailbox).where(inArray(devMailbox.to, addresses)).orderBy(devMailbox.id);

async function post(client: Browser, path: string, form: Record<string, string> = {}) {
  const response = await client.post(path, form);
  return { status: response.status, location: response.headers.get("Location"), text: await shown(response) };
}

describe("the outbox", () => {
  it("delivers every promised mail once, by Message-ID, after mail failed for a while", async () => {
    const clock = fakeClock();
    const mail = switchableEmail(env.EMAIL);
    const failing = { EMAIL: mail.binding };
    const contact = await makeContact();
    const agent = await makeAgent();
    const other = await makeAgent();
    await signIn(browser({ clock }), "support", contact);
    mail.state.down = "retryable";

    // A stranger's browser: the alert is queued with the browser becoming known.
    await signIn(browser({ clock, env: failing, ip: "203.0.113.7", userAgent: PHONE }), "support", contact);
    // Forgotten password: the same page for everyone, the link queued.
    const forgot = await post(browser({ clock, env: failing }), "/support/login/forgot", { email: contact.email });
    expect(cellText(forgot.text)).toContain("we have emailed it a link");
    const { admin, client } = await reauthenticatedAdmin(clock, failing);
    const pass = await post(client, `/agent/admin/people/${agent.id}/access-pass`, { minutes: "60" });
    expect(pass.status).toBe(200);
    expect(pass.text).toContain(agent.email);
    expect((await post(client, `/agent/admin/people/${other.id}/reset-mfa`)).status).toBe(303);
    expect((await post(client, `/agent/admin/agents/${other.id}/password`, { password: "a password the admin chose 77" })).status).toBe(
      303,
    );

    const addresses = [contact.email, agent.email, other.email];
    const expected = [
      [contact.email, "New sign-in to your EdgeDesk account"],
      [contact.email, "Reset your EdgeDesk password"],
      [agent.email, "A temporary access pass was issued for your EdgeDesk account"],
      [other.email, "Your EdgeDesk two-step verification was reset"],
      [other.email, "Your EdgeDesk password was set by an administrator"],
    ]
      .map(([to, subject]) => `${to} ${subject}`)
      .sort();
    const queued = await outboxTo(addresses);
    expect(queued.map((m) => `${m.to} ${m.subject}`).sort()).toEqual(expected);
    expect(queued.every((m) => m.sentAt === null && m.attempts === 1 && m.lastError?.includes("Network connection lost"))).toBe(true);
    // Nothing of a one-time link is readable in the table while it waits.
    const resetRow = queued.find((m) => m.subject.startsWith("Reset"))!;
    expect(resetRow.sealedText).toMatch(/^v2\./);
    expect(resetRow.sealedText).not.toContain("/login/reset/");
    expect(await deliveredTo(addresses)).toHaveLength(0);
    expect(mail.state.refusals).toBe(5);

    // Not due yet: a run 10 seconds on tries nothing.
    clock.advance(10_000);
    await minuteRun(clock.now(), mail.binding);
    expect(mail.state.refusals).toBe(5);

    // The service refuses (no retryable mark) for a few minutes: tried again, backing off.
    mail.state.down = "refused";
    clock.advance(MINUTE);
    await minuteRun(clock.now(), mail.binding);
    expect(mail.state.refusals).toBe(10);
    const afterSecond = await outboxTo(addresses);
    // Due again a backoff after it failed (the run's clock moves on from its scheduled moment).
    expect(
      afterSecond.every((m) => m.attempts === 2 && m.dueAt >= clock.now() + backoff(2) && m.dueAt < clock.now() + backoff(2) + 5_000),
    ).toBe(true);
    clock.advance(2 * MINUTE);
    await minuteRun(clock.now(), mail.binding);
    expect(mail.state.refusals).toBe(15);

    // Mail comes back: the next due run delivers everything.
    mail.state.down = null;
    clock.advance(3 * MINUTE);
    await minuteRun(clock.now(), mail.binding);
    const delivered = await deliveredTo(addresses);
    expect(delivered.map((m) => `${m.to} ${m.subject}`).sort()).toEqual(expected);
    const ids = delivered.map((m) => m.messageId);
    expect(ids.every((id) => typeof id === "string" && id.length > 0)).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
    const sent = await outboxTo(addresses);
    expect(
      sent.every((m) => m.sentAt! >= clock.now() && m.sentAt! < clock.now() + 5_000 && m.sealedText === "" && ids.includes(m.messageId)),
    ).toBe(true);

    // Later runs send nothing again.
    clock.advance(10 * MINUTE);
    await minuteRun(clock.now(), mail.binding);
    expect(await deliveredTo(addresses)).toHaveLength(expected.length);

    // The links in what arrived work.
    const alert = delivered.find((m) => m.subject.startsWith("New sign-in"))!;
    const notMe = /This wasn't me: https:\/\/edgedesk\.test(\/support\/login\/not-me\/[a-z2-7]{32})/.exec(alert.body)![1]!;
    expect((await browser({ clock }).get(notMe)).status).toBe(200);
    const reset = delivered.find((m) => m.subject.startsWith("Reset"))!;
    const resetPath = /https:\/\/edgedesk\.test(\/support\/login\/reset\/[a-z2-7]{32})/.exec(reset.body)![1]!;
    expect((await browser({ clock }).get(resetPath)).status).toBe(200);
    expect(admin.id).toBeTruthy();
  });

  it("tells a person their temporary access pass was used, once mail is back", async () => {
    const clock = fakeClock();
    await setMfa("support", { authenticatorApp: true, emailOtp: false });
    try {
      const contact = await makeContact();
      await enrollThroughPages(browser({ clock }), "support", contact, clock);
      const { client } = await reauthenticatedAdmin(clock, {});
      const issued = await client.post(`/agent/admin/people/${contact.id}/access-pass`, { minutes: "60" });
      const html = await issued.text();
      const pass = labelled(html, "Temporary access pass")?.getAttribute("value") ?? "";
      expect(pass).toMatch(/\S{8,}/);

      const mail = switchableEmail(env.EMAIL);
      mail.state.down = "refused";
      const person = browser({ clock, env: { EMAIL: mail.binding } });
      expect((await postPassword(person, "support", contact)).headers.get("Location")).toBe("/support/login/verify");
      const used = await person.post("/support/login/verify/pass", { code: pass });
      await used.text();
      expect(used.headers.get("Location")).toBe("/support/login/enroll");
      const owed = (await outboxTo([contact.email])).filter((m) => m.subject === "Your EdgeDesk temporary access pass was used");
      expect(owed).toHaveLength(1);
      expect(owed[0]!.sentAt).toBeNull();

      mail.state.down = null;
      clock.advance(MINUTE);
      await minuteRun(clock.now(), mail.binding);
      const delivered = (await deliveredTo([contact.email])).filter((m) => m.subject === "Your EdgeDesk temporary access pass was used");
      expect(delivered).toHaveLength(1);
      expect(delivered[0]!.messageId).toBe((await outboxTo([contact.email])).find((m) => m.id === owed[0]!.id)!.messageId);
    } finally {
      await setMfa("support", { authenticatorApp: false, emailOtp: false });
    }
  });

  it("gives a message up after a day of failures, audited, its text erased", async () => {
    const clock = fakeClock();
    const mail = switchableEmail(env.EMAIL);
    mail.state.down = "refused";
    const contact = await makeContact();
    const { admin, client } = await reauthenticatedAdmin(clock, { EMAIL: mail.binding });
    await post(client, `/agent/admin/people/${contact.id}/access-pass`, { minutes: "60" });
    // The minute's run at each moment the message falls due (the runs between find nothing due),
    // until it is given up; a run a minute early finds nothing to try.
    for (let runs = 0; ; runs++) {
      const [waiting] = await outboxTo([contact.email]);
      if (waiting!.gaveUpAt !== null) break;
      expect(runs, "given up within a day").toBeLessThan(60);
      const tries = waiting!.attempts;
      await minuteRun(waiting!.dueAt - MINUTE, mail.binding);
      expect((await outboxTo([contact.email]))[0]!.attempts).toBe(tries);
      clock.set(waiting!.dueAt);
      await minuteRun(clock.now(), mail.binding);
    }
    const [row] = await outboxTo([contact.email]);
    expect(row!.sentAt).toBeNull();
    expect(row!.gaveUpAt).not.toBeNull();
    expect(row!.gaveUpAt! - row!.createdAt).toBeLessThanOrEqual(DAY + MINUTE);
    expect(row!.sealedText).toBe("");
    // Backing off: tries at most an hour apart after the first few, never one per run.
    expect(row!.attempts).toBeGreaterThan(20);
    expect(row!.attempts).toBeLessThan(40);
    const given = await db()
      .select()
      .from(auditEvents)
      .where(and(eq(auditEvents.event, "mail.undeliverable"), eq(auditEvents.targetId, contact.id)));
    expect(given).toHaveLength(1);
    expect(given[0]!.details).toMatchObject({ subject: "A temporary access pass was issued for your EdgeDesk account", to: contact.email });
    expect(admin.id).toBeTruthy();
  });

  it("hands each message over once when two runs meet", async () => {
    const now = fakeClock().now();
    const to = Array.from({ length: 6 }, (_, i) => `outbox-race-${i}-${crypto.randomUUID()}@example.com`);
    await storeWithNotices(
      env,
      db(),
      [],
      to.map((address) => ({ userId: null, to: address, subject: "Race", text: "Once." })),
      now,
    );
    const at = { now: () => now };
    const runs = await Promise.all([deliverDueMail(env, at), deliverDueMail(env, at), deliverDueMail(env, at)]);
    expect(runs.reduce((n, r) => n + r.sent, 0)).toBe(6);
    expect(await deliveredTo(to)).toHaveLength(6);
  });

  it("does not send a message again when recording that it was sent fails once", async () => {
    const now = fakeClock().now();
    const to = `outbox-record-${crypto.randomUUID()}@example.com`;
    await storeWithNotices(env, db(), [], [{ userId: null, to, subject: "Recorded", text: "Once." }], now);
    // Recording it sent fails once (its second try goes through).
    const faulty = failingStatements(env.DB, /set "sent_at"/);
    expect(await deliverDueMail({ ...env, DB: faulty }, { now: () => now })).toMatchObject({ sent: 1, failed: 0 });
    for (const later of [3, 10, 60]) await deliverDueMail(env, { now: () => now + later * MINUTE });
    const [row] = await outboxTo([to]);
    expect(row).toMatchObject({ attempts: 1, sealedText: "", gaveUpAt: null });
    expect(row!.sentAt).not.toBeNull();
    expect(await deliveredTo([to])).toHaveLength(1);
  });

  it("claims each message at its own moment, and a run stops at its time budget", async () => {
    const now = fakeClock().now();
    const mail = switchableEmail(env.EMAIL);
    mail.state.down = "refused";
    const to = Array.from({ length: 3 }, (_, i) => `outbox-slow-${i}-${crypto.randomUUID()}@example.com`);
    await storeWithNotices(
      env,
      db(),
      [],
      to.map((address) => ({ userId: null, to: address, subject: "Slow", text: "Slow." })),
      now,
    );
    // Each reading of the clock finds 20 seconds gone: a run slowed down by its sends.
    let t = now;
    const slow = { now: () => (t += 20_000) };
    const counts = await deliverDueMail({ ...env, EMAIL: mail.binding }, slow);
    expect(counts.failed).toBeLessThan(3);
    const rows = await outboxTo(to);
    const tried = rows.filter((r) => r.attempts === 1);
    expect(tried.length).toBe(counts.failed);
    // Each one's next try counts from when it failed, not from when the run began.
    expect(new Set(tried.map((r) => r.dueAt)).size).toBe(tried.length);
    expect(tried.every((r) => r.dueAt > now + backoff(1))).toBe(true);
    expect(rows.filter((r) => r.attempts === 0)).toHaveLength(3 - counts.failed);
  });

  it("does not send a reset link after it has expired: given up, and audited", async () => {
    const clock = fakeClock();
    const contact = await makeContact();
    const mail = switchableEmail(env.EMAIL);
    mail.state.down = "retryable";
    await post(browser({ clock, env: { EMAIL: mail.binding } }), "/support/login/forgot", { email: contact.email });
    expect((await outboxTo([contact.email])).map((m) => m.subject)).toEqual(["Reset your EdgeDesk password"]);
    // Mail is back only after the link's 30 minutes.
    clock.advance(31 * MINUTE);
    mail.state.down = null;
    await minuteRun(clock.now(), mail.binding);
    expect(await deliveredTo([contact.email])).toHaveLength(0);
    const [row] = await outboxTo([contact.email]);
    expect(row!.gaveUpAt).not.toBeNull();
    expect(row!.sealedText).toBe("");
    const given = await db()
      .select()
      .from(auditEvents)
      .where(and(eq(auditEvents.event, "mail.undeliverable"), eq(auditEvents.targetId, contact.id)));
    expect(given.map((g) => g.details)).toEqual([
      expect.objectContaining({ subject: "Reset your EdgeDesk password", why: expect.stringMatching(/expired|in time/) }),
    ]);
  });

  it("never leaves a browser known without its alert: the person's object stores what D1 refused", async () => {
    // The object's alarm keeps real time: so does this test.
    const clock = fakeClock(Date.now());
    const contact = await makeContact();
    await signIn(browser({ clock }), "support", contact);
    // D1 refuses the batch that would store the alert with its link and audit row: the sign-in
    // itself goes through, and nothing of the alert is in D1.
    const phone = browser({ clock, ip: "203.0.113.9", userAgent: PHONE, env: { DB: failingBatches(env.DB) } });
    await signIn(phone, "support", contact);
    const linksOf = () => db().select().from(notMeLinks).where(eq(notMeLinks.userId, contact.id));
    const alertAudit = () =>
      db()
        .select()
        .from(auditEvents)
        .where(and(eq(auditEvents.event, "sign_in.new_device"), eq(auditEvents.targetId, contact.id)));
    expect(await linksOf()).toHaveLength(0);
    expect(await outboxTo([contact.email])).toHaveLength(0);
    expect(await alertAudit()).toHaveLength(0);

    // The object's alarm (a minute on, D1 healthy again) stores and sends it, once.
    const stub = userStub(env, contact.id);
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect((await deliveredTo([contact.email])).map((m) => m.subject)).toEqual(["New sign-in to your EdgeDesk account"]);
    expect(await linksOf()).toHaveLength(1);
    expect(await alertAudit()).toHaveLength(1);
    const delivered = (await deliveredTo([contact.email]))[0]!;
    expect(delivered.body).toContain("From: 203.0.113.9");
    await runDurableObjectAlarm(stub);
    expect(await deliveredTo([contact.email])).toHaveLength(1);

    // The browser is known: signing in from it again tells nobody again.
    clock.advance(MINUTE);
    await signIn(browser({ clock, ip: "203.0.113.9", userAgent: PHONE, cookiesOf: phone }), "support", contact);
    expect(await deliveredTo([contact.email])).toHaveLength(1);
  });

  it("asks the person's object again when it drops a sighting as retryable, so the alert still goes", async () => {
    const clock = fakeClock(Date.now());
    const contact = await makeContact();
    await signIn(browser({ clock }), "support", contact);
    let drops = 1;
    const flaky = objectsWith(env.USER_DO, "noteSignInDevice", async (real, ...args) => {
      if (drops-- > 0) throw Object.assign(new Error("Network connection lost. (injected by the test)"), { retryable: true });
      return real(...args);
    });
    await signIn(browser({ clock, ip: "203.0.113.11", userAgent: PHONE, env: { USER_DO: flaky } }), "support", contact);
    expect(drops).toBe(-1);
    expect((await deliveredTo([contact.email])).map((m) => m.subject)).toEqual(["New sign-in to your EdgeDesk account"]);
  });

  it("stores an alert once when the request stored it but could not say so", async () => {
    const clock = fakeClock(Date.now());
    const contact = await makeContact();
    await signIn(browser({ clock }), "support", contact);
    // The request stores and sends the alert; marking it paid in the object is lost.
    const stub = userStub(env, contact.id);
    const forgetful = objectsWith(env.USER_DO, "alertStored", async () =>
      Promise.reject(new Error("Network connection lost. (injected by the test)")),
    );
    await signIn(browser({ clock, ip: "203.0.113.10", userAgent: PHONE, env: { USER_DO: forgetful } }), "support", contact);
    expect(await deliveredTo([contact.email])).toHaveLength(1);
    // The alarm finds the alert already in the outbox: no second mail, link or audit row.
    await runDurableObjectAlarm(stub);
    expect(await deliveredTo([contact.email])).toHaveLength(1);
    expect(await db().select().from(notMeLinks).where(eq(notMeLinks.userId, contact.id))).toHaveLength(1);
    expect(
      await db()
        .select()
        .from(auditEvents)
        .where(and(eq(auditEvents.event, "sign_in.new_device"), eq(auditEvents.targetId, contact.id))),
    ).toHaveLength(1);
  });

  it("keeps the promise of a reset link when the work after the answer fails, and says so when it cannot take the request", async () => {
    const clock = fakeClock();
    const contact = await makeContact();
    const resetsOf = () => db().select().from(passwordResets).where(eq(passwordResets.userId, contact.id));
    const asked = () =>
      db()
        .select()
        .from(auditEvents)
        .where(and(eq(auditEvents.event, "password_reset.requested"), eq(auditEvents.targetId, contact.id)));
    // D1 takes the request, then refuses the batch that would store the link, its mail and audit row.
    const forgot = await post(browser({ clock, env: { DB: failingBatches(env.DB) } }), "/support/login/forgot", { email: contact.email });
    expect(forgot.status).toBe(200);
    expect(cellText(forgot.text)).toContain(`If an account on the support portal uses ${contact.email}, we have emailed it a link`);
    expect(await resetsOf()).toHaveLength(0);
    expect(await outboxTo([contact.email])).toHaveLength(0);
    expect(await asked()).toHaveLength(0);

    // Not before its backoff; then the minute's run answers it, and the mail goes out once.
    await minuteRun(clock.now() + 1_000, env.EMAIL);
    expect(await resetsOf()).toHaveLength(0);
    clock.advance(MINUTE);
    await minuteRun(clock.now(), env.EMAIL);
    expect(await resetsOf()).toHaveLength(1);
    expect(await asked()).toHaveLength(1);
    const delivered = await deliveredTo([contact.email]);
    expect(delivered.map((m) => m.subject)).toEqual(["Reset your EdgeDesk password"]);
    const link = /https:\/\/edgedesk\.test(\/support\/login\/reset\/[a-z2-7]{32})/.exec(delivered[0]!.body)![1]!;
    expect((await browser({ clock }).get(link)).status).toBe(200);
    clock.advance(MINUTE);
    await minuteRun(clock.now(), env.EMAIL);
    expect(await deliveredTo([contact.email])).toHaveLength(1);
    expect(await db().select().from(resetRequests)).toEqual([]);

    // D1 refusing the request itself: the page says it was not taken, and nothing is promised.
    const down = await post(browser({ clock, env: { DB: faultyD1(env.DB).db } }), "/support/login/forgot", { email: contact.email });
    expect(down.status).toBe(503);
    expect(down.text).not.toContain("we have emailed");
  });
});
