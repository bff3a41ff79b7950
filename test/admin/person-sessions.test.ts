// An admin sees another person's open sessions and signs them out (one, or everywhere) with a
// reason: the person's very next request is refused, whatever way they signed in; the entry
// names who, whom and why; the person is emailed; and nobody signs out someone who holds more.
import { desc, eq } from "drizzle-orm";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { env } from "cloudflare:workers";
import { createToken } from "../../src/api/tokens";
import { auditEvents, devMailbox } from "../../src/db/schema";
import type { Portal } from "../../src/portal/policy";
import { browser, type Browser, type FakeClock, fakeClock } from "../helpers/app";
import { signIn } from "../helpers/auth";
import { db, makeAdmin, makeAgent, makeContact } from "../helpers/factories";
import { find, findAll, shown, tableRows } from "../helpers/html";
import { enrollThroughPages, postPassword, setMfa, totpCode } from "../helpers/mfa";
import { type Provider, setAccess, signInThrough, startProvider } from "../helpers/oidc-provider";
import { makeRole } from "../helpers/roles";
import { softwareAuthenticator } from "../helpers/webauthn";

let provider: Provider;
beforeAll(async () => {
  provider = await startProvider();
});
afterAll(() => provider.stop());
afterEach(async () => {
  await setAccess("agent", "password");
  await setMfa("agent", { authenticatorApp: false, emailOtp: false, passkeys: false, passwordlessPasskeys: false, rememberDays: 0 });
});

async function signedInAdmin(clock: FakeClock) {
  const admin = await makeAdmin({ name: `Ada Admin ${crypto.randomUUID().slice(0, 6)}` });
  const client = browser({ clock });
  await signIn(client, "agent", admin);
  return { admin, client };
}

/** Whether a browser is still signed in to the portal: its home page, or a trip to sign-in. */
async function signedIn(client: Browser, portal: Portal): Promise<boolean> {
  const home = await client.get(`/${portal}`);
  await home.text();
  return home.status === 200;
}

async function postJson(client: Browser, path: string, body: unknown = {}) {
  const r = await client.request(path, { method: "POST", body: JSON.stringify(body), headers: { "Content-Type": "application/json" } });
  return { status: r.status, body: (await r.json()) as Record<string, unknown> & { challenge: string } };
}

/** Each way an agent signs in, ending with a browser signed in as them. */
const WAYS: Record<
  string,
  { label: string; signIn: (clock: FakeClock, agent: { id: string; email: string; password: string }) => Promise<Browser> }
> = {
  password: {
    label: "Password",
    signIn: async (clock, agent) => {
      const client = browser({ clock });
      await signIn(client, "agent", agent);
      return client;
    },
  },
  "password and the authenticator app": {
    label: "Password",
    signIn: async (clock, agent) => {
      await setMfa("agent", { authenticatorApp: true, emailOtp: false });
      const client = browser({ clock });
      await enrollThroughPages(client, "agent", agent, clock);
      return client;
    },
  },
  "a remembered device": {
    label: "Password",
    signIn: async (clock, agent) => {
      await setMfa("agent", { authenticatorApp: true, emailOtp: false, rememberDays: 30 });
      const enrolling = browser({ clock });
      const { manualKey } = await enrollThroughPages(enrolling, "agent", agent, clock);
      await (await enrolling.post("/agent/logout")).text();
      const device = browser({ clock });
      await (await postPassword(device, "agent", agent)).text();
      clock.advance(30_000);
      await (await device.post("/agent/login/verify/app", { code: totpCode(manualKey, clock.now()), remember: "on" })).text();
      await (await device.post("/agent/logout")).text();
      // Signed in again with the password alone: the device stands in for the second step.
      const again = await postPassword(device, "agent", agent);
      expect(again.headers.get("Location")).toBe("/agent");
      return device;
    },
  },
  "a passkey alone": {
    label: "Passkey",
    signIn: async (clock, agent) => {
      await setMfa("agent", { passkeys: true, passwordlessPasskeys: true });
      const owner = browser({ clock });
      await signIn(owner, "agent", agent);
      const key = await softwareAuthenticator();
      const options = await postJson(owner, "/agent/account/passkeys/options");
      expect(options.status).toBe(200);
      const added = await postJson(owner, "/agent/account/passkeys", {
        name: "Work laptop",
        response: key.register(options.body, undefined, { discoverable: true }),
      });
      expect(added.status).toBe(200);
      await (await owner.post("/agent/logout")).text();
      const client = browser({ clock });
      const start = await postJson(client, "/agent/login/passkey/options");
      const verified = await postJson(client, "/agent/login/passkey", {
        response: await key.assert(start.body, { withUserHandle: true }),
      });
      expect(verified).toEqual({ status: 200, body: { redirect: "/agent" } });
      return client;
    },
  },
  "Microsoft single sign-on": {
    label: "Microsoft",
    signIn: async (clock, agent) => {
      await setAccess("agent", "both");
      const client = browser({ clock });
      const { response } = await signInThrough(provider, client, "agent", clock.now(), {
        oid: `oid-${agent.id}`,
        email: agent.email,
        xms_edov: true,
      });
      expect(response.headers.get("Location")).toBe("/agent");
      return client;
    },
  },
};

async function sessionsOnPage(client: Browser, path: string) {
  return tableRows(await (await client.get(path)).text(), "admin-sessions");
}

const entriesAbout = (id: string) => db().select().from(auditEvents).where(eq(auditEvents.targetId, id)).orderBy(desc(auditEvents.id));

describe.each(Object.entries(WAYS))("an admin signs out an agent who signed in with %s", (_way, { label, signIn: signInAs }) => {
  it("lists the session as it is, and ends it at the agent's next request, told why", async () => {
    const clock = fakeClock();
    const { admin, client } = await signedInAdmin(clock);
    const agent = await makeAgent({ name: `Sol Target ${crypto.randomUUID().slice(0, 6)}` });
    const theirs = await signInAs(clock, agent);
    // Another browser of theirs, in Iceland as Cloudflare reads its address, with a password alone
    // (the policy the way above turned on applies from the next sign-in; it is off again first).
    await setMfa("agent", { authenticatorApp: false, emailOtp: false, passkeys: false, passwordlessPasskeys: false });
    const other = browser({ clock, ip: "203.0.113.77" });
    const elsewhere = await other.post(
      "/agent/login",
      { email: agent.email, password: agent.password },
      { headers: { "CF-IPCountry": "IS" } },
    );
    await elsewhere.text();
    expect(elsewhere.headers.get("Location")).toBe("/agent");
    expect(await signedIn(theirs, "agent")).toBe(true);

    const page = `/agent/admin/agents/${agent.id}`;
    const rows = await sessionsOnPage(client, page);
    expect(rows).toHaveLength(2);
    expect(rows.map((r) => r["Signed in with"]).sort()).toEqual([label, "Password"].sort());
    expect(rows.find((r) => r["IP address"] === "203.0.113.77")).toMatchObject({
      Device: "Chrome on Linux",
      Country: "IS",
      "Signed in with": "Password",
    });

    // The button of the session that is not the other browser's.
    const html = await (await client.get(page)).text();
    const buttons = findAll(html, '[data-testid="admin-sessions"] button[name="session"]');
    const target = buttons.find((b) => !(b.getAttribute("aria-label") ?? "").includes("203.0.113.77"))!;
    const signedOut = await client.post(`/agent/admin/people/${agent.id}/sessions/sign-out`, {
      session: target.getAttribute("value")!,
      reason: "Laptop reported stolen",
    });
    await signedOut.text();
    expect(signedOut.status).toBe(303);
    expect(signedOut.headers.get("Location")).toBe(`${page}?done=signed_out`);
    expect(await shown(await client.get(signedOut.headers.get("Location")!))).toContain(
      "Signed out of that session. They were emailed why.",
    );

    expect(await signedIn(theirs, "agent")).toBe(false);
    expect(await signedIn(other, "agent")).toBe(true);
    const [entry] = await entriesAbout(agent.id);
    expect(entry).toMatchObject({
      event: "sessions.revoked",
      portal: "agent",
      actorId: admin.id,
      targetId: agent.id,
      details: { byAdmin: true, scope: "one", sessionId: target.getAttribute("value"), reason: "Laptop reported stolen" },
    });
    const mail = await db().select().from(devMailbox).where(eq(devMailbox.to, agent.email)).orderBy(desc(devMailbox.id)).get();
    expect(mail?.subject).toBe("An administrator signed you out of EdgeDesk");
    expect(mail?.body).toContain(`${admin.name} signed you out of one device on EdgeDesk, giving this reason:\n\nLaptop reported stolen`);
  });

  it("is signed out everywhere through the API, as a playbook does it", async () => {
    const clock = fakeClock();
    const admin = await makeAdmin();
    const made = await createToken(
      env,
      db(),
      { name: "Playbook", scopes: ["sessions:revoke"], days: 30, creator: { id: admin.id, roleId: admin.roleId ?? null, permissions: [] } },
      { at: clock.now(), ip: null, userAgent: null },
    );
    if (!made.ok) throw new Error(made.message);
    const agent = await makeAgent();
    const theirs = await signInAs(clock, agent);
    expect(await signedIn(theirs, "agent")).toBe(true);
    const script = browser({ clock, ip: "203.0.113.200" });
    const answer = await script.request(`/api/v1/people/${agent.id}/sign-out`, {
      method: "POST",
      body: JSON.stringify({ reason: "Impossible travel alert" }),
      headers: { Authorization: `Bearer ${made.token}`, "Content-Type": "application/json" },
    });
    expect([answer.status, await answer.json()]).toEqual([200, { person: agent.id, ended: 1 }]);
    expect(await signedIn(theirs, "agent")).toBe(false);
    const [entry] = await entriesAbout(agent.id);
    expect(entry).toMatchObject({
      event: "sessions.revoked",
      actorId: admin.id,
      details: { scope: "all", reason: "Impossible travel alert", via: "api" },
    });
  });
});

describe("signing a person out everywhere", () => {
  it("ends every session of a contact, counts them in the entry, and needs a reason", async () => {
    const clock = fakeClock();
    const { admin, client } = await signedInAdmin(clock);
    const contact = await makeContact();
    const phone = browser({ clock });
    const laptop = browser({ clock });
    await signIn(phone, "support", contact);
    await signIn(laptop, "support", contact);
    const page = `/agent/admin/contacts/${contact.id}`;
    expect(await sessionsOnPage(client, page)).toHaveLength(2);

    const noReason = await client.post(`/agent/admin/people/${contact.id}/sessions/sign-out`, { session: "all", reason: "  " });
    expect(noReason.status).toBe(400);
    expect(await shown(noReason)).toContain("Enter a reason.");
    const madeUp = await client.post(`/agent/admin/people/${contact.id}/sessions/sign-out`, {
      session: "ses_aaaaaaaaaaaaaaaa",
      reason: "x",
    });
    expect(madeUp.status).toBe(409);
    expect(await shown(madeUp)).toContain("has already ended");
    expect([await signedIn(phone, "support"), await signedIn(laptop, "support")]).toEqual([true, true]);

    const all = await client.post(`/agent/admin/people/${contact.id}/sessions/sign-out`, { session: "all", reason: "Account shared" });
    await all.text();
    expect(all.headers.get("Location")).toBe(`${page}?done=signed_out_everywhere`);
    expect([await signedIn(phone, "support"), await signedIn(laptop, "support")]).toEqual([false, false]);
    const after = await shown(await client.get(`${page}?done=signed_out_everywhere`));
    expect(after).toContain("Signed out everywhere. They were emailed why.");
    expect(after).toContain(`${contact.name} is not signed in anywhere.`);
    const [entry] = await entriesAbout(contact.id);
    expect(entry).toMatchObject({
      event: "sessions.revoked",
      portal: "support",
      actorId: admin.id,
      details: { byAdmin: true, scope: "all", reason: "Account shared", count: 2 },
    });
    // (The second browser's sign-in brought a new-device alert too.)
    const signedOutMail = async () =>
      (await db().select().from(devMailbox).where(eq(devMailbox.to, contact.email))).filter(
        (m) => m.subject === "An administrator signed you out of EdgeDesk",
      );
    const mails = await signedOutMail();
    expect(mails).toHaveLength(1);
    expect(mails[0]!.body).toContain("signed you out of every device on EdgeDesk, giving this reason:\n\nAccount shared");

    // Nobody left signed in: nothing to do, nobody emailed, nothing in the log.
    const again = await client.post(`/agent/admin/people/${contact.id}/sessions/sign-out`, { session: "all", reason: "Once more" });
    expect(again.status).toBe(409);
    expect(await shown(again)).toContain(`${contact.name} is not signed in anywhere: nothing was changed, and they were not emailed.`);
    expect((await entriesAbout(contact.id)).filter((e) => e.event === "sessions.revoked")).toHaveLength(1);
    expect(await signedOutMail()).toHaveLength(1);
  });

  it("shows a sign-in stopped at its second step as not finished, and ends it too", async () => {
    const clock = fakeClock();
    const { client } = await signedInAdmin(clock);
    const agent = await makeAgent();
    await setMfa("agent", { authenticatorApp: true, emailOtp: false });
    await enrollThroughPages(browser({ clock }), "agent", agent, clock);
    const halfway = browser({ clock });
    expect((await postPassword(halfway, "agent", agent)).headers.get("Location")).toBe("/agent/login/verify");
    const rows = await sessionsOnPage(client, `/agent/admin/agents/${agent.id}`);
    expect(rows.map((r) => r["Signed in with"]).sort()).toEqual(["Password", "Password, not finished (at the second step)"]);
    const signedOut = await client.post(`/agent/admin/people/${agent.id}/sessions/sign-out`, { session: "all", reason: "Not them" });
    await signedOut.text();
    expect(signedOut.status).toBe(303);
    const verify = await halfway.post("/agent/login/verify/app", { code: "123456" });
    await verify.text();
    expect(verify.status).not.toBe(303);
    expect(await signedIn(halfway, "agent")).toBe(false);
  });
});

describe("who may sign someone out", () => {
  it("never someone holding more, never oneself, and only after a recent confirmation", async () => {
    const clock = fakeClock();
    const { admin, client } = await signedInAdmin(clock);
    const manager = await makeAgent({ roleId: await makeRole(["manageAgents"]) });
    const lead = browser({ clock });
    await signIn(lead, "agent", manager);

    // The manager holds less than the administrator: no panel, and a forged post is refused and audited.
    const adminPage = await (await lead.get(`/agent/admin/agents/${admin.id}`)).text();
    expect(find(adminPage, '[data-testid="admin-sessions"]')).toBeNull();
    const forged = await lead.post(`/agent/admin/people/${admin.id}/sessions/sign-out`, { session: "all", reason: "Because" });
    expect(forged.status).toBe(403);
    await forged.text();
    expect(await signedIn(client, "agent")).toBe(true);
    expect((await entriesAbout(admin.id))[0]).toMatchObject({
      event: "access.refused",
      actorId: manager.id,
      details: { action: "sign out a person" },
    });

    // Oneself: from My account, not here.
    const self = await client.post(`/agent/admin/people/${admin.id}/sessions/sign-out`, { session: "all", reason: "Testing" });
    expect(self.status).toBe(403);
    expect(await shown(self)).toContain("You cannot sign yourself out here: end your own sessions from My account.");
    expect(await signedIn(client, "agent")).toBe(true);

    // An equal the manager may act on, but not five minutes after their last confirmation.
    const peer = await makeAgent({ roleId: await makeRole([]) });
    const peerBrowser = browser({ clock });
    await signIn(peerBrowser, "agent", peer);
    clock.advance(6 * 60_000);
    const stale = await lead.post(`/agent/admin/people/${peer.id}/sessions/sign-out`, { session: "all", reason: "Left the company" });
    expect(stale.status).toBe(401);
    expect(await shown(stale)).toContain("Nothing was changed. Confirm it's you, then make the change again.");
    expect(await signedIn(peerBrowser, "agent")).toBe(true);
  });
});
