// An admin with the recovery permission sees one person's passkeys and remembered
// devices and removes them one by one (an MFA reset removes them all): re-authentication, the
// access rule, an audit entry and an email to the person.
import { env } from "cloudflare:workers";
import { and, desc, eq } from "drizzle-orm";
import { beforeAll, describe, expect, it } from "vitest";
import { portalStub } from "../../src/auth/sessions";
import { userStub } from "../../src/auth/user-object";
import { auditEvents, devMailbox, passkeys } from "../../src/db/schema";
import { DAY, MINUTE } from "../../src/lib/clock";
import { browser, type Browser, fakeClock } from "../helpers/app";
import { signIn } from "../helpers/auth";
import { db, makeAdmin, makeAgent, makeContact } from "../helpers/factories";
import { find, tableRows, cellText } from "../helpers/html";
import { setMfa } from "../helpers/mfa";
import { makeRole } from "../helpers/roles";

const clock = fakeClock();

async function givePasskey(userId: string, name: string) {
  const id = `cred-${crypto.randomUUID()}`;
  await db()
    .insert(passkeys)
    .values({ id, userId, name, publicKey: "AAAA", counter: 0, transports: null, createdAt: clock.now() - DAY, lastUsedAt: null });
  return id;
}

async function giveDevice(userId: string, portal: "agent" | "support") {
  const id = `dev_${"abcdefghijklmnop"
    .split("")
    .sort(() => Math.random() - 0.5)
    .join("")}`;
  const { generation } = await portalStub(env, portal).getPolicy();
  await userStub(env, userId).rememberDevice({
    id,
    tokenHash: crypto.randomUUID(),
    generation,
    now: clock.now(),
    expiresAt: clock.now() + 30 * DAY,
    ip: "203.0.113.7",
    userAgent: "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_0) Firefox/140.0",
  });
  return id;
}

async function post(client: Browser, path: string, form: Record<string, string> = {}) {
  const response = await client.post(path, form);
  return { status: response.status, location: response.headers.get("Location"), text: await response.text() };
}

beforeAll(() =>
  Promise.all([
    setMfa("agent", { authenticatorApp: false, emailOtp: false, rememberDays: 30 }),
    setMfa("support", { authenticatorApp: false, emailOtp: false, rememberDays: 30 }),
  ]),
);

describe("an admin removes one passkey or one remembered device", () => {
  it("lists them under their headings and removes each on its own, audited and emailed", async () => {
    const admin = await makeAdmin();
    const contact = await makeContact({ name: "Cora Contact" });
    const laptop = await givePasskey(contact.id, "Work laptop");
    await givePasskey(contact.id, "Phone");
    const device = await giveDevice(contact.id, "support");
    const client = browser({ clock });
    await signIn(client, "agent", admin);

    const page = await (await client.get(`/agent/admin/contacts/${contact.id}`)).text();
    expect(tableRows(page, "admin-passkeys").map((r) => [r.Name, r.Added, r["Last used"]])).toEqual([
      ["Work laptop", "24 h ago", "never"],
      ["Phone", "24 h ago", "never"],
    ]);
    expect(tableRows(page, "admin-devices").map((r) => [r.Device, r["IP address"]])).toEqual([["Firefox on macOS", "203.0.113.7"]]);

    const removed = await post(client, `/agent/admin/people/${contact.id}/passkeys/${encodeURIComponent(laptop)}/remove`);
    expect(removed.status).toBe(303);
    expect(removed.location).toBe(`/agent/admin/contacts/${contact.id}?done=passkey_removed`);
    expect((await db().select().from(passkeys).where(eq(passkeys.userId, contact.id))).map((p) => p.name)).toEqual(["Phone"]);
    // A reason is asked for, and told to the person.
    const noReason = await post(client, `/agent/admin/people/${contact.id}/devices/${device}/forget`);
    expect(noReason.status).toBe(400);
    expect(
      await userStub(env, contact.id).listDevices((await portalStub(env, "support").getPolicy()).generation, clock.now()),
    ).toHaveLength(1);
    const forgot = await post(client, `/agent/admin/people/${contact.id}/devices/${device}/forget`, { reason: "Laptop reported stolen" });
    expect(forgot.status, forgot.text).toBe(303);
    const { generation } = await portalStub(env, "support").getPolicy();
    expect(await userStub(env, contact.id).listDevices(generation, clock.now())).toEqual([]);

    const events = await db()
      .select()
      .from(auditEvents)
      .where(and(eq(auditEvents.targetId, contact.id), eq(auditEvents.actorId, admin.id)));
    expect(events.map((e) => [e.event, e.portal])).toEqual([
      ["passkey.removed", "support"],
      ["devices.forgotten", "support"],
    ]);
    expect(events[1]!.details).toMatchObject({ byAdmin: true, reason: "Laptop reported stolen" });
    const mails = await db().select().from(devMailbox).where(eq(devMailbox.to, contact.email)).orderBy(desc(devMailbox.id));
    expect(mails[0]!.body).toContain("from your EdgeDesk account, giving this reason:\n\nLaptop reported stolen\n");
    expect(mails.map((m) => m.body.match(/removed (.+) from your EdgeDesk account/)?.[1])).toEqual([
      "a remembered device (it will be asked for the second step again)",
      "the passkey “Work laptop”",
    ]);

    // Unknown items are refused without touching the rest.
    expect((await post(client, `/agent/admin/people/${contact.id}/passkeys/nope/remove`)).status).toBe(404);
    expect((await post(client, `/agent/admin/people/${contact.id}/devices/dev_aaaaaaaaaaaaaaaa/forget`, { reason: "x" })).status).toBe(404);
    expect(await db().select().from(passkeys).where(eq(passkeys.userId, contact.id))).toHaveLength(1);
  });

  it("needs a fresh re-authentication, the recovery permission, and the access rule", async () => {
    const admin = await makeAdmin();
    const target = await makeAdmin();
    const id = await givePasskey(target.id, "Key");
    // Signing in counts as confirming for 5 minutes; 6 minutes later it does not.
    const later = fakeClock(clock.now());
    const staleClient = browser({ clock: later });
    await signIn(staleClient, "agent", admin);
    later.advance(6 * MINUTE);
    expect((await post(staleClient, `/agent/admin/people/${target.id}/passkeys/${encodeURIComponent(id)}/remove`)).status).toBe(401);

    const helper = await makeAgent({ roleId: await makeRole(["manageRecoveryAndMfaReset", "manageAgents"]) });
    const helperClient = browser({ clock });
    await signIn(helperClient, "agent", helper);
    const page = await (await helperClient.get(`/agent/admin/agents/${target.id}`)).text();
    expect(find(page, '[data-testid="admin-passkeys"]')).toBeNull();
    const refused = await post(helperClient, `/agent/admin/people/${target.id}/passkeys/${encodeURIComponent(id)}/remove`);
    expect(refused.status).toBe(403);
    expect(cellText(refused.text)).toContain("so you cannot remove their passkeys");

    const viewer = await makeAgent({ roleId: await makeRole(["manageAgents"]) });
    const viewerClient = browser({ clock });
    await signIn(viewerClient, "agent", viewer);
    expect((await post(viewerClient, `/agent/admin/people/${target.id}/passkeys/${encodeURIComponent(id)}/remove`)).status).toBe(403);
    expect(await db().select().from(passkeys).where(eq(passkeys.userId, target.id))).toHaveLength(1);
  });
});
