// "Download my data" on My account: a person's own data as JSON, read back here as a
// program would read it, with each value where it belongs and no secret anywhere in it.
import { env } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import { beforeAll, describe, expect, it } from "vitest";
import { auditEvents, passkeys, totpCredentials, users } from "../../src/db/schema";
import { generateRecoveryCodes } from "../../src/factors/recovery-codes";
import { pendingEnrollmentKey } from "../../src/factors/totp";
import { browser, fakeClock } from "../helpers/app";
import { signIn } from "../helpers/auth";
import { db, makeAgent, makeContact } from "../helpers/factories";
import { makeLocation, seedAssets } from "../helpers/inventory";
import { setMfa } from "../helpers/mfa";
import { links, shown } from "../helpers/html";

const FIREFOX = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:140.0) Gecko/20100101 Firefox/140.0";

beforeAll(() =>
  Promise.all([
    setMfa("support", { authenticatorApp: false, emailOtp: false }),
    setMfa("agent", { authenticatorApp: false, emailOtp: false }),
  ]),
);

describe("a person downloads their own data", () => {
  it("from My account, as JSON: profile, sign-in methods, sessions, security activity and their assets, without secrets", async () => {
    const clock = fakeClock();
    const contact = await makeContact({ name: "Dana Download" });
    const someoneElse = await makeContact();
    const location = await makeLocation(`Office ${crypto.randomUUID().slice(0, 6)}`);
    const [mine] = await seedAssets(1, { prefix: "Dana laptop", location_id: location });
    const [theirs] = await seedAssets(1, { prefix: "Other laptop" });
    await env.DB.batch([
      env.DB.prepare("UPDATE assets SET used_by_id = ? WHERE id = ?").bind(contact.id, mine),
      env.DB.prepare("UPDATE assets SET used_by_id = ? WHERE id = ?").bind(someoneElse.id, theirs),
    ]);
    await db()
      .insert(passkeys)
      .values({
        id: `cred-${crypto.randomUUID()}`,
        userId: contact.id,
        name: "Dana's phone",
        publicKey: "AAAA",
        counter: 0,
        transports: null,
        createdAt: clock.now() - 60_000,
        lastUsedAt: null,
      });
    await pendingEnrollmentKey(env, db(), contact.id, clock.now());
    const codes = await generateRecoveryCodes(env, db(), contact.id, clock.now());

    const client = browser({ clock, ip: "203.0.113.77", userAgent: FIREFOX });
    await signIn(client, "support", contact);
    const account = await (await client.get("/support/account")).text();
    expect(links(account)).toContainEqual({ text: "Download my data", href: "/support/account/export" });

    clock.advance(60_000);
    const response = await client.get("/support/account/export");
    expect(response.status).toBe(200);
    expect(response.headers.get("Content-Type")).toBe("application/json; charset=utf-8");
    expect(response.headers.get("Content-Disposition")).toBe('attachment; filename="edgedesk-my-data-2026-11-22.json"');
    expect(response.headers.get("Cache-Control")).toBe("no-store");
    const text = await response.text();
    const data = JSON.parse(text);

    expect(data.exportedAt).toBe(new Date(clock.now()).toISOString());
    expect(data.portal).toBe("Support portal");
    expect(data.profile).toEqual({
      id: contact.id,
      name: "Dana Download",
      email: contact.email,
      createdAt: "2026-01-01T00:00:00.000Z",
      passwordChangedAt: expect.any(String),
    });
    expect(data.signIn).toEqual({
      password: true,
      microsoftAccount: null,
      // Not confirmed yet: the key was only offered for enrollment.
      authenticatorApp: false,
      recoveryCodesLeft: 10,
      passkeys: [{ name: "Dana's phone", addedAt: new Date(clock.now() - 120_000).toISOString(), lastUsedAt: null }],
    });
    expect(data.sessions).toEqual([
      {
        current: true,
        device: "Firefox on Windows",
        ip: "203.0.113.77",
        startedAt: new Date(clock.now() - 60_000).toISOString(),
        lastSeenAt: expect.any(String),
      },
    ]);
    expect(data.securityActivity).toContainEqual({
      at: new Date(clock.now() - 60_000).toISOString(),
      what: "Signed in with a password",
      device: "Firefox on Windows",
      ip: "203.0.113.77",
    });
    expect(data.assets).toEqual([
      {
        name: "Dana laptop 00001",
        assetTag: "DANA LAPTOP-00001",
        type: "laptop",
        status: "in_use",
        location: expect.stringMatching(/^Office /),
      },
    ]);

    // Nothing that would let someone sign in as them.
    const user = (await db().select().from(users).where(eq(users.id, contact.id)).get())!;
    const totp = (await db().select().from(totpCredentials).where(eq(totpCredentials.userId, contact.id)).get())!;
    for (const secret of [user.passwordHash!, totp.secretEncrypted, ...codes]) expect(text).not.toContain(secret);
    expect(text).not.toMatch(/"(password_?hash|secret|token|mac)"/i);

    // The download is audited and shows in their own security activity.
    const exported = await db().select().from(auditEvents).where(eq(auditEvents.event, "account.exported"));
    expect(exported.filter((e) => e.actorId === contact.id)).toHaveLength(1);
    expect(await shown(await client.get("/support/account"))).toContain("Your data was downloaded from My account");
  });

  it("works for agents too, and only for the person signed in", async () => {
    const agent = await makeAgent({ name: "Avi Agent" });
    const client = browser();
    await signIn(client, "agent", agent);
    const data = await (await client.get("/agent/account/export")).json<{
      portal: string;
      profile: { email: string };
      assets: unknown[];
    }>();
    expect(data.portal).toBe("Agent portal");
    expect(data.profile.email).toBe(agent.email);
    expect(data.assets).toEqual([]);

    const anonymous = await browser().get("/support/account/export");
    await anonymous.text();
    expect(anonymous.status).toBe(303);
    expect(anonymous.headers.get("Location")).toMatch(/^\/support\/login/);
  });
});
