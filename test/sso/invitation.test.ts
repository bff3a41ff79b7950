// "Invite to sign in with Microsoft", end to end. An admin (under the one access rule,
// re-authenticated) invites a person whose Microsoft account has no email; the link is mailed and
// shown once; the person signs in with Microsoft through it and (tenant id, object id) is bound to
// them. Single use, expiring, never onto another person's Microsoft account, and audited.
import { desc, eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sessionCookieName } from "../../src/request/session-cookie";
import { auditEvents, devMailbox, ssoIdentities, ssoInvitations } from "../../src/db/schema";
import { HOUR } from "../../src/lib/clock";
import { browser, type Browser, fakeClock, type FakeClock } from "../helpers/app";
import { signIn } from "../helpers/auth";
import { db, makeAdmin, makeAgent, makeContact } from "../helpers/factories";
import { setMfa } from "../helpers/mfa";
import { type Provider, setAccess, startProvider } from "../helpers/oidc-provider";
import { makeRole } from "../helpers/roles";
import { definitions, labelled, links, shown, cellText } from "../helpers/html";

let provider: Provider;
beforeAll(async () => {
  provider = await startProvider();
  await setMfa("agent", { authenticatorApp: false, emailOtp: false });
  await setAccess("agent", "both");
  await setAccess("support", "both");
});
afterAll(() => provider.stop());

async function signedInAdmin(clock: FakeClock, roleId?: string) {
  const admin = roleId ? await makeAgent({ roleId }) : await makeAdmin();
  const client = browser({ clock });
  await signIn(client, "agent", admin);
  const reauth = await client.post("/agent/reauth", { current: admin.password, next: "/agent" });
  await reauth.text();
  expect(reauth.status).toBe(303);
  return { admin, client };
}

/** Create an invitation through the pages; returns the link the admin is shown. */
async function invite(client: Browser, personId: string): Promise<string> {
  const confirm = await client.get(`/agent/admin/people/${personId}/sso-invite`);
  expect(confirm.status).toBe(200);
  expect(await shown(confirm)).toContain("Create invitation");
  const created = await client.post(`/agent/admin/people/${personId}/sso-invite`);
  expect(created.status).toBe(200);
  expect(created.headers.get("Cache-Control")).toBe("no-store");
  const page = await created.text();
  const link = labelled(page, "Invitation link")?.getAttribute("value");
  expect(link, "no invitation link to copy").toBeTruthy();
  return link!;
}

/** Open the link, press "Sign in with Microsoft", sign in at the provider with these claims, come back. */
async function accept(person: Browser, link: string, clock: FakeClock, claims: Record<string, unknown>) {
  const path = new URL(link).pathname;
  const page = await person.get(path);
  const html = await page.text();
  if (page.status !== 200) return { status: page.status, body: html };
  expect(links(html)).toContainEqual({ text: "Sign in with Microsoft", href: `${path}/start` });
  const start = await person.get(`${path}/start`);
  await start.text();
  expect(start.status).toBe(302);
  const authorize = new URL(start.headers.get("Location")!);
  expect(authorize.toString()).not.toContain(path.split("/").pop()!);
  const idToken = await provider.sign(provider.claims(authorize.searchParams.get("nonce")!, clock.now(), claims));
  const code = provider.authorize(authorize, idToken);
  const callback = await person.get(`/${path.split("/")[1]}/sso/callback?code=${code}&state=${authorize.searchParams.get("state")}`);
  return { status: callback.status, body: await callback.text(), location: callback.headers.get("Location") };
}

describe("inviting someone to sign in with Microsoft", () => {
  it("links a Microsoft account without an email to an agent, who is then signed in by it", async () => {
    const clock = fakeClock();
    const { admin, client } = await signedInAdmin(clock);
    const agent = await makeAgent({ name: "Ngozi Field" });
    expect(await shown(await client.get(`/agent/admin/agents/${agent.id}`))).toContain("Not linked to a Microsoft account.");
    const link = await invite(client, agent.id);
    expect(link).toMatch(/^https:\/\/edgedesk\.test\/agent\/sso\/invitation\/[a-z2-7]{32}$/);

    // The person is emailed the link, and the invitation is audited.
    const mail = await db().select().from(devMailbox).where(eq(devMailbox.to, agent.email)).orderBy(desc(devMailbox.id)).get();
    expect(mail!.subject).toBe("Sign in to EdgeDesk with your Microsoft account");
    expect(mail!.body).toContain(link);
    const invited = await db().select().from(auditEvents).where(eq(auditEvents.event, "sso.invited")).orderBy(desc(auditEvents.id)).get();
    expect(invited).toMatchObject({ actorId: admin.id, targetId: agent.id });
    // Only a hash of the token is stored.
    const stored = await db().select().from(ssoInvitations).where(eq(ssoInvitations.userId, agent.id)).get();
    expect(stored!.tokenHash).toMatch(/^[0-9a-f]{64}$/);
    expect(stored!.tokenHash).not.toContain(link.split("/").pop());

    const person = browser({ clock });
    const landing = await (await person.get(new URL(link).pathname)).text();
    expect(landing).toContain(`Hello Ngozi Field. ${admin.name} invited you to sign in to the EdgeDesk agent portal with your`);
    // No email claim at all: the invitation is what links.
    const linked = await accept(person, link, clock, { oid: `oid-field-${agent.id}`, tid: "tenant-b" });
    expect(linked).toMatchObject({ status: 303, location: "/agent" });
    expect(person.cookie(sessionCookieName("agent"))).toBeDefined();
    expect(await db().select().from(ssoIdentities).where(eq(ssoIdentities.userId, agent.id))).toEqual([
      expect.objectContaining({ tenantId: "tenant-b", objectId: `oid-field-${agent.id}` }),
    ]);
    const events = await db().select().from(auditEvents).where(eq(auditEvents.targetId, agent.id));
    expect(events.map((e) => e.event)).toContain("sso.linked");
    const notice = await db().select().from(devMailbox).where(eq(devMailbox.to, agent.email)).orderBy(desc(devMailbox.id)).get();
    expect(notice!.subject).toBe("A Microsoft account was linked to your EdgeDesk account");

    // From then on, plain "Sign in with Microsoft" with that account signs them in.
    const later = browser({ clock });
    const start = await later.get("/agent/sso/start");
    await start.text();
    const authorize = new URL(start.headers.get("Location")!);
    const code = provider.authorize(
      authorize,
      await provider.sign(
        provider.claims(authorize.searchParams.get("nonce")!, clock.now(), { oid: `oid-field-${agent.id}`, tid: "tenant-b" }),
      ),
    );
    const back = await later.get(`/agent/sso/callback?code=${code}&state=${authorize.searchParams.get("state")}`);
    await back.text();
    expect(back.status).toBe(303);

    // The admin now sees the link under its headings.
    const page = await (await client.get(`/agent/admin/agents/${agent.id}`)).text();
    const terms = definitions(page);
    const tenant = terms.findIndex(([term]) => term === "Tenant ID");
    expect(terms.slice(tenant, tenant + 2)).toEqual([
      ["Tenant ID", "tenant-b"],
      ["Object ID", `oid-field-${agent.id}`],
    ]);
  });

  it("works once, and not after 72 hours; a newer invitation replaces an older one", async () => {
    const clock = fakeClock();
    const { client } = await signedInAdmin(clock);
    const contact = await makeContact();
    const first = await invite(client, contact.id);
    const second = await invite(client, contact.id);
    expect((await accept(browser({ clock }), first, clock, { oid: "oid-old-link" })).status).toBe(410);
    expect((await accept(browser({ clock }), second, clock, { oid: `oid-once-${contact.id}` })).status).toBe(303);
    const again = await accept(browser({ clock }), second, clock, { oid: "oid-second-use" });
    expect(again.status).toBe(410);
    expect(cellText(again.body)).toContain("This invitation has expired or was already used.");

    const later = await invite(client, contact.id);
    clock.advance(72 * HOUR + 1);
    expect((await accept(browser({ clock }), later, clock, { oid: "oid-too-late" })).status).toBe(410);
    expect(await db().select().from(ssoIdentities).where(eq(ssoIdentities.userId, contact.id))).toEqual([
      expect.objectContaining({ objectId: `oid-once-${contact.id}` }),
    ]);
  });

  it("is used by exactly one of two sign-ins racing on the same link", async () => {
    const clock = fakeClock();
    const { client } = await signedInAdmin(clock);
    const contact = await makeContact();
    const link = await invite(client, contact.id);
    const path = new URL(link).pathname;
    // Both open the page and reach Microsoft before either comes back.
    const racers = await Promise.all(
      ["a", "b"].map(async (who) => {
        const person = browser({ clock });
        await (await person.get(path)).text();
        const start = await person.get(`${path}/start`);
        await start.text();
        const authorize = new URL(start.headers.get("Location")!);
        const code = provider.authorize(
          authorize,
          await provider.sign(provider.claims(authorize.searchParams.get("nonce")!, clock.now(), { oid: `oid-race-${who}-${contact.id}` })),
        );
        return { person, callback: `/support/sso/callback?code=${code}&state=${authorize.searchParams.get("state")}` };
      }),
    );
    const results = await Promise.all(racers.map(async ({ person, callback }) => (await person.get(callback)).status));
    expect(results.sort()).toEqual([303, 403]);
    expect(await db().select().from(ssoIdentities).where(eq(ssoIdentities.userId, contact.id))).toHaveLength(1);
  });

  it("never binds a Microsoft account already linked to someone else, and leaves the invitation usable", async () => {
    const clock = fakeClock();
    const { client } = await signedInAdmin(clock);
    const owner = await makeContact();
    await db()
      .insert(ssoIdentities)
      .values({ tenantId: "tenant-a", objectId: `oid-owner-${owner.id}`, userId: owner.id, createdAt: clock.now() });
    const contact = await makeContact();
    const link = await invite(client, contact.id);
    const taken = await accept(browser({ clock }), link, clock, { oid: `oid-owner-${owner.id}` });
    expect(taken.status).toBe(403);
    expect(cellText(taken.body)).toContain("already linked to another EdgeDesk account");
    expect(
      await db()
        .select()
        .from(ssoIdentities)
        .where(eq(ssoIdentities.objectId, `oid-owner-${owner.id}`)),
    ).toEqual([expect.objectContaining({ userId: owner.id })]);
    expect((await accept(browser({ clock }), link, clock, { oid: `oid-own-${contact.id}` })).status).toBe(303);
  });

  it("follows the access rule and needs a fresh re-authentication", async () => {
    const clock = fakeClock();
    // An agent manager without the security permissions cannot invite an Administrator (who could then be signed in as).
    const { client } = await signedInAdmin(clock, await makeRole(["manageAgents"]));
    const administrator = await makeAdmin();
    const refused = await client.post(`/agent/admin/people/${administrator.id}/sso-invite`);
    expect(refused.status).toBe(403);
    expect(await shown(refused)).toContain("so you cannot invite them to sign in with Microsoft.");
    expect(await db().select().from(ssoInvitations).where(eq(ssoInvitations.userId, administrator.id))).toHaveLength(0);
    const audit = await db().select().from(auditEvents).where(eq(auditEvents.event, "access.refused")).orderBy(desc(auditEvents.id)).get();
    expect(audit).toMatchObject({ targetId: administrator.id, details: { action: "invite to sign in with Microsoft" } });

    // Without the permission at all: refused at the door.
    const { client: plain } = await signedInAdmin(clock, await makeRole(["viewAssets"]));
    const agent = await makeAgent();
    const door = await plain.post(`/agent/admin/people/${agent.id}/sso-invite`);
    await door.text();
    expect(door.status).toBe(403);

    // A re-authentication more than 5 minutes old is not enough.
    const { client: stale } = await signedInAdmin(clock);
    clock.advance(6 * 60_000);
    const tooOld = await stale.post(`/agent/admin/people/${agent.id}/sso-invite`);
    expect(tooOld.status).toBe(401);
    await tooOld.text();
    const redirect = await stale.get(`/agent/admin/people/${agent.id}/sso-invite`);
    await redirect.text();
    expect(redirect.headers.get("Location")).toBe(`/agent/reauth?next=${encodeURIComponent(`/agent/admin/people/${agent.id}/sso-invite`)}`);
    expect(await db().select().from(ssoInvitations).where(eq(ssoInvitations.userId, agent.id))).toHaveLength(0);
  });

  it("is refused for oneself and for a disabled person; a contact's link works only on the support portal", async () => {
    const clock = fakeClock();
    const { admin, client } = await signedInAdmin(clock);
    const self = await client.post(`/agent/admin/people/${admin.id}/sso-invite`);
    expect(self.status).toBe(403);
    expect(await shown(self)).toContain("You cannot invite yourself");
    const disabled = await makeContact({ active: false });
    const off = await client.post(`/agent/admin/people/${disabled.id}/sso-invite`);
    expect(off.status).toBe(409);
    await off.text();
    const contact = await makeContact();
    const link = await invite(client, contact.id);
    const wrongPortal = await browser({ clock }).get(new URL(link).pathname.replace("/support/", "/agent/"));
    expect(wrongPortal.status).toBe(410);
    await wrongPortal.text();
    for (const bad of ["not-a-token", "a".repeat(32), "%00"]) {
      const response = await browser({ clock }).get(`/support/sso/invitation/${bad}`);
      expect(response.status).toBe(410);
      await response.text();
    }
  });
});
