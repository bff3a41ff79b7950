// The parts EdgeDesk depends on fail. Each failure is injected into the env the app
// sees (test/helpers/faults.ts); the real D1, KV and Durable Objects do the work until it fires.
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { desc, eq } from "drizzle-orm";
import { beforeEach, describe, expect, it } from "vitest";
import { sessionCookieName } from "../../src/request/session-cookie";
import { userStub } from "../../src/auth/user-object";
import { newId } from "../../src/lib/crypto";
import { auditEvents } from "../../src/db/schema";
import { verifyPassword } from "../../src/auth/password";
import { findUserByEmail, findUserById } from "../../src/auth/users";
import { browser, fakeClock } from "../helpers/app";
import type { Clock } from "../../src/lib/clock";
import { signIn } from "../helpers/auth";
import { db, makeAdmin, makeAgent, makeContact } from "../helpers/factories";
import { portalStateTtlMs } from "../../src/portal/state-cache";
import { droppingEmail, failingEmail, faultyD1, faultyNamespace, overloadedOnce } from "../helpers/faults";
import { makeGroup, makeLocation, seedAssets } from "../helpers/inventory";
import { makeRole } from "../helpers/roles";
import { latestEmailCode, mailCount, postPassword, setMfa } from "../helpers/mfa";
import { find, cellText } from "../helpers/html";

beforeEach(async () => {
  await setMfa("agent", { authenticatorApp: false, emailOtp: false });
  await setMfa("support", { authenticatorApp: false, emailOtp: false });
});

/** A signed-in admin whose later requests see `faults` laid over the real bindings. */
/** A browser signed in as `person`, whose requests see the bindings later put in `faults`. */
async function signedInWithFaults(portal: "agent" | "support", person: { email: string; password: string }, clock?: Clock) {
  const faults: Partial<Env> = {};
  const client = browser({ clock, env: faults });
  await signIn(client, portal, person);
  return { client, faults };
}

async function adminWithFaults() {
  const admin = await makeAdmin();
  return { admin, ...(await signedInWithFaults("agent", admin)) };
}

async function read(response: Response) {
  return { status: response.status, retryAfter: response.headers.get("Retry-After"), body: await response.text() };
}

describe("a missing or malformed secret", () => {
  it("stops every page with a 503 naming the secret and how to set it", async () => {
    for (const name of ["ENCRYPTION_KEY", "HMAC_KEY"] as const) {
      for (const value of ["", "not base64!", "c2hvcnQ="]) {
        const r = await read(await browser({ env: { [name]: value } }).get("/agent/login"));
        expect(r.status, `${name}=${value}`).toBe(503);
        expect(cellText(r.body)).toContain(`The secret ${name} is missing or malformed`);
        expect(cellText(r.body)).toContain(`wrangler secret put ${name}`);
      }
    }
    expect((await read(await browser().get("/agent/login"))).status).toBe(200);
  });
});

describe("send_email failing", () => {
  it("says the code could not be sent, marks nothing sent, and starts no cooldown", async () => {
    await setMfa("support", { emailOtp: true });
    const contact = await makeContact();
    const faults: Partial<Env> = { EMAIL: failingEmail };
    const client = browser({ env: faults });
    const signedIn = await postPassword(client, "support", contact);
    expect(signedIn.headers.get("Location")).toBe("/support/login/verify?method=email&unsent=1");
    const page = await read(await client.get(signedIn.headers.get("Location")!));
    expect(cellText(page.body)).toContain("We could not send the code. Try again in a moment.");
    expect(cellText(page.body)).toContain("We will send a one-time password to"); // not "We sent"
    // Nothing was sent, so nothing holds the person back from sending again.
    expect(find(page.body, "#resend-otp")?.hasAttribute("disabled")).toBe(false);
    expect(await mailCount(contact.email)).toBe(0);

    // Resend while mail is still down: the same message, 503.
    const again = await read(await client.post("/support/login/verify/email/send"));
    expect(again.status).toBe(503);
    expect(cellText(again.body)).toContain("We could not send the code. Try again in a moment.");

    // Mail is back: Resend works at once (no 30-second cooldown was started) and the code signs in.
    delete faults.EMAIL;
    const resent = await client.post("/support/login/verify/email/send");
    await resent.text();
    expect(resent.status).toBe(303);
    const verified = await client.post("/support/login/verify/email", { code: await latestEmailCode(contact.email) });
    await verified.text();
    expect(verified.headers.get("Location")).toBe("/support");
  });
});

describe("send_email dropping the connection", () => {
  it("is tried once more: one drop still delivers the code once; two say it could not be sent", async () => {
    await setMfa("support", { emailOtp: true });
    const contact = await makeContact();
    const once = droppingEmail(env.EMAIL, 1);
    const signedIn = await postPassword(browser({ env: { EMAIL: once.binding } }), "support", contact);
    expect(signedIn.headers.get("Location")).toBe("/support/login/verify?method=email&sent=1");
    expect(once.attempts()).toBe(2);
    expect(await mailCount(contact.email)).toBe(1);

    const other = await makeContact();
    const twice = droppingEmail(env.EMAIL, 2);
    const refused = await postPassword(browser({ env: { EMAIL: twice.binding } }), "support", other);
    expect(refused.headers.get("Location")).toBe("/support/login/verify?method=email&unsent=1");
    expect(twice.attempts()).toBe(2);
    expect(await mailCount(other.email)).toBe(0);
  });
});

const UNSURE_CHANGE = "we cannot tell whether this change was saved. Reload the page to see";

describe("D1 failing", () => {
  it("answers a page with 503 and Retry-After, and a page a person can read", async () => {
    const { client, faults } = await adminWithFaults();
    faults.DB = faultyD1(env.DB).db;
    const r = await read(await client.get("/agent/assets"));
    expect(r.status).toBe(503);
    expect(Number(r.retryAfter)).toBeGreaterThan(0);
    expect(cellText(r.body)).toContain("Try again in a moment");
  });

  /**
   * Runs `act` once healthy to count its D1 calls, then once failing at each call in turn, both
   * before the call reaches D1 and after it committed with its answer lost. After each, its change
   * is all there or not there at all (never half-written), and the answer says no more than is
   * known: a success only over a stored change, and a 503 that never claims nothing was changed.
   */
  async function sweep<T>(
    setup: () => Promise<T>,
    act: (fixture: T, faults: Partial<Env>) => Promise<Response>,
    check: (fixture: T) => Promise<"none" | "all" | "partial">,
    unsure = UNSURE_CHANGE,
  ) {
    // A first run fills the isolate's caches (the dropdowns' options), so every run below makes the same D1 calls.
    await (await act(await setup(), { DB: env.DB })).text();
    const healthy = faultyD1(env.DB, () => false);
    const first = await setup();
    const okResponse = await act(first, { DB: healthy.db });
    await okResponse.text();
    expect(okResponse.status).toBeLessThan(400);
    expect(await check(first)).toBe("all");
    const calls = healthy.calls();
    expect(calls).toBeGreaterThan(0);
    for (const when of ["before", "after"] as const) {
      for (let k = 1; k <= calls; k++) {
        const where = `failing D1 call ${k} of ${calls}, ${when} it ran`;
        const fixture = await setup();
        const faulty = faultyD1(env.DB, (n) => n === k, when);
        const r = await read(await act(fixture, { DB: faulty.db }));
        const stored = await check(fixture);
        expect(stored, where).not.toBe("partial");
        if (r.status < 400) expect(stored, `${where}: answered as done`).toBe("all");
        else {
          expect(r.status, where).toBe(503);
          expect(r.body, where).toContain(unsure);
          expect(r.body, where).not.toMatch(/nothing was changed/i);
        }
      }
    }
  }

  it("creating an agent: at every D1 call that can fail, the agent (with its audit entry) is created whole or not at all", async () => {
    const { client, faults } = await adminWithFaults();
    const group = await makeGroup();
    let n = 0;
    await sweep(
      async () => ({ email: `new-agent-${++n}-${crypto.randomUUID().slice(0, 8)}@example.com` }),
      ({ email }, inject) => {
        Object.assign(faults, inject);
        return client.post("/agent/admin/agents/new", {
          name: "Nia New",
          email,
          roleId: "role_agent",
          groupIds: group,
          password: "a long and unusual passphrase",
        });
      },
      async ({ email }) => {
        const audited = await env.DB.prepare(
          "SELECT count(*) AS n FROM audit_events WHERE event = 'user.created' AND json_extract(details, '$.email') = ?",
        )
          .bind(email)
          .first<{ n: number }>();
        const user = await findUserByEmail(db(), "agent", email);
        if (!user) return audited!.n === 0 ? "none" : "partial";
        const members = await env.DB.prepare("SELECT count(*) AS n FROM group_members WHERE agent_id = ?")
          .bind(user.id)
          .first<{ n: number }>();
        const history = await env.DB.prepare("SELECT count(*) AS n FROM password_history WHERE user_id = ?")
          .bind(user.id)
          .first<{ n: number }>();
        return members!.n === 1 && history!.n === 1 && audited!.n === 1 ? "all" : "partial";
      },
    );
  });

  it("deleting a role: at every D1 call that can fail, the role goes with its audit entry, or neither", async () => {
    const { client, faults } = await adminWithFaults();
    await sweep(
      async () => ({ roleId: await makeRole(["viewAssets"]) }),
      ({ roleId }, inject) => {
        Object.assign(faults, inject);
        return client.post(`/agent/admin/roles/${roleId}/delete`, {});
      },
      async ({ roleId }) => {
        const role = await env.DB.prepare("SELECT count(*) AS n FROM roles WHERE id = ?").bind(roleId).first<{ n: number }>();
        const audited = await env.DB.prepare("SELECT count(*) AS n FROM audit_events WHERE event = 'role.deleted' AND target_id = ?")
          .bind(roleId)
          .first<{ n: number }>();
        if (role!.n === 1 && audited!.n === 0) return "none";
        return role!.n === 0 && audited!.n === 1 ? "all" : "partial";
      },
    );
  });

  it("deleting a location: at every D1 call that can fail, it goes with its audit entry, or neither", async () => {
    const { client, faults } = await adminWithFaults();
    await sweep(
      async () => ({ locationId: await makeLocation() }),
      ({ locationId }, inject) => {
        Object.assign(faults, inject);
        return client.post(`/agent/admin/locations/${locationId}/delete`, {});
      },
      async ({ locationId }) => {
        const left = await env.DB.prepare("SELECT count(*) AS n FROM locations WHERE id = ?").bind(locationId).first<{ n: number }>();
        const audited = await env.DB.prepare(
          "SELECT count(*) AS n FROM audit_events WHERE event = 'settings.changed' AND json_extract(details, '$.id') = ?",
        )
          .bind(locationId)
          .first<{ n: number }>();
        if (left!.n === 1 && audited!.n === 0) return "none";
        return left!.n === 0 && audited!.n === 1 ? "all" : "partial";
      },
    );
  });

  /**
   * A change in the person's own object (a session ended) records its audit entry in the same
   * transaction; the request stores it in D1, and the object's alarm does if the request could
   * not. So whatever D1 does, once the alarm has run the entry is there exactly once, with its change.
   */
  async function sessionsAndEntries(userId: string, event: string) {
    const person = userStub(env, userId);
    await runDurableObjectAlarm(person);
    const sessions = await runInDurableObject(
      person,
      (_instance, state) => state.storage.sql.exec<{ n: number }>("SELECT count(*) AS n FROM sessions").one().n,
    );
    const audited = await env.DB.prepare("SELECT count(*) AS n FROM audit_events WHERE event = ? AND actor_id = ?")
      .bind(event, userId)
      .first<{ n: number }>();
    return { sessions, entries: audited!.n };
  }

  it("signing out everywhere else: the other sessions end with one audit entry (stored by the alarm if D1 failed), or nothing changes", async () => {
    const clock = fakeClock();
    await sweep(
      async () => {
        const contact = await makeContact();
        const elsewhere = browser({ clock });
        await signIn(elsewhere, "support", contact);
        return { contact, ...(await signedInWithFaults("support", contact, clock)) };
      },
      ({ client, faults }, inject) => {
        Object.assign(faults, inject);
        return client.post("/support/account/sessions/others/revoke", {});
      },
      async ({ contact }) => {
        const { sessions, entries } = await sessionsAndEntries(contact.id, "sessions.revoked");
        if (sessions === 2 && entries === 0) return "none";
        return sessions === 1 && entries === 1 ? "all" : "partial";
      },
    );
    const [row] = await db()
      .select()
      .from(auditEvents)
      .where(eq(auditEvents.event, "sessions.revoked"))
      .orderBy(desc(auditEvents.id))
      .limit(1);
    expect(row?.details).toEqual({ scope: "others", count: 1 });
  });

  it("signing out: the session ends with its audit entry, however D1 fails", async () => {
    const clock = fakeClock();
    await sweep(
      async () => {
        const contact = await makeContact();
        return { contact, ...(await signedInWithFaults("support", contact, clock)) };
      },
      ({ client, faults }, inject) => {
        Object.assign(faults, inject);
        return client.post("/support/logout", {});
      },
      async ({ contact }) => {
        const { sessions, entries } = await sessionsAndEntries(contact.id, "sign_out");
        if (sessions === 1 && entries === 0) return "none";
        return sessions === 0 && entries === 1 ? "all" : "partial";
      },
    );
  });

  it("an admin forgetting someone's device: the device goes with its audit entry and the person's notice, or nothing changes", async () => {
    const { client, faults } = await adminWithFaults();
    await sweep(
      async () => {
        const contact = await makeContact();
        const deviceId = newId("dev");
        await userStub(env, contact.id).rememberDevice({
          id: deviceId,
          tokenHash: `hash-${deviceId}`,
          generation: 0,
          now: Date.now(),
          expiresAt: Date.now() + 86_400_000,
          ip: "192.0.2.1",
          userAgent: "test",
        });
        return { contact, deviceId };
      },
      ({ contact, deviceId }, inject) => {
        Object.assign(faults, inject);
        return client.post(`/agent/admin/people/${contact.id}/devices/${deviceId}/forget`, { reason: "Lost phone" });
      },
      async ({ contact }) => {
        const person = userStub(env, contact.id);
        await runDurableObjectAlarm(person);
        const devices = await runInDurableObject(
          person,
          (_instance, state) => state.storage.sql.exec<{ n: number }>("SELECT count(*) AS n FROM devices").one().n,
        );
        const audited = await env.DB.prepare("SELECT count(*) AS n FROM audit_events WHERE event = 'devices.forgotten' AND target_id = ?")
          .bind(contact.id)
          .first<{ n: number }>();
        const told = await env.DB.prepare("SELECT count(*) AS n FROM mail_outbox WHERE user_id = ?")
          .bind(contact.id)
          .first<{ n: number }>();
        if (devices === 1 && audited!.n === 0 && told!.n === 0) return "none";
        return devices === 0 && audited!.n === 1 && told!.n === 1 ? "all" : "partial";
      },
    );
  });

  it("an entry the person's object owes is stored once, even when the request's store committed but its answer was lost", async () => {
    const contact = await makeContact();
    const { client, faults } = await signedInWithFaults("support", contact);
    await signIn(browser(), "support", contact);
    // Every D1 call of the request commits and loses its answer: the object never hears that D1 holds the entry.
    faults.DB = faultyD1(env.DB, () => true, "after").db;
    const r = await client.post("/support/account/sessions/others/revoke", {});
    expect(r.status).toBe(303);
    const owed = () =>
      runInDurableObject(
        userStub(env, contact.id),
        (_instance, state) => state.storage.sql.exec<{ n: number }>("SELECT count(*) AS n FROM audits_owed").one().n,
      );
    expect(await owed()).toBe(1);
    expect((await sessionsAndEntries(contact.id, "sessions.revoked")).entries).toBe(1);
    expect(await owed()).toBe(0);
  });

  it("an admin changing an agent's role and email: the change, its audit rows and the notices land together, or none", async () => {
    const clock = fakeClock();
    let n = 0;
    await sweep(
      async () => {
        const { client, faults } = await signedInWithFaults("agent", await makeAdmin(), clock);
        const agent = await makeAgent();
        return { client, faults, agent, email: `moved-${++n}-${crypto.randomUUID().slice(0, 8)}@example.com` };
      },
      ({ client, faults, agent, email }, inject) => {
        Object.assign(faults, inject);
        return client.post(`/agent/admin/agents/${agent.id}`, { name: agent.name, email, roleId: "role_administrator", active: "on" });
      },
      async ({ agent, email }) => {
        const user = (await findUserById(db(), agent.id))!;
        const changed = user.roleId === "role_administrator" && user.email === email;
        const audited = await env.DB.prepare(
          "SELECT count(*) AS n FROM audit_events WHERE event IN ('user.updated', 'role.assigned') AND target_id = ?",
        )
          .bind(agent.id)
          .first<{ n: number }>();
        const told = await env.DB.prepare("SELECT count(*) AS n FROM mail_outbox WHERE user_id = ?").bind(agent.id).first<{ n: number }>();
        if (!changed && audited!.n === 0 && told!.n === 0) return "none";
        // The role notice, and the email notice to the old address and the new one.
        return changed && audited!.n === 2 && told!.n === 3 ? "all" : "partial";
      },
    );
  });

  it("a bulk change of all matching assets: all of them change or none", async () => {
    const { client, faults } = await adminWithFaults();
    const group = await makeGroup();
    let n = 0;
    await sweep(
      async () => {
        const prefix = `Fault${++n}x${crypto.randomUUID().slice(0, 6)}`;
        const ids = await seedAssets(30, { prefix });
        return { prefix, ids };
      },
      ({ prefix }, inject) => {
        Object.assign(faults, inject);
        return client.post("/agent/assets/bulk/apply", { scope: "all", action: "group", value_group: group, f_q: prefix });
      },
      async ({ ids }) => {
        const placeholders = ids.map(() => "?").join(",");
        const changed = await env.DB.prepare(`SELECT count(*) AS n FROM assets WHERE group_id = ? AND id IN (${placeholders})`)
          .bind(group, ...ids)
          .first<{ n: number }>();
        const history = await env.DB.prepare(
          `SELECT count(*) AS n FROM inventory_history WHERE field = 'group' AND record_id IN (${placeholders})`,
        )
          .bind(...ids)
          .first<{ n: number }>();
        if (changed!.n === 0 && history!.n === 0) return "none";
        return changed!.n === ids.length && history!.n === ids.length ? "all" : "partial";
      },
    );
  });

  it("changing one's password: the new password and its history land together, or neither", async () => {
    const clock = fakeClock();
    await sweep(
      async () => {
        const contact = await makeContact();
        return { contact, ...(await signedInWithFaults("support", contact, clock)) };
      },
      ({ contact, client, faults }, inject) => {
        Object.assign(faults, inject);
        const next = "a different long passphrase";
        return client.post("/support/account/password", { current: contact.password, password: next, confirm: next });
      },
      async ({ contact }) => {
        const user = (await findUserById(db(), contact.id))!;
        const changed = await verifyPassword(user.passwordHash!, "a different long passphrase");
        const history = await env.DB.prepare("SELECT count(*) AS n FROM password_history WHERE user_id = ?")
          .bind(contact.id)
          .first<{ n: number }>();
        if (!changed && history!.n === 0) return "none";
        return changed && history!.n === 1 ? "all" : "partial";
      },
    );
  });
  it("a password sign-in: signed in only with its audit row; otherwise told the step did not finish", async () => {
    const clock = fakeClock();
    let faults: Partial<Env> = {};
    let client = browser({ clock, env: faults });
    await sweep(
      async () => {
        const contact = await makeContact();
        faults = {};
        client = browser({ clock, env: faults });
        return { contact };
      },
      ({ contact }, inject) => {
        Object.assign(faults, inject);
        return client.post("/support/login", { email: contact.email, password: contact.password });
      },
      async ({ contact }) => {
        const audited = await env.DB.prepare("SELECT count(*) AS n FROM audit_events WHERE event = 'sign_in.succeeded' AND actor_id = ?")
          .bind(contact.id)
          .first<{ n: number }>();
        const signedIn = client.cookie(sessionCookieName("support")) !== undefined;
        if (!signedIn) return "none";
        return audited!.n === 1 ? "all" : "partial";
      },
      "so this step did not finish. Try again in a moment.",
    );
  });
});

describe("a Durable Object failing", () => {
  it("the user's object: a signed-in page is refused with 503, never served", async () => {
    const { client, faults } = await adminWithFaults();
    faults.USER_DO = faultyNamespace(env.USER_DO);
    const r = await read(await client.get("/agent"));
    expect(r.status).toBe(503);
    expect(r.body).not.toContain("Welcome");
    const settings = await read(await client.get("/agent/settings/security/agents/mfa"));
    expect(settings.status).toBe(503);
    expect(settings.body).not.toContain("Authenticator App");
  });

  it("the portal's object: once the isolate's copy of its state is over 5 seconds old, signed-in pages are refused with 503", async () => {
    const clock = fakeClock();
    const faults: Partial<Env> = {};
    const client = browser({ clock, env: faults });
    await signIn(client, "agent", await makeAdmin());
    faults.PORTAL_DO = faultyNamespace(env.PORTAL_DO);
    // The copy read at sign-in still serves: an outage shorter than that goes unnoticed.
    expect((await read(await client.get("/agent/assets"))).status).toBe(200);
    clock.advance(portalStateTtlMs(env));
    const r = await read(await client.get("/agent/assets"));
    expect(r.status).toBe(503);
    expect(r.body).not.toContain("records match");
  });

  it("an object overloaded once: a signed-in page's lookups are asked again and the page is served", async () => {
    for (const [binding, method] of [
      ["USER_DO", "validateSession"],
      ["PORTAL_DO", "getState"],
    ] as const) {
      const contact = await makeContact();
      const faults: Partial<Env> = {};
      const clock = fakeClock();
      const client = browser({ clock, env: faults });
      await signIn(client, "support", contact);
      // The portal's state is read again once the isolate's copy is old.
      clock.advance(portalStateTtlMs(env) + 1);
      const flaky = overloadedOnce(env[binding], method);
      faults[binding] = flaky.objects as never;
      const r = await read(await client.get("/support"));
      expect(r.status, binding).toBe(200);
      expect(flaky.calls(), binding).toBe(2);
    }
  });

  for (const binding of ["USER_DO", "PORTAL_DO", "LIMITER_DO"] as const) {
    it(`$binding: a right password signs no one in while it fails`, async () => {
      const contact = await makeContact();
      const client = browser({ env: { [binding]: faultyNamespace(env[binding]) } });
      const r = await read(await client.post("/support/login", { email: contact.email, password: contact.password }));
      expect(r.status).toBe(503);
      expect(client.cookie(sessionCookieName("support"))).toBeUndefined();
    });
  }
});
