import { generateKeyPair, type JWTPayload } from "jose";
import { env } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { portalStub } from "../../src/auth/sessions";
import { sessionCookieName } from "../../src/request/session-cookie";
import { userStub } from "../../src/auth/user-object";
import { auditEvents, ssoIdentities, users } from "../../src/db/schema";
import { HOUR } from "../../src/lib/clock";
import { type AccessMode, PORTALS, type Portal } from "../../src/portal/policy";
import { browser, type Browser, fakeClock } from "../helpers/app";
import { db, makeAgent, makeContact } from "../helpers/factories";
import { setMfa } from "../helpers/mfa";
import { AUTHORITY, type Provider, setAccess, signInThrough, type SsoToken, startProvider, unsignedToken } from "../helpers/oidc-provider";
import { labelled, links, shown, cellText } from "../helpers/html";

let provider: Provider;
beforeAll(async () => {
  provider = await startProvider();
});
afterAll(() => provider.stop());

const ssoSignIn = (client: Browser, portal: Portal, now: number, token: SsoToken, startPath?: string) =>
  signInThrough(provider, client, portal, now, token, startPath);

describe("the authorization request", () => {
  it("uses PKCE S256, state, nonce and response_mode=query against the configured authority", async () => {
    await setAccess("agent", "both");
    const start = await browser().get("/agent/sso/start");
    await start.text();
    const url = new URL(start.headers.get("Location")!);
    expect(url.origin + url.pathname).toBe(`${AUTHORITY}/organizations/oauth2/v2.0/authorize`);
    expect(url.searchParams.get("code_challenge_method")).toBe("S256");
    expect(url.searchParams.get("code_challenge")).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(url.searchParams.get("state")!.length).toBeGreaterThanOrEqual(20);
    expect(url.searchParams.get("nonce")!.length).toBeGreaterThanOrEqual(20);
    expect(url.searchParams.get("response_mode")).toBe("query");
    expect(url.searchParams.get("redirect_uri")).toBe("https://edgedesk.test/agent/sso/callback");
    expect(url.searchParams.get("scope")).toContain("openid");
    const cookie = start.headers.getSetCookie().find((c) => c.startsWith("__Host-edgedesk_sso_agent="))!;
    expect(cookie).toMatch(/HttpOnly/);
    expect(cookie).toMatch(/Secure/);
    expect(cookie).toMatch(/SameSite=Lax/);
  });
});

describe.each(PORTALS)("single sign-on on the %s portal", (portal) => {
  it("signs in with no MFA step, even with MFA required, and the session is marked SSO", async () => {
    await setAccess(portal, "both");
    await setMfa(portal, { authenticatorApp: true, emailOtp: true });
    const clock = fakeClock();
    const person = portal === "agent" ? await makeAgent({ name: "Sam Agent" }) : await makeContact({ name: "Sam Contact" });
    const client = browser({ clock });
    const { response } = await ssoSignIn(client, portal, clock.now(), {
      oid: `oid-${person.id}`,
      email: person.email.toUpperCase(),
      xms_edov: true,
    });
    expect(response.status).toBe(303);
    expect(response.headers.get("Location")).toBe(`/${portal}`);
    const home = await client.get(`/${portal}`);
    expect(home.status).toBe(200);
    expect(await shown(home)).toContain(person.name);
    const sessions = await userStub(env, person.id).listSessions({
      generation: (await portalStub(env, portal).getPolicy()).generation,
      policy: { idleTimeoutMs: HOUR, absoluteLifetimeMs: 24 * HOUR },
      now: clock.now(),
    });
    expect(sessions.map((s) => s.method)).toEqual(["sso"]);
    const audit = await db().select().from(auditEvents).where(eq(auditEvents.actorId, person.id)).get();
    expect(audit).toMatchObject({
      event: "sign_in.succeeded",
      portal,
      details: { method: "sso", tenantId: "tenant-a", objectId: `oid-${person.id}` },
    });
    await setMfa(portal, { authenticatorApp: false, emailOtp: false });
  });

  it("links on (tenant id, object id): a later sign-in works though the email claim changed", async () => {
    await setAccess(portal, "both");
    const clock = fakeClock();
    const person = portal === "agent" ? await makeAgent() : await makeContact();
    await ssoSignIn(browser({ clock }), portal, clock.now(), { oid: `oid-link-${person.id}`, email: person.email, xms_edov: true });
    const again = browser({ clock });
    const { response } = await ssoSignIn(again, portal, clock.now(), {
      oid: `oid-link-${person.id}`,
      email: "renamed@elsewhere.example",
      xms_edov: true,
    });
    expect(response.headers.get("Location")).toBe(`/${portal}`);
    expect(await shown(await again.get(`/${portal}`))).toContain(person.name);
  });
});

describe("accounts", () => {
  it("never creates an agent: an unknown Microsoft account is refused on the agent portal", async () => {
    await setAccess("agent", "both");
    const clock = fakeClock();
    const { response, body } = await ssoSignIn(browser({ clock }), "agent", clock.now(), {
      oid: "oid-stranger",
      email: "stranger@example.com",
      xms_edov: true,
    });
    expect(response.status).toBe(403);
    expect(cellText(body)).toContain("There is no EdgeDesk agent account");
    expect(await db().select().from(users).where(eq(users.email, "stranger@example.com"))).toHaveLength(0);
  });

  it("creates a contact on first SSO sign-in to the support portal", async () => {
    await setAccess("support", "both");
    const clock = fakeClock();
    const client = browser({ clock });
    const { response } = await ssoSignIn(client, "support", clock.now(), {
      oid: "oid-new-customer",
      email: "New.Customer@Example.com",
      xms_edov: true,
      name: "Nia Customer",
    });
    expect(response.headers.get("Location")).toBe("/support");
    const created = await db().select().from(users).where(eq(users.email, "new.customer@example.com")).get();
    expect(created).toMatchObject({ kind: "contact", name: "Nia Customer", passwordHash: null });
    expect(await shown(await client.get("/support"))).toContain("Nia Customer");
  });

  it("refuses an email-only match: an account linked to one identity cannot be taken by another with the same email", async () => {
    await setAccess("agent", "both");
    const clock = fakeClock();
    const agent = await makeAgent();
    await ssoSignIn(browser({ clock }), "agent", clock.now(), { tid: "tenant-a", oid: "oid-real", email: agent.email, xms_edov: true });
    const attacker = browser({ clock });
    const { response, body } = await ssoSignIn(attacker, "agent", clock.now(), {
      tid: "tenant-b",
      oid: "oid-attacker",
      email: agent.email,
      xms_edov: true,
    });
    expect(response.status).toBe(403);
    expect(cellText(body)).toContain("already linked to a different Microsoft account");
    expect(attacker.cookie(sessionCookieName("agent"))).toBeUndefined();
  });

  it("refuses to link through an email Microsoft has not verified", async () => {
    await setAccess("agent", "both");
    const clock = fakeClock();
    const agent = await makeAgent();
    for (const claims of [{ email: agent.email }, { email: agent.email, xms_edov: false }, { preferred_username: agent.email }]) {
      const { response } = await ssoSignIn(browser({ clock }), "agent", clock.now(), { oid: "oid-unverified", ...claims });
      expect(response.status).toBe(403);
    }
    expect(await db().select().from(ssoIdentities).where(eq(ssoIdentities.userId, agent.id))).toHaveLength(0);
  });

  it("refuses a disabled agent", async () => {
    await setAccess("agent", "both");
    const clock = fakeClock();
    const agent = await makeAgent({ active: false });
    const { response, body } = await ssoSignIn(browser({ clock }), "agent", clock.now(), {
      oid: "oid-disabled",
      email: agent.email,
      xms_edov: true,
    });
    expect(response.status).toBe(403);
    expect(cellText(body)).toContain("disabled");
  });
});

describe("SECURITY.md 23-26: rejected callbacks and tokens", () => {
  async function refused(token: JWTPayload | ((nonce: string) => Promise<string>), message?: string) {
    await setAccess("support", "both");
    const clock = fakeClock();
    const contact = await makeContact();
    const client = browser({ clock });
    const result = await ssoSignIn(
      client,
      "support",
      clock.now(),
      typeof token === "function" ? token : { oid: `oid-${contact.id}`, email: contact.email, xms_edov: true, ...token },
    );
    expect(result.response.status, result.body.slice(0, 200)).toBeGreaterThanOrEqual(400);
    if (message) expect(result.body).toContain(message);
    expect(client.cookie(sessionCookieName("support"))).toBeUndefined();
    // The page offers Microsoft sign-in again, beside the password form.
    expect(links(result.body)).toContainEqual({ text: "Sign in with Microsoft", href: "/support/sso/start" });
    const password = labelled(result.body, "Password");
    expect([password?.getAttribute("type"), password?.getAttribute("name")]).toEqual(["password", "password"]);
    return { contact, clock };
  }

  it("a missing or mismatched state", async () => {
    await setAccess("support", "both");
    const client = browser();
    const start = await client.get("/support/sso/start");
    await start.text();
    const authorize = new URL(start.headers.get("Location")!);
    const code = provider.authorize(authorize, "x");
    for (const query of [`code=${code}`, `code=${code}&state=forged-state-value-1234567890`]) {
      const response = await client.get(`/support/sso/callback?${query}`);
      expect(response.status).toBe(400);
      await response.text();
    }
    // Without the browser's flow cookie (a callback forwarded to someone else) it fails too.
    const other = await browser().get(`/support/sso/callback?code=${code}&state=${authorize.searchParams.get("state")}`);
    expect(other.status).toBe(400);
    expect(await shown(other)).toContain("not started in this browser");
  });

  it("a replayed callback (and code)", async () => {
    await setAccess("support", "both");
    const clock = fakeClock();
    const contact = await makeContact();
    const client = browser({ clock });
    const first = await ssoSignIn(client, "support", clock.now(), {
      oid: `oid-replay-${contact.id}`,
      email: contact.email,
      xms_edov: true,
    });
    expect(first.response.status).toBe(303);
    // The attacker has the callback URL and even the flow cookie the victim's browser sent.
    const replay = await browser({ clock }).get(first.callback, { headers: { Cookie: first.flowCookie } });
    expect(replay.status).toBe(400);
    expect(await shown(replay)).toContain("This sign-in was already used");
  });

  it("a wrong nonce", () =>
    refused(
      (nonce) => provider.sign(provider.claims(`${nonce}-other`, fakeClock().now(), { oid: "o", email: "x@example.com", xms_edov: true })),
      "does not belong to this sign-in",
    ));
  it("a bad signature", async () => {
    const { privateKey } = await generateKeyPair("RS256");
    await refused((nonce) => provider.sign(provider.claims(nonce, fakeClock().now(), { oid: "o" }), privateKey), "could not be verified");
  });
  it("alg: none", () =>
    refused(async (nonce) => unsignedToken(provider.claims(nonce, fakeClock().now(), { oid: "o" })), "could not be verified"));
  it("a wrong audience", () => refused({ aud: "someone-else" }, "could not be verified"));
  it("an expired token", () =>
    refused(
      { exp: Math.floor(fakeClock().now() / 1000) - 120, iat: Math.floor(fakeClock().now() / 1000) - 3720 },
      "could not be verified",
    ));
  it("a wrong issuer", () => refused({ iss: `${AUTHORITY}/tenant-b/v2.0` }, "could not be verified"));
  it("a foreign tenant", () => refused({ tid: "tenant-evil", iss: `${AUTHORITY}/tenant-evil/v2.0` }, "Your organisation is not allowed"));
  it("a token exchange the provider refuses (PKCE mismatch)", async () => {
    await setAccess("support", "both");
    const client = browser();
    const start = await client.get("/support/sso/start");
    await start.text();
    const authorize = new URL(start.headers.get("Location")!);
    authorize.searchParams.set("code_challenge", "A".repeat(43)); // the provider saw another challenge
    const code = provider.authorize(authorize, "unused");
    const response = await client.get(`/support/sso/callback?code=${code}&state=${authorize.searchParams.get("state")}`);
    expect(response.status).toBe(400);
    expect(await shown(response)).toContain("Microsoft did not accept this sign-in");
  });
});

describe("portal access modes, enforced on the server", () => {
  const cases: [Portal, AccessMode, boolean, boolean][] = [
    ["agent", "password", true, false],
    ["agent", "sso", false, true],
    ["agent", "both", true, true],
    ["support", "password", true, false],
    ["support", "sso", false, true],
    ["support", "both", true, true],
  ];
  it.each(cases)("%s portal, mode %s: password %s, SSO %s", async (portal, mode, password, sso) => {
    await setAccess(portal, mode);
    const person = portal === "agent" ? await makeAgent() : await makeContact();
    const page = await (await browser().get(`/${portal}/login`)).text();
    expect(page.includes('name="password"')).toBe(password);
    expect(page.includes("Sign in with Microsoft")).toBe(sso);

    const post = await browser().post(`/${portal}/login`, { email: person.email, password: person.password });
    const postBody = await post.text();
    if (password) expect(post.status).toBe(303);
    else {
      expect(post.status).toBe(403);
      expect(postBody).toContain("signs in with Microsoft only");
    }
    const start = await browser().get(`/${portal}/sso/start`);
    await start.text();
    expect(start.status).toBe(sso ? 302 : 403);
  });
});

describe("re-authentication of a person who signs in with Microsoft", () => {
  it("needs Microsoft to ask for the password again: prompt=login, max_age, and a recent auth_time of the linked account", async () => {
    await setAccess("support", "both");
    await setMfa("support", { authenticatorApp: false, emailOtp: false });
    const clock = fakeClock();
    const client = browser({ clock });
    const oid = `oid-${crypto.randomUUID()}`;
    const email = `reauth-${crypto.randomUUID().slice(0, 8)}@tenant-a.example`;
    const signedIn = await ssoSignIn(client, "support", clock.now(), { oid, email, xms_edov: true });
    expect(signedIn.response.status).toBe(303);
    // A Microsoft sign-in is no fresh re-authentication: a sensitive action asks for one.
    const sensitive = await client.post("/support/account/passkeys/options");
    expect(sensitive.status).toBe(401);
    await sensitive.text();
    const page = await (await client.get("/support/reauth?next=/support/account")).text();
    expect(links(page)).toContainEqual({ text: "Confirm with Microsoft", href: "/support/sso/start?reauth=1&next=%2Fsupport%2Faccount" });

    const start = "/support/sso/start?reauth=1&next=/support/account";
    const attempt = (claims: JWTPayload) => ssoSignIn(client, "support", clock.now(), { oid, email, xms_edov: true, ...claims }, start);
    const noAuthTime = await attempt({});
    expect(noAuthTime.authorize.searchParams.get("prompt")).toBe("login");
    expect(noAuthTime.authorize.searchParams.get("max_age")).toBe("300");
    expect(noAuthTime.response.status).toBe(403);
    expect(noAuthTime.body).toContain("the ID token has no auth_time claim");
    const stale = await attempt({ auth_time: Math.floor(clock.now() / 1000) - 600 });
    expect(stale.response.status).toBe(403);
    expect(cellText(stale.body)).toContain("Microsoft did not ask for your password just now");
    const someoneElse = await attempt({ oid: `oid-other-${crypto.randomUUID()}`, auth_time: Math.floor(clock.now() / 1000) });
    expect(someoneElse.response.status).toBe(403);
    expect(someoneElse.body).toContain("not the one linked to your EdgeDesk account");
    const stillStale = await client.post("/support/account/passkeys/options");
    expect(stillStale.status).toBe(401);
    await stillStale.text();

    const fresh = await attempt({ auth_time: Math.floor(clock.now() / 1000) - 30 });
    expect(fresh.response.status).toBe(303);
    expect(fresh.response.headers.get("Location")).toBe("/support/account");
    const now = await client.post("/support/account/passkeys/options");
    expect(now.status).not.toBe(401);
    await now.text();
    const events = await db().select().from(auditEvents).where(eq(auditEvents.event, "reauthenticated"));
    expect(events.some((e) => (e.details as { method?: string } | null)?.method === "sso")).toBe(true);
  });

  it("a re-authentication flow needs someone signed in", async () => {
    await setAccess("support", "both");
    const start = await browser().get("/support/sso/start?reauth=1");
    await start.text();
    expect(start.status).toBe(303);
    expect(start.headers.get("Location")).toBe("/support/login");
  });
});
