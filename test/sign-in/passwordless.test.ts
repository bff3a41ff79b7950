// "Sign in with a passkey", no password, checked with the software authenticator (real
// P-256 keys, verified by @simplewebauthn/server). Where the portal allows it, a discoverable
// passkey that verifies the person counts as both factors; refused without user verification,
// for a passkey of the other portal, for a disabled account, with the setting off, in SSO-only
// mode, and past the attempt limit passwords share. The challenge is single-use.
import { and, eq } from "drizzle-orm";
import { afterEach, describe, expect, it } from "vitest";
import { env } from "cloudflare:workers";
import { portalStub } from "../../src/auth/sessions";
import { sessionCookieName } from "../../src/request/session-cookie";
import { auditEvents, passkeys, users } from "../../src/db/schema";
import { ACCOUNT_LIMITS } from "../../src/limits/limits";
import { USER_NOT_VERIFIED } from "../../src/factors/passkeys";
import { NOT_REGISTERED } from "../../src/sign-in/passwordless";
import type { Portal } from "../../src/portal/policy";
import { browser, type Browser, type FakeClock, fakeClock } from "../helpers/app";
import { signIn } from "../helpers/auth";
import { db, makeAdmin, makeAgent, makeContact } from "../helpers/factories";
import { enrollThroughPages, postPassword, setMfa } from "../helpers/mfa";
import { setAccess } from "../helpers/oidc-provider";
import { softwareAuthenticator } from "../helpers/webauthn";
import { button, findAll, labelled, shown, tableRows, textIn, textOf, cellText } from "../helpers/html";

type Key = Awaited<ReturnType<typeof softwareAuthenticator>>;

async function postJson(client: Browser, path: string, body: unknown = {}) {
  const r = await client.request(path, { method: "POST", body: JSON.stringify(body), headers: { "Content-Type": "application/json" } });
  return { status: r.status, body: (await r.json()) as Record<string, unknown> & { challenge: string } };
}

const PASSWORDLESS = { passkeys: true, passwordlessPasskeys: true } as const;

/** Add a passkey from My account of a signed-in browser; `discoverable` is what the browser reports. */
async function addPasskey(client: Browser, portal: Portal, discoverable?: boolean): Promise<Key> {
  const key = await softwareAuthenticator();
  const options = await postJson(client, `/${portal}/account/passkeys/options`);
  expect(options.status).toBe(200);
  const added = await postJson(client, `/${portal}/account/passkeys`, {
    name: "Work laptop",
    response: key.register(options.body, undefined, { discoverable }),
  });
  expect(added).toEqual({ status: 200, body: { ok: true } });
  return key;
}

/** A contact, signed in (with the app set up first when `withApp`), who adds a passkey the browser reports discoverable (unless `credProps` is false: it says nothing). */
async function contactWithPasskey(clock: FakeClock, { withApp = false, credProps = true } = {}) {
  const contact = await makeContact();
  const client = browser({ clock });
  if (withApp) await enrollThroughPages(client, "support", contact, clock);
  else await signIn(client, "support", contact);
  const key = await addPasskey(client, "support", credProps ? true : undefined);
  return { contact, key, client };
}

/** "Sign in with a passkey" in a fresh browser: the options, then the authenticator's answer. */
async function passkeyAlone(clock: FakeClock, portal: Portal, answer: (options: { challenge: string }) => Promise<unknown>) {
  const client = browser({ clock });
  const options = await postJson(client, `/${portal}/login/passkey/options`);
  if (options.status !== 200) return { client, status: options.status, body: options.body };
  expect(options.body.userVerification).toBe("required");
  expect(options.body.allowCredentials ?? []).toEqual([]);
  const verified = await postJson(client, `/${portal}/login/passkey`, { response: await answer(options.body) });
  return { client, ...verified };
}

afterEach(async () => {
  await setAccess("support", "password");
  await setMfa("support", { authenticatorApp: false, emailOtp: false, passkeys: false, passwordlessPasskeys: false });
});

describe("signing in with a passkey alone", () => {
  it("counts as both factors: no password and no second step, even with the app required", async () => {
    await setMfa("support", { authenticatorApp: true, ...PASSWORDLESS });
    const clock = fakeClock();
    const { contact, key } = await contactWithPasskey(clock, { withApp: true });
    expect((await db().select().from(passkeys).where(eq(passkeys.userId, contact.id)).get())!.discoverable).toBe(true);

    const page = await (await browser({ clock }).get("/support/login")).text();
    expect(button(page, "Sign in with a passkey")?.getAttribute("id")).toBe("passkey-sign-in-alone");
    // The Email field lets the browser offer passkeys as it is filled in.
    expect(labelled(page, "Email")?.getAttribute("autocomplete")).toBe("username webauthn");
    const signedIn = await passkeyAlone(clock, "support", (options) => key.assert(options, { withUserHandle: true }));
    expect({ status: signedIn.status, body: signedIn.body }).toEqual({ status: 200, body: { redirect: "/support" } });
    const home = await signedIn.client.get("/support");
    expect(home.status).toBe(200);
    expect(await shown(home)).toContain(contact.name);
    const signIns = await db()
      .select()
      .from(auditEvents)
      .where(and(eq(auditEvents.event, "sign_in.succeeded"), eq(auditEvents.actorId, contact.id)));
    expect(signIns.at(-1)!.details).toEqual({ method: "passkey" });
  });

  it("is refused without user verification, for a replayed answer, and for a passkey of the other portal", async () => {
    await setMfa("support", PASSWORDLESS);
    await setMfa("agent", { authenticatorApp: false, emailOtp: false, passkeys: true });
    const clock = fakeClock();
    const { key } = await contactWithPasskey(clock);

    const presenceOnly = await passkeyAlone(clock, "support", (options) => key.assert(options, { userVerified: false }));
    expect({ status: presenceOnly.status, error: presenceOnly.body.error }).toEqual({ status: 401, error: USER_NOT_VERIFIED });
    expect(presenceOnly.client.cookie(sessionCookieName("support"))).toBeUndefined();

    // The same answer again, from the same browser: its challenge was taken.
    const client = browser({ clock });
    const options = await postJson(client, "/support/login/passkey/options");
    const answer = await key.assert(options.body);
    expect((await postJson(client, "/support/login/passkey", { response: answer })).status).toBe(200);
    const replay = await postJson(client, "/support/login/passkey", { response: answer });
    expect(replay.status).toBe(401);
    expect(replay.body.error).toMatch(/expired or was already used/);

    const agent = await makeAgent();
    const agentClient = browser({ clock });
    await signIn(agentClient, "agent", agent);
    const agentKey = await addPasskey(agentClient, "agent", true);
    const otherPortal = await passkeyAlone(clock, "support", (o) => agentKey.assert(o));
    expect({ status: otherPortal.status, error: otherPortal.body.error }).toEqual({ status: 401, error: NOT_REGISTERED });
    await setMfa("agent", { passkeys: false });
  });

  it("tells the holder of a disabled account's passkey that it is disabled, and opens nothing", async () => {
    await setMfa("support", PASSWORDLESS);
    const clock = fakeClock();
    const { contact, key } = await contactWithPasskey(clock);
    await db().update(users).set({ active: false }).where(eq(users.id, contact.id));
    const refused = await passkeyAlone(clock, "support", (o) => key.assert(o));
    expect({ status: refused.status, error: refused.body.error }).toEqual({
      status: 403,
      error: "This account is disabled. Ask your administrator to enable it.",
    });
    expect(refused.client.cookie(sessionCookieName("support"))).toBeUndefined();
  });

  it("is not offered, and refused, with the setting off or in SSO-only mode", async () => {
    await setMfa("support", PASSWORDLESS);
    const clock = fakeClock();
    const { key } = await contactWithPasskey(clock);

    for (const change of [() => setMfa("support", { passkeys: true, passwordlessPasskeys: false }), () => setAccess("support", "sso")]) {
      await setMfa("support", PASSWORDLESS);
      await change();
      const page = await (await browser({ clock }).get("/support/login")).text();
      expect(page).not.toContain("passkey-sign-in-alone");
      const options = await postJson(browser({ clock }), "/support/login/passkey/options");
      expect(options.status).toBe(403);
      // An answer made while it was on does not get in either.
      const verify = await postJson(browser({ clock }), "/support/login/passkey", { response: await key.assert({ challenge: "AAAA" }) });
      expect(verify.status).toBe(403);
      await setAccess("support", "password");
    }
  });

  it("shares the per-account attempt limit with passwords", async () => {
    await setMfa("support", PASSWORDLESS);
    const clock = fakeClock();
    const { contact, key } = await contactWithPasskey(clock);
    for (let i = 0; i < ACCOUNT_LIMITS.unknown.limit; i++) {
      const wrong = await postPassword(browser({ clock }), "support", { email: contact.email, password: `wrong password ${i}` });
      expect(wrong.status).toBe(401);
    }
    const throttled = await passkeyAlone(clock, "support", (o) => key.assert(o));
    expect(throttled.status).toBe(429);
    expect(throttled.body.error).toMatch(/Too many sign-in attempts/);
    clock.advance(ACCOUNT_LIMITS.unknown.windowMs);
    expect((await passkeyAlone(clock, "support", (o) => key.assert(o))).status).toBe(200);
  });
});

describe("the setting", () => {
  it("needs Passkeys on: turned on alone it is refused with a reason, and nothing changes", async () => {
    const admin = await makeAdmin();
    const client = browser();
    await signIn(client, "agent", admin);
    const refused = await client.post("/agent/settings/security/contacts/mfa/apply", {
      passwordlessPasskeys: "on",
      issuerName: "EdgeDesk",
      apply: "immediately",
    });
    expect(refused.status).toBe(400);
    expect(await shown(refused)).toContain("Turn on Passkeys too: signing in with a passkey alone needs people to be able to add one.");
    expect((await portalStub(env, "support").getPolicy()).mfa.passwordlessPasskeys).toBe(false);
    const saved = await client.post("/agent/settings/security/contacts/mfa/apply", {
      passkeys: "on",
      passwordlessPasskeys: "on",
      issuerName: "EdgeDesk",
      apply: "immediately",
    });
    await saved.text();
    expect(saved.status).toBe(303);
    expect((await portalStub(env, "support").getPolicy()).mfa).toMatchObject({ passkeys: true, passwordlessPasskeys: true });
  });
});

describe("passkeys on My account, where they sign in alone", () => {
  it("marks those not known to be discoverable, and warns before the last one goes without locking anyone out", async () => {
    await setMfa("support", PASSWORDLESS);
    const clock = fakeClock();
    const { contact, client } = await contactWithPasskey(clock, { credProps: false });
    const [stored] = await db().select().from(passkeys).where(eq(passkeys.userId, contact.id));
    expect(stored!.discoverable).toBeNull();
    const account = await (await client.get("/support/account")).text();
    expect(tableRows(account, "passkeys").map((row) => row.Name)).toEqual(["Work laptop · may need adding again"]);
    expect(findAll(account, '[data-testid="passkeys"] td > span.hint').map(textIn)).toEqual(["· may need adding again"]);
    expect(textOf(account, '[data-testid="passkeys-unknown"]')).toContain(
      "was added before EdgeDesk recorded whether it can sign you in without a password.",
    );
    expect(cellText(account)).toContain("This is your only passkey. Without it you sign in with your email, password and second step.");

    const removed = await client.post(`/support/account/passkeys/${encodeURIComponent(stored!.id)}/delete`);
    await removed.text();
    expect(removed.headers.get("Location")).toBe("/support/account?done=last_passkey_removed");
    await (await client.post("/support/logout")).text();
    await signIn(browser({ clock }), "support", contact);
  });
});
