// Passkeys as a second factor, checked with a software authenticator (real P-256 keys).
import { describe, expect, it } from "vitest";
import { sessionCookieName } from "../../src/request/session-cookie";
import { ACCOUNT_LIMITS } from "../../src/limits/limits";
import { browser, type Browser, type FakeClock, fakeClock } from "../helpers/app";
import { signIn } from "../helpers/auth";
import { makeAdmin, makeContact } from "../helpers/factories";
import { enrollThroughPages, postPassword, setMfa, totpCode } from "../helpers/mfa";
import { softwareAuthenticator } from "../helpers/webauthn";
import { button, find, findAll, forms, shown, tableRows, textIn, cellText } from "../helpers/html";

async function postJson(client: Browser, path: string, body: unknown = {}) {
  const r = await client.request(path, { method: "POST", body: JSON.stringify(body), headers: { "Content-Type": "application/json" } });
  return { status: r.status, body: (await r.json()) as Record<string, unknown> & { challenge: string } };
}

/** A contact, signed in, who adds a passkey from My account. */
async function contactWithPasskey(clock: FakeClock) {
  const contact = await makeContact();
  const client = browser({ clock });
  await signIn(client, "support", contact);
  const key = await softwareAuthenticator();
  const options = await postJson(client, "/support/account/passkeys/options");
  expect(options.status).toBe(200);
  const added = await postJson(client, "/support/account/passkeys", { name: "Work laptop", response: key.register(options.body) });
  expect(added).toEqual({ status: 200, body: { ok: true } });
  await (await client.post("/support/logout")).text();
  return { contact, key };
}

/** Password, then a passkey assertion made by `answer` for this flow's challenge. */
async function signInWithPasskey(
  clock: FakeClock,
  contact: { email: string; password: string },
  answer: (options: { challenge: string }) => Promise<unknown>,
) {
  const client = browser({ clock });
  const login = await postPassword(client, "support", contact);
  expect(login.headers.get("Location")).toBe("/support/login/verify");
  const options = await postJson(client, "/support/login/verify/passkey/options");
  expect(options.status).toBe(200);
  const verified = await postJson(client, "/support/login/verify/passkey", { response: await answer(options.body) });
  return { client, verified, options: options.body };
}

describe("passkeys", () => {
  it("are added on My account (named and listed) and sign in at the second step", async () => {
    await setMfa("support", { authenticatorApp: false, emailOtp: false, passkeys: true });
    const clock = fakeClock();
    const { contact, key } = await contactWithPasskey(clock);

    const client = browser({ clock });
    await postPassword(client, "support", contact);
    const page = await (await client.get("/support/login/verify")).text();
    // The button the passkey script starts from, and the library it uses, are on the page.
    expect(button(page, "Use a passkey")?.getAttribute("id")).toBe("passkey-sign-in");
    expect(find(page, 'script[src="/vendor/simplewebauthn-browser-14.0.0.umd.min.js"]')).not.toBeNull();
    const pending = client.cookie(sessionCookieName("support"));
    const options = await postJson(client, "/support/login/verify/passkey/options");
    const verified = await postJson(client, "/support/login/verify/passkey", { response: await key.assert(options.body) });
    expect(verified).toEqual({ status: 200, body: { redirect: "/support" } });
    // A new session token after the second factor, and it opens the portal.
    expect(client.cookie(sessionCookieName("support"))).not.toBe(pending);
    expect((await client.get("/support")).status).toBe(200);

    const account = await (await client.get("/support/account")).text();
    expect(tableRows(account, "passkeys").map((row) => row.Name)).toContain("Work laptop");
    expect(cellText(account)).toContain("Passkey “Work laptop” added");
  });

  it("refuse a replayed assertion, a cloned authenticator's counter and a wrong origin", async () => {
    await setMfa("support", { authenticatorApp: false, emailOtp: false, passkeys: true });
    const clock = fakeClock();
    const { contact, key } = await contactWithPasskey(clock);

    let captured: unknown;
    const first = await signInWithPasskey(clock, contact, async (o) => (captured = await key.assert(o)));
    expect(first.verified.status).toBe(200);
    // The same assertion, sent again in a new sign-in: its challenge was used up.
    const replayed = await signInWithPasskey(clock, contact, async () => captured);
    expect(replayed.verified.status).toBe(401);
    // A fresh challenge signed with a counter that did not move forward (a cloned key).
    const cloned = await signInWithPasskey(clock, contact, (o) => key.assert(o, { signCount: 1 }));
    expect(cloned.verified.status).toBe(401);
    // Signed for another site.
    const phished = await signInWithPasskey(clock, contact, (o) => key.assert(o, { origin: "https://edgedesk.test.evil.example" }));
    expect(phished.verified.status).toBe(401);
    // Someone else's passkey for this account is not registered to it.
    const stranger = await softwareAuthenticator();
    const foreign = await signInWithPasskey(clock, contact, (o) => stranger.assert(o));
    expect(foreign.verified).toEqual({ status: 401, body: { error: "That passkey is not registered to your account." } });
    // And the real one still works.
    expect((await signInWithPasskey(clock, contact, (o) => key.assert(o))).verified.status).toBe(200);
  });

  it("refuse registration from another origin, and need a recent confirmation to add one", async () => {
    await setMfa("support", { authenticatorApp: false, emailOtp: false, passkeys: true });
    const clock = fakeClock();
    const contact = await makeContact();
    const client = browser({ clock });
    await signIn(client, "support", contact);
    const key = await softwareAuthenticator();
    const options = await postJson(client, "/support/account/passkeys/options");
    const wrong = await postJson(client, "/support/account/passkeys", {
      name: "Phished",
      response: key.register(options.body, "https://evil.example"),
    });
    expect(wrong.status).toBe(400);
    clock.advance(6 * 60_000);
    const late = await client.request("/support/account/passkeys/options", {
      method: "POST",
      body: "{}",
      headers: { "Content-Type": "application/json" },
    });
    expect(late.status).toBe(401);
    await late.text();
    expect(await shown(await client.get("/support/account"))).toContain("Confirm it's you to add or remove a passkey");
  });

  it("count wrong passkeys and wrong codes toward one limit, and can be removed", async () => {
    await setMfa("support", { authenticatorApp: true, emailOtp: false, passkeys: true });
    const clock = fakeClock();
    const contact = await makeContact();
    const { manualKey } = await enrollThroughPages(browser({ clock }), "support", contact, clock);
    const client = browser({ clock });
    const key = await softwareAuthenticator();
    clock.advance(30_000);
    await postPassword(client, "support", contact);
    await (await client.post("/support/login/verify/app", { code: totpCode(manualKey, clock.now()) })).text();
    const options = await postJson(client, "/support/account/passkeys/options");
    expect((await postJson(client, "/support/account/passkeys", { name: "Phone", response: key.register(options.body) })).status).toBe(200);

    const flow = browser({ clock });
    await postPassword(flow, "support", contact);
    expect(await shown(await flow.get("/support/login/verify"))).toContain("Use a passkey");
    const statuses: number[] = [];
    const stranger = await softwareAuthenticator();
    for (let i = 0; i < ACCOUNT_LIMITS.unknown.limit; i++) {
      if (i % 2) {
        const o = await postJson(flow, "/support/login/verify/passkey/options");
        statuses.push((await postJson(flow, "/support/login/verify/passkey", { response: await stranger.assert(o.body) })).status);
      } else {
        const r = await flow.post("/support/login/verify/app", { code: "000000" });
        await r.text();
        statuses.push(r.status);
      }
    }
    expect(statuses).toEqual(Array(10).fill(401));
    const o = await postJson(flow, "/support/login/verify/passkey/options");
    expect((await postJson(flow, "/support/login/verify/passkey", { response: await key.assert(o.body) })).status).toBe(429);

    // Removed from My account: it no longer signs in.
    const account = await (await client.get("/support/account")).text();
    const remove = forms(account).find((form) => form.buttons.includes("Remove passkey Phone"));
    expect(remove?.method).toBe("post");
    const id = /^\/support\/account\/passkeys\/([^/]+)\/delete$/.exec(remove!.action)![1]!;
    const removed = await client.post(`/support/account/passkeys/${id}/delete`);
    await removed.text();
    expect(removed.headers.get("Location")).toBe("/support/account?done=passkey_removed");
    expect(findAll(await (await client.get("/support/account")).text(), "td").map(textIn)).not.toContain("Phone");
  });

  it("are removed by an admin's MFA reset", async () => {
    await setMfa("support", { authenticatorApp: false, emailOtp: false, passkeys: true });
    const clock = fakeClock();
    const { contact } = await contactWithPasskey(clock);
    const admin = await makeAdmin();
    const adminClient = browser({ clock });
    await signIn(adminClient, "agent", admin);
    const reset = await adminClient.post(`/agent/admin/people/${contact.id}/reset-mfa`);
    await reset.text();
    expect(reset.status).toBe(303);
    // Passkeys alone on: with none left, the password is enough again.
    expect((await postPassword(browser({ clock }), "support", contact)).headers.get("Location")).toBe("/support");
  });
});
