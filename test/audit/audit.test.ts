import { and, desc, eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { auditEvents } from "../../src/db/schema";
import { browser, fakeClock } from "../helpers/app";
import { signIn } from "../helpers/auth";
import { db, makeAdmin, makeAgent, makeContact } from "../helpers/factories";
import { enrollThroughPages, postPassword, setMfa, totpCode } from "../helpers/mfa";
import { makeRole } from "../helpers/roles";

const eventsFor = async (userId: string) =>
  (await db().select().from(auditEvents).where(eq(auditEvents.actorId, userId)).orderBy(auditEvents.id)).map((e) => [e.event, e.details]);

describe("the security audit log", () => {
  it("records password sign-ins and failures with time, IP and user agent", async () => {
    const clock = fakeClock();
    const contact = await makeContact();
    await postPassword(browser({ clock, ip: "203.0.113.50" }), "support", { ...contact, password: "nope nope" });
    const failed = await db().select().from(auditEvents).where(eq(auditEvents.event, "sign_in.failed")).orderBy(desc(auditEvents.id)).get();
    expect(failed).toMatchObject({
      portal: "support",
      actorId: null,
      ip: "203.0.113.50",
      at: clock.now(),
      details: { email: contact.email, method: "password", reason: "invalid" },
    });
    expect(failed!.userAgent).toContain("Chrome");

    const client = browser({ clock });
    await signIn(client, "support", contact);
    await (await client.post("/support/logout")).text();
    expect(await eventsFor(contact.id)).toEqual([
      ["sign_in.succeeded", { method: "password" }],
      ["sign_out", null],
    ]);
  });

  it("records enrollment, second factors, failures and recovery codes", async () => {
    await setMfa("support", { authenticatorApp: true, emailOtp: false });
    const clock = fakeClock();
    const contact = await makeContact();
    const { manualKey, recoveryCodes } = await enrollThroughPages(browser({ clock }), "support", contact, clock);
    clock.advance(30_000);
    const client = browser({ clock });
    await postPassword(client, "support", contact);
    await (
      await client.post("/support/login/verify/app", { code: totpCode(manualKey, clock.now()) === "000000" ? "111111" : "000000" })
    ).text();
    await (await client.post("/support/login/verify/recovery", { code: recoveryCodes[0]! })).text();
    expect(await eventsFor(contact.id)).toEqual([
      ["mfa.enrolled", { method: "app" }],
      ["sign_in.succeeded", { method: "password", secondFactor: "enrollment" }],
      ["mfa.failed", { method: "app" }],
      ["recovery_code.used", null],
      ["mfa.verified", { method: "recovery" }],
      ["sign_in.succeeded", { method: "password", secondFactor: "recovery" }],
      // The second browser is one the person had not signed in from.
      ["sign_in.new_device", { device: "Chrome on Linux" }],
    ]);
    await setMfa("support", { authenticatorApp: false });
  });

  it("records a settings change and an immediate application, by whom", async () => {
    const admin = await makeAdmin();
    const client = browser();
    await signIn(client, "agent", admin);
    await (
      await client.post("/agent/settings/security/contacts/mfa/apply", { emailOtp: "on", issuerName: "X", apply: "immediately" })
    ).text();
    const events = await db().select().from(auditEvents).where(eq(auditEvents.actorId, admin.id)).orderBy(auditEvents.id);
    expect(events.slice(-2).map((e) => [e.event, e.portal, e.targetId, e.details])).toEqual([
      ["settings.changed", "support", null, { audience: "contacts", tab: "mfa", changes: ["Email OTP: off → on"], apply: "immediately" }],
      ["policy.applied_immediately", "support", null, { audience: "contacts", tab: "mfa" }],
    ]);
    await setMfa("support", { emailOtp: false });
  });
});

describe("an audit entry is written with its change", () => {
  it("two admins deleting one role at once: it is deleted once, and only the admin who deleted it is recorded", async () => {
    await setMfa("agent", { authenticatorApp: false, emailOtp: false });
    const clock = fakeClock();
    const admins = [await makeAdmin(), await makeAdmin()];
    const clients = admins.map(() => browser({ clock }));
    await Promise.all(clients.map((client, i) => signIn(client, "agent", admins[i]!)));
    for (let round = 0; round < 5; round++) {
      const roleId = await makeRole(["viewAssets"]);
      const answers = await Promise.all(
        clients.map(async (client) => {
          const response = await client.post(`/agent/admin/roles/${roleId}/delete`, {});
          await response.text();
          return response.status;
        }),
      );
      // One is told it is deleted; the other that it no longer exists, and nothing is stored for it.
      expect([...answers].sort(), `round ${round}`).toEqual([303, 404]);
      const entries = await db()
        .select()
        .from(auditEvents)
        .where(and(eq(auditEvents.event, "role.deleted"), eq(auditEvents.targetId, roleId)));
      expect(entries).toHaveLength(1);
      expect(entries[0]!.actorId).toBe(admins[answers.indexOf(303)]!.id);
    }
  });
});

describe("the rest of the audited events", () => {
  it("records codes regenerated and requested, role changes and sessions revoked", async () => {
    await setMfa("agent", { authenticatorApp: false, emailOtp: false });
    const clock = fakeClock();
    const admin = await makeAdmin();
    const adminClient = browser({ clock });
    await signIn(adminClient, "agent", admin);
    await (await adminClient.post("/agent/admin/roles/new", { name: "Audited role", permissions: "viewAssets" })).text();
    const roleId = /roles\/(role_[a-f0-9]+)"/.exec(await (await adminClient.get("/agent/admin/roles")).text())![1]!;
    await (await adminClient.post(`/agent/admin/roles/${roleId}/delete`)).text();
    await signIn(browser({ clock }), "agent", admin);
    await (await adminClient.post("/agent/account/sessions/others/revoke")).text();

    await setMfa("agent", { authenticatorApp: true });
    const agent = await makeAgent();
    const { manualKey } = await enrollThroughPages(browser({ clock }), "agent", agent, clock);
    const pending = browser({ clock });
    await postPassword(pending, "agent", agent);
    await (await pending.post("/agent/login/verify/request-codes")).text();
    clock.advance(30_000);
    const own = browser({ clock });
    await postPassword(own, "agent", agent);
    await (await own.post("/agent/login/verify/app", { code: totpCode(manualKey, clock.now()) })).text();
    clock.advance(30_000);
    await (await own.post("/agent/account/recovery-codes", { current: agent.password, code: totpCode(manualKey, clock.now()) })).text();
    await setMfa("agent", { authenticatorApp: false });

    const adminEvents = (await eventsFor(admin.id)).map(([e]) => e);
    expect(adminEvents).toEqual(expect.arrayContaining(["role.saved", "role.deleted", "sessions.revoked"]));
    const agentEvents = (await eventsFor(agent.id)).map(([e]) => e);
    expect(agentEvents).toEqual(expect.arrayContaining(["recovery_codes.requested", "recovery_codes.regenerated"]));
  });
});
