// A finished sign-in and its audit entry go together: the entry is recorded by the person's
// object with the session's own change, and everything else a finished sign-in does (the
// browser vouched for, the new-device check) happens before the session moves on.
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { beforeEach, describe, expect, it } from "vitest";
import { owedAudit } from "../../src/auth/owed-audits";
import { userStub } from "../../src/auth/user-object";
import { browser, fakeClock } from "../helpers/app";
import { signIn } from "../helpers/auth";
import { makeAgent, makeContact } from "../helpers/factories";
import { refusingAuditEntries } from "../helpers/faults";
import { extract, latestEmailCode, postPassword, setMfa, totpCode } from "../helpers/mfa";

beforeEach(async () => {
  await setMfa("agent", { authenticatorApp: false, emailOtp: false });
  await setMfa("support", { authenticatorApp: false, emailOtp: false });
});

/** A LIMITER_DO whose `knowBrowser` (a finished sign-in vouching for its browser) fails as an overloaded object does. */
function knowingNoBrowser(real: Env["LIMITER_DO"]): Env["LIMITER_DO"] {
  const failing = async () => {
    throw Object.assign(new Error("Durable Object is overloaded. Requests queued for too long."), { overloaded: true });
  };
  // An RPC stub answers every property name with a method, so each is passed through by name.
  const wrapStub = <T extends object>(stub: T): T =>
    new Proxy(stub, {
      get(target, prop) {
        if (prop === "knowBrowser") return failing;
        if (prop === "then") return undefined;
        return (...args: unknown[]) => (target as Record<PropertyKey, (...a: unknown[]) => unknown>)[prop]!(...args);
      },
    });
  return new Proxy(real, {
    get(target, prop) {
      if (prop === "get") return (id: DurableObjectId) => wrapStub(target.get(id));
      if (prop === "getByName") return (name: string) => wrapStub(target.getByName(name));
      const value = Reflect.get(target, prop, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

async function signInEntries(userId: string): Promise<number> {
  const row = await env.DB.prepare("SELECT count(*) AS n FROM audit_events WHERE event = 'sign_in.succeeded' AND actor_id = ?")
    .bind(userId)
    .first<{ n: number }>();
  return row!.n;
}

describe("a finished sign-in's audit entry", () => {
  it("a second step whose browser cannot be vouched for leaves the session at the second step", async () => {
    await setMfa("support", { emailOtp: true });
    const clock = fakeClock();
    const contact = await makeContact();
    const faults: Partial<Env> = {};
    const client = browser({ clock, env: faults });
    await postPassword(client, "support", contact);
    const code = await latestEmailCode(contact.email);
    faults.LIMITER_DO = knowingNoBrowser(env.LIMITER_DO);
    const verified = await client.post("/support/login/verify/email", { code });
    await verified.text();
    expect(verified.status).toBe(503);
    delete faults.LIMITER_DO;
    const home = await client.get("/support");
    await home.text();
    // Still half-way: the portal sends the browser back to its second step.
    expect([home.status, home.headers.get("Location")]).toEqual([303, "/support/login/verify"]);
    expect(await signInEntries(contact.id)).toBe(0);
  });

  it("finishing after the recovery codes while D1 refuses audit entries: signed in, and the entry stored once by the person's object", async () => {
    await setMfa("agent", { authenticatorApp: true });
    const clock = fakeClock();
    const agent = await makeAgent();
    const faults: Partial<Env> = {};
    const client = browser({ clock, env: faults });
    await postPassword(client, "agent", agent);
    const manualKey = extract(await (await client.get("/agent/login/enroll")).text(), "totp-secret");
    await (await client.post("/agent/login/enroll", { code: totpCode(manualKey, clock.now()) })).text();
    await (await client.get("/agent/login/recovery-codes")).text();
    faults.DB = refusingAuditEntries(env.DB);
    const finished = await client.post("/agent/login/finish");
    await finished.text();
    expect(finished.status).toBe(303);
    delete faults.DB;
    const home = await client.get("/agent");
    await home.text();
    expect(home.status).toBe(200);
    expect(await signInEntries(agent.id)).toBe(0);
    await runDurableObjectAlarm(userStub(env, agent.id));
    expect(await signInEntries(agent.id)).toBe(1);
    await runDurableObjectAlarm(userStub(env, agent.id));
    expect(await signInEntries(agent.id)).toBe(1);
  });
});

describe("an entry the person's object owes when the person is removed", () => {
  const owedCount = (person: ReturnType<typeof userStub>) =>
    runInDurableObject(person, (_instance, state) => ({
      owed: state.storage.sql.exec<{ n: number }>("SELECT count(*) AS n FROM audits_owed").one().n,
      sessions: state.storage.sql.exec<{ n: number }>("SELECT count(*) AS n FROM sessions").one().n,
    }));
  const storedSignOuts = async (id: string) =>
    (await env.DB.prepare("SELECT count(*) AS n FROM audit_events WHERE event = 'sign_out' AND actor_id = ?")
      .bind(id)
      .first<{ n: number }>())!.n;

  it("is stored as the object is erased, before the removal writes the pseudonym over the log", async () => {
    const contact = await makeContact();
    await signIn(browser(), "support", contact);
    const person = userStub(env, contact.id);
    // As a request leaves it when D1 then fails: the change and its owed entry, nothing in D1 yet.
    const notice = { userId: contact.id, to: contact.email, subject: "Signed out", text: "Hello" };
    const entry = owedAudit({ event: "sign_out", portal: "support", actorId: contact.id }, { at: Date.now(), ip: null, userAgent: null }, [
      notice,
    ]);
    expect(await person.revokeAllSessions(undefined, [entry])).toBe(1);
    expect(await storedSignOuts(contact.id)).toBe(0);
    await person.eraseEverything(contact.id);
    expect(await owedCount(person)).toEqual({ owed: 0, sessions: 0 });
    expect(await storedSignOuts(contact.id)).toBe(1);
    // Removing someone removes their mail: what the entry owed them is not queued.
    const queued = await env.DB.prepare("SELECT count(*) AS n FROM mail_outbox WHERE to_address = ?")
      .bind(contact.email)
      .first<{ n: number }>();
    expect(queued!.n).toBe(0);
  });

  it("is kept, and stored by the alarm, under their pseudonym and without their mail, when D1 refuses it as the object is erased", async () => {
    const contact = await makeContact();
    await signIn(browser(), "support", contact);
    const person = userStub(env, contact.id);
    const notice = { userId: contact.id, to: contact.email, subject: "Signed out", text: "Hello" };
    const entry = owedAudit(
      { event: "sign_out", portal: "support", actorId: contact.id, details: { email: contact.email, scope: "all" } },
      { at: Date.now(), ip: null, userAgent: null },
      [notice],
    );
    expect(await person.revokeAllSessions(undefined, [entry])).toBe(1);
    const pseudonymise = { emails: [contact.email], pseudonym: "Removed contact ABCDEFGHIJ" };
    await runInDurableObject(person, async (instance) => {
      const object = instance as unknown as { env: Env };
      const real = object.env;
      object.env = { ...real, DB: refusingAuditEntries(real.DB) };
      try {
        await instance.eraseEverything(contact.id, pseudonymise);
      } finally {
        object.env = real;
      }
    });
    expect(await owedCount(person)).toEqual({ owed: 1, sessions: 0 });
    expect(await storedSignOuts(contact.id)).toBe(0);
    await runDurableObjectAlarm(person);
    expect(await storedSignOuts(contact.id)).toBe(1);
    const stored = await env.DB.prepare("SELECT details FROM audit_events WHERE event_key = ?")
      .bind(entry.key)
      .first<{ details: string }>();
    expect(JSON.parse(stored!.details)).toEqual({ email: "Removed contact ABCDEFGHIJ", scope: "all", count: 1 });
    const queued = await env.DB.prepare("SELECT count(*) AS n FROM mail_outbox WHERE to_address = ?")
      .bind(contact.email)
      .first<{ n: number }>();
    expect(queued!.n).toBe(0);
  });
});
