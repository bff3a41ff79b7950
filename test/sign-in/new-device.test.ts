// New-device sign-in alerts and "This wasn't me". A password sign-in from a browser
// not seen for the person in the last 90 days emails them what, when and from where; the first
// sign-in and Microsoft sign-ins do not. The link's page changes nothing; its button ends every
// session, forgets remembered devices and that browser, cancels the password and emails a reset
// link, once.
import { env } from "cloudflare:workers";
import { and, desc, eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { userStub } from "../../src/auth/user-object";
import { auditEvents, devMailbox, passkeys, recoveryCodes, ssoIdentities, totpCredentials, users } from "../../src/db/schema";
import { DAY } from "../../src/lib/clock";
import { browser, type Browser, type FakeClock, fakeClock, ORIGIN } from "../helpers/app";
import { mailedConfirmationCode, signIn } from "../helpers/auth";
import { db, makeAgent, makeContact } from "../helpers/factories";
import { enrollThroughPages, latestEmailCode, postPassword, setMfa } from "../helpers/mfa";
import { softwareAuthenticator } from "../helpers/webauthn";
import { type Provider, setAccess, signInThrough, startProvider } from "../helpers/oidc-provider";
import { cellText, listItems, shown } from "../helpers/html";

const ALERT = "New sign-in to your EdgeDesk account";
const PHONE =
  "Mozilla/5.0 (iPhone; CPU iPhone OS 19_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/19.0 Mobile/15E148 Safari/604.1";
const NEW_PASSWORD = "a brand new long passphrase 42";

const mailsTo = (to: string) => db().select().from(devMailbox).where(eq(devMailbox.to, to)).orderBy(desc(devMailbox.id));
const alertsTo = async (to: string) => (await mailsTo(to)).filter((m) => m.subject === ALERT);
const auditOf = (event: string, targetId: string) =>
  db()
    .select()
    .from(auditEvents)
    .where(and(eq(auditEvents.event, event), eq(auditEvents.targetId, targetId)));

/** The "This wasn't me" path in the newest alert to this address. */
async function notMeLink(to: string): Promise<string> {
  const [alert] = await alertsTo(to);
  const link = new RegExp(`This wasn't me: ${ORIGIN}(/support/login/not-me/[a-z2-7]{32})`).exec(alert!.body);
  expect(link, alert!.body).toBeTruthy();
  return link![1]!;
}

async function statusAt(client: Browser, path: string): Promise<number> {
  const response = await client.get(path);
  await response.text();
  return response.status;
}

/** A contact signed in on their laptop (their first sign-in) and then from a stranger's phone. */
async function signedInFromTwoBrowsers(clock: FakeClock) {
  const contact = await makeContact();
  const laptop = browser({ clock });
  await signIn(laptop, "support", contact);
  const thief = browser({ clock, ip: "203.0.113.7", userAgent: PHONE });
  await signIn(thief, "support", contact);
  return { contact, laptop, thief };
}

let provider: Provider;
beforeAll(async () => {
  provider = await startProvider();
  for (const portal of ["agent", "support"] as const) await setMfa(portal, { authenticatorApp: false, emailOtp: false });
});
afterAll(() => provider.stop());

describe("new-device alerts", () => {
  it("start with the first sign-in, stay quiet for a known browser, and tell the person what, when and where for a new one", async () => {
    const clock = fakeClock();
    const contact = await makeContact();
    const laptop = browser({ clock });
    await signIn(laptop, "support", contact);
    expect(laptop.cookie("__Host-edgedesk_browser")).toMatch(/^[a-z2-7]{32}$/);
    clock.advance(DAY);
    await signIn(laptop, "support", contact);
    expect(await alertsTo(contact.email)).toHaveLength(0);

    const phone = browser({ clock, ip: "203.0.113.7", userAgent: PHONE });
    await signIn(phone, "support", contact);
    const [alert, ...more] = await alertsTo(contact.email);
    expect(more).toHaveLength(0);
    expect(alert!.body).toContain(`When: ${new Date(clock.now()).toISOString().slice(0, 16).replace("T", " ")} UTC`);
    expect(alert!.body).toContain("Browser: Safari on iOS");
    expect(alert!.body).toContain("From: 203.0.113.7");
    expect(alert!.body).toMatch(/This wasn't me: https:\/\/edgedesk\.test\/support\/login\/not-me\/[a-z2-7]{32}/);
    expect(await auditOf("sign_in.new_device", contact.id)).toHaveLength(1);

    // Known from now on; and the laptop, unseen for over 90 days, is new again.
    await signIn(phone, "support", contact);
    expect(await alertsTo(contact.email)).toHaveLength(1);
    clock.advance(91 * DAY);
    await signIn(laptop, "support", contact);
    expect(await alertsTo(contact.email)).toHaveLength(2);
    // Another person signing in on the same laptop is their own first sign-in, not an alert for either.
    const colleague = await makeContact();
    await signIn(laptop, "support", colleague);
    expect(await alertsTo(colleague.email)).toHaveLength(0);
  });

  it("come after the second step, not the password alone", async () => {
    await setMfa("agent", { authenticatorApp: false, emailOtp: true });
    const clock = fakeClock();
    const agent = await makeAgent();
    for (const client of [browser({ clock }), browser({ clock, userAgent: PHONE })]) {
      const login = await postPassword(client, "agent", agent);
      expect(login.headers.get("Location")).toMatch(/^\/agent\/login\/verify/);
      expect(await alertsTo(agent.email)).toHaveLength(0);
      const verified = await client.post("/agent/login/verify/email", { code: await latestEmailCode(agent.email) });
      await verified.text();
      expect(verified.headers.get("Location")).toBe("/agent");
    }
    expect(await alertsTo(agent.email)).toHaveLength(1);
    await setMfa("agent", { authenticatorApp: false, emailOtp: false });
  });

  it("are not sent for Microsoft sign-ins", async () => {
    await setAccess("support", "both");
    const clock = fakeClock();
    const contact = await makeContact();
    await signIn(browser({ clock }), "support", contact);
    const { response } = await signInThrough(provider, browser({ clock, userAgent: PHONE }), "support", clock.now(), {
      oid: `oid-${contact.id}`,
      email: contact.email,
      xms_edov: true,
    });
    expect(response.status).toBe(303);
    expect(await alertsTo(contact.email)).toHaveLength(0);
    await setAccess("support", "password");
  });
});

describe("This wasn't me", () => {
  it("opens a page that changes nothing; its button signs out everywhere, forgets devices, cancels the password and emails a reset link", async () => {
    const clock = fakeClock();
    const { contact, laptop, thief } = await signedInFromTwoBrowsers(clock);
    const path = await notMeLink(contact.email);
    await userStub(env, contact.id).rememberDevice({
      id: "dev_aaaaaaaaaaaaaaaa",
      tokenHash: "remembered",
      generation: 0,
      now: clock.now(),
      expiresAt: clock.now() + 30 * DAY,
      ip: "198.18.0.1",
      userAgent: "x",
    });

    const owner = browser({ clock });
    const page = await owner.get(path);
    const html = await page.text();
    expect(page.status).toBe(200);
    expect(cellText(html)).toMatch(/When \d{4}-\d\d-\d\d \d\d:\d\d UTC Browser Safari on iOS From 203\.0\.113\.7/);
    // Opening it (as a mail scanner would) changed nothing.
    expect([await statusAt(laptop, "/support"), await statusAt(thief, "/support")]).toEqual([200, 200]);
    expect((await postPassword(browser({ clock }), "support", contact)).status).toBe(303);

    const secured = await owner.post(path);
    expect(secured.status).toBe(200);
    expect(await shown(secured)).toContain(`Your password no longer works. We emailed ${contact.email} a link to choose a new one`);
    expect([await statusAt(laptop, "/support"), await statusAt(thief, "/support")]).toEqual([303, 303]);
    expect((await postPassword(browser({ clock }), "support", contact)).status).toBe(401);
    expect(await userStub(env, contact.id).listDevices(0, clock.now())).toEqual([]);
    expect(await auditOf("account.secured", contact.id)).toHaveLength(1);
    expect(await shown(await laptop.get(path))).toContain("This link has expired or was already used");

    // The reset link works; the stranger's browser is a stranger again, so a sign-in there alerts once more.
    const [reset] = (await mailsTo(contact.email)).filter((m) => m.subject === "Reset your EdgeDesk password");
    const resetPath = new RegExp(`${ORIGIN}(/support/login/reset/[a-z2-7]{32})`).exec(reset!.body)![1]!;
    const done = await owner.post(resetPath, { password: NEW_PASSWORD, confirm: NEW_PASSWORD });
    await done.text();
    expect(done.status).toBe(303);
    const alertsBefore = (await alertsTo(contact.email)).length;
    await signIn(thief, "support", { email: contact.email, password: NEW_PASSWORD });
    expect(await alertsTo(contact.email)).toHaveLength(alertsBefore + 1);
    const activity = await shown(await owner.get("/support/account"));
    expect(activity).toContain("“This wasn't me”: signed out everywhere, password cancelled");
    expect(activity).toContain("Signed in from a new browser (Safari on iOS): you were emailed");
  });

  it("acts once when pressed twice at the same time, and not at all after 7 days", async () => {
    const clock = fakeClock();
    const { contact } = await signedInFromTwoBrowsers(clock);
    const path = await notMeLink(contact.email);
    const answers = await Promise.all(
      [browser({ clock }), browser({ clock })].map(async (client) => {
        const response = await client.post(path);
        await response.text();
        return response.status;
      }),
    );
    expect(answers.sort()).toEqual([200, 404]);
    expect(await auditOf("account.secured", contact.id)).toHaveLength(1);
    expect((await mailsTo(contact.email)).filter((m) => m.subject === "Reset your EdgeDesk password")).toHaveLength(1);

    const late = await signedInFromTwoBrowsers(clock);
    const latePath = await notMeLink(late.contact.email);
    clock.advance(7 * DAY);
    expect(await statusAt(browser({ clock }), latePath)).toBe(404);
    const refused = await browser({ clock }).post(latePath);
    await refused.text();
    expect(refused.status).toBe(404);
    expect((await postPassword(browser({ clock }), "support", late.contact)).status).toBe(303);
    expect(await auditOf("account.secured", late.contact.id)).toHaveLength(0);
  });
});

describe("This wasn't me, after the intruder added ways back in", () => {
  it("removes every factor added since that sign-in, lists what stays, and the intruder's factors stop working", async () => {
    const clock = fakeClock();
    await setMfa("support", { authenticatorApp: false, emailOtp: false, passkeys: true, passwordlessPasskeys: true });
    const contact = await makeContact();
    // Linked to Microsoft a day before; the person signs in on their laptop (their first sign-in).
    await db()
      .insert(ssoIdentities)
      .values({ tenantId: "tenant-a", objectId: `oid-${contact.id}`, userId: contact.id, createdAt: clock.now() - DAY });
    await signIn(browser({ clock }), "support", contact);
    clock.advance(DAY);

    // The portal starts requiring the app; the intruder, with the password alone, sets it up first.
    await setMfa("support", { authenticatorApp: true, emailOtp: false, passkeys: true, passwordlessPasskeys: true });
    const thief = browser({ clock, ip: "203.0.113.8", userAgent: PHONE });
    const enrolled = await enrollThroughPages(thief, "support", contact, clock);
    clock.advance(60_000);
    // An app set up during that sign-in proves nothing; this intruder holds the mailbox too, and adds a passkey.
    const code = await mailedConfirmationCode(thief, "support", contact.email);
    const confirmed = await thief.post("/support/reauth", { current: contact.password, code, next: "/support/account" });
    await confirmed.text();
    expect(confirmed.status).toBe(303);
    const key = await softwareAuthenticator();
    const options = await thief.request("/support/account/passkeys/options", {
      method: "POST",
      body: "{}",
      headers: { "Content-Type": "application/json" },
    });
    const added = await thief.request("/support/account/passkeys", {
      method: "POST",
      body: JSON.stringify({
        name: "Thief's key",
        response: key.register((await options.json()) as { challenge: string }, undefined, { discoverable: true }),
      }),
      headers: { "Content-Type": "application/json" },
    });
    expect(await added.json()).toEqual({ ok: true });

    const owner = browser({ clock });
    const secured = await owner.post(await notMeLink(contact.email));
    const html = await secured.text();
    expect(secured.status).toBe(200);
    const removed = listItems(html, 'ul[data-testid="removed-factors"]');
    expect(removed).toContainEqual(expect.stringMatching(/^Passkey “Thief's key”, added /));
    expect(removed).toContainEqual(expect.stringMatching(/^Authenticator app, added /));
    expect(removed).toContainEqual(expect.stringMatching(/^Recovery codes \(10 unused\), added /));
    expect(removed.join("\n")).not.toContain("Microsoft account");
    expect(cellText(html)).toContain("You will set up your authenticator app again the next time you sign in.");
    expect(listItems(html, 'ul[data-testid="kept-factors"]')).toContainEqual(expect.stringMatching(/^Microsoft account, added /));

    // Nothing the intruder added opens the account any more.
    const passkeyOptions = await browser({ clock }).request("/support/login/passkey/options", {
      method: "POST",
      body: "{}",
      headers: { "Content-Type": "application/json" },
    });
    const intruder = browser({ clock });
    const viaPasskey = await intruder.request("/support/login/passkey", {
      method: "POST",
      body: JSON.stringify({ response: await key.assert((await passkeyOptions.json()) as { challenge: string }) }),
      headers: { "Content-Type": "application/json" },
    });
    await viaPasskey.text();
    expect(viaPasskey.status).toBe(401);
    expect(await db().select().from(passkeys).where(eq(passkeys.userId, contact.id))).toEqual([]);
    expect(await db().select().from(recoveryCodes).where(eq(recoveryCodes.userId, contact.id))).toEqual([]);
    expect(await db().select().from(totpCredentials).where(eq(totpCredentials.userId, contact.id))).toEqual([]);
    expect(await db().select().from(ssoIdentities).where(eq(ssoIdentities.userId, contact.id))).toHaveLength(1);
    expect(enrolled.recoveryCodes).toHaveLength(10);
    const [audit] = await auditOf("account.secured", contact.id);
    expect(audit!.details).toMatchObject({ removed: ["app", "recovery_codes", "passkey"] });

    // With a new password from the mailed link, the person sets up their own app.
    const [reset] = (await mailsTo(contact.email)).filter((m) => m.subject === "Reset your EdgeDesk password");
    const resetPath = new RegExp(`${ORIGIN}(/support/login/reset/[a-z2-7]{32})`).exec(reset!.body)![1]!;
    const done = await owner.post(resetPath, { password: NEW_PASSWORD, confirm: NEW_PASSWORD });
    await done.text();
    expect(done.headers.get("Location")).toBe("/support/login/enroll");
    await setMfa("support", { authenticatorApp: false, emailOtp: false, passkeys: false, passwordlessPasskeys: false });
  });
});

describe("a password-only sign-in from a new browser", () => {
  async function addPasskey(client: Browser) {
    const options = await client.request("/support/account/passkeys/options", {
      method: "POST",
      body: "{}",
      headers: { "Content-Type": "application/json" },
    });
    if (options.status !== 200) return { status: options.status, body: (await options.json()) as { error?: string } };
    const key = await softwareAuthenticator();
    const added = await client.request("/support/account/passkeys", {
      method: "POST",
      body: JSON.stringify({
        name: "New key",
        response: key.register((await options.json()) as { challenge: string }, undefined, { discoverable: true }),
      }),
      headers: { "Content-Type": "application/json" },
    });
    return { status: added.status, body: (await added.json()) as { error?: string } };
  }

  it("adds no sign-in factor until a code mailed to the person is shown too; the person's own browser adds one at once", async () => {
    await setMfa("support", { authenticatorApp: false, emailOtp: false, passkeys: true, passwordlessPasskeys: false });
    const clock = fakeClock();
    const { contact, laptop, thief } = await signedInFromTwoBrowsers(clock);

    const refused = await addPasskey(thief);
    expect(refused).toEqual({ status: 401, body: { error: expect.stringContaining("Confirm it's you with a code we email you") } });
    expect(await shown(await thief.get("/support/account"))).toContain("Confirm it's you to add or remove a passkey");
    // The confirmation offers a mailed code, though the portal uses none at sign-in; the password alone confirms, but adds nothing.
    expect(await shown(await thief.get("/support/reauth"))).toContain(
      "Code from your email You signed in to this browser with just your password",
    );
    const passwordAlone = await thief.post("/support/reauth", { current: contact.password, code: "", next: "/support/account" });
    expect(passwordAlone.status).toBe(303);
    await passwordAlone.text();
    expect((await addPasskey(thief)).status).toBe(401);

    // Whoever also holds the mailbox (the person, on a new computer) confirms and adds one.
    const send = await thief.post("/support/reauth/email?next=%2Fsupport%2Freauth");
    await send.text();
    expect(send.status).toBe(303);
    const confirmed = await thief.post("/support/reauth", {
      current: contact.password,
      code: await latestEmailCode(contact.email),
      next: "/support/account",
    });
    await confirmed.text();
    expect(confirmed.status).toBe(303);
    expect(await addPasskey(thief)).toEqual({ status: 200, body: { ok: true } });

    // The browser the person signed in with first was never held back.
    expect(await addPasskey(laptop)).toEqual({ status: 200, body: { ok: true } });
    await setMfa("support", { authenticatorApp: false, emailOtp: false, passkeys: false, passwordlessPasskeys: false });
  });

  it("stays marked when the stolen password signs in again from that browser, and changes no password without the mailed code", async () => {
    await setMfa("support", { authenticatorApp: false, emailOtp: false, passkeys: true, passwordlessPasskeys: false });
    const clock = fakeClock();
    const { contact, thief } = await signedInFromTwoBrowsers(clock);
    await (await thief.post("/support/logout")).text();
    await signIn(thief, "support", contact);
    expect((await addPasskey(thief)).status).toBe(401);

    const before = (await db().select().from(users).where(eq(users.id, contact.id)).get())!.passwordHash;
    const changed = await thief.post("/support/account/password", {
      current: contact.password,
      password: NEW_PASSWORD,
      confirm: NEW_PASSWORD,
      code: "",
    });
    expect(changed.status).toBe(401);
    expect(await shown(changed)).toContain("Enter the code we emailed you too");
    expect((await db().select().from(users).where(eq(users.id, contact.id)).get())!.passwordHash).toBe(before);
    await setMfa("support", { authenticatorApp: false, emailOtp: false, passkeys: false, passwordlessPasskeys: false });
  });
});

describe("This wasn't me, racing the intruder", () => {
  it("leaves no passkey the intruder's open session adds while the account is being secured", async () => {
    await setMfa("support", { authenticatorApp: false, emailOtp: false, passkeys: true, passwordlessPasskeys: false });
    for (let round = 0; round < 4; round++) {
      const clock = fakeClock();
      const { contact, thief } = await signedInFromTwoBrowsers(clock);
      const code = await mailedConfirmationCode(thief, "support", contact.email);
      await (await thief.post("/support/reauth", { current: contact.password, code, next: "/support/account" })).text();
      const path = await notMeLink(contact.email);
      const key = await softwareAuthenticator();
      const options = (await (
        await thief.request("/support/account/passkeys/options", {
          method: "POST",
          body: "{}",
          headers: { "Content-Type": "application/json" },
        })
      ).json()) as { challenge: string };
      const register = async () => {
        const r = await thief.request("/support/account/passkeys", {
          method: "POST",
          body: JSON.stringify({ name: "Late key", response: key.register(options, undefined, { discoverable: true }) }),
          headers: { "Content-Type": "application/json" },
        });
        await r.text();
      };
      const secure = async () => (await (await browser({ clock }).post(path)).text()).length;
      await Promise.all(round % 2 ? [register(), secure()] : [secure(), register()]);
      expect(await db().select().from(passkeys).where(eq(passkeys.userId, contact.id)), `round ${round}`).toEqual([]);
    }
    await setMfa("support", { authenticatorApp: false, emailOtp: false, passkeys: false, passwordlessPasskeys: false });
  });

  it("counts an app as added when its set-up finished, so one begun before and finished by the intruder goes, and is listed so", async () => {
    const clock = fakeClock();
    const { contact } = await signedInFromTwoBrowsers(clock);
    const path = await notMeLink(contact.email);
    // Set-up begun a day before the intruder's sign-in, finished (confirmed) after it.
    await db()
      .insert(totpCredentials)
      .values({ userId: contact.id, secretEncrypted: "sealed", createdAt: clock.now() - DAY, confirmedAt: clock.now() + 60_000 });
    const html = await (await browser({ clock }).post(path)).text();
    expect(listItems(html, 'ul[data-testid="removed-factors"]')).toContainEqual(expect.stringMatching(/^Authenticator app, added /));
    expect(await db().select().from(totpCredentials).where(eq(totpCredentials.userId, contact.id))).toEqual([]);
  });
});
