// A temporary access pass. An admin with "Access to Agent Recovery Code and Reset MFA"
// issues it (re-authenticated, never to themselves or to someone holding more than they do); it is
// shown once, kept only as a hash, audited and emailed about without the pass. The person types
// it after their password; it works once, until it expires, and sends them straight to setting
// up a new authenticator app. Its use is audited and emailed. An MFA reset cancels it.
import { and, desc, eq, isNotNull } from "drizzle-orm";
import { beforeAll, describe, expect, it } from "vitest";
import { env } from "cloudflare:workers";
import { countingEnv, noStorageCalls } from "../../src/dev/storage-calls";
import { sha256Hex } from "../../src/lib/crypto";
import { auditEvents, devMailbox, temporaryAccessPasses, totpCredentials } from "../../src/db/schema";
import { MINUTE } from "../../src/lib/clock";
import { browser, type Browser, type FakeClock, fakeClock } from "../helpers/app";
import { signIn } from "../helpers/auth";
import { db, makeAdmin, makeAgent, makeContact } from "../helpers/factories";
import { enrollThroughPages, extract, postPassword, setMfa, totpCode } from "../helpers/mfa";
import { makeRole } from "../helpers/roles";
import { cellText, labelled, links, optionsOf, shown } from "../helpers/html";

async function signedInAdmin(clock: FakeClock, roleId?: string) {
  const admin = roleId ? await makeAgent({ roleId }) : await makeAdmin();
  const client = browser({ clock });
  await signIn(client, "agent", admin);
  const confirmed = await client.post("/agent/reauth", { current: admin.password, next: "/agent" });
  await confirmed.text();
  expect(confirmed.status).toBe(303);
  return { admin, client };
}

/** Issue a pass through the admin's pages; returns it as the page shows it. */
async function issuePass(client: Browser, personId: string, minutes = "60") {
  const response = await client.post(`/agent/admin/people/${personId}/access-pass`, { minutes });
  const html = await response.text();
  expect(response.status, cellText(html).slice(0, 300)).toBe(200);
  expect(response.headers.get("Cache-Control")).toBe("no-store");
  // The pass is in a read-only box, labelled, for the admin to copy.
  const box = labelled(html, "Temporary access pass");
  expect(box?.hasAttribute("readonly")).toBe(true);
  const pass = box!.getAttribute("value");
  expect(pass).toBeTruthy();
  return pass!;
}

/** A contact with the authenticator app set up; returns them and their app's key. */
async function contactWithApp(clock: FakeClock) {
  const contact = await makeContact();
  const { manualKey } = await enrollThroughPages(browser({ clock }), "support", contact, clock);
  return { contact, manualKey };
}

/** Sign in with the password, then offer the pass at the second step. */
async function passAtSecondStep(clock: FakeClock, contact: { email: string; password: string }, pass: string) {
  const client = browser({ clock });
  const login = await postPassword(client, "support", contact);
  expect(login.headers.get("Location")).toBe("/support/login/verify");
  const response = await client.post("/support/login/verify/pass", { code: pass });
  return { client, response, html: await response.text() };
}

const mailsTo = (to: string) => db().select().from(devMailbox).where(eq(devMailbox.to, to)).orderBy(desc(devMailbox.id));
const auditOf = (event: string, targetId: string) =>
  db()
    .select()
    .from(auditEvents)
    .where(and(eq(auditEvents.event, event), eq(auditEvents.targetId, targetId)));
const passesOf = (userId: string) => db().select().from(temporaryAccessPasses).where(eq(temporaryAccessPasses.userId, userId));

beforeAll(async () => {
  await setMfa("agent", { authenticatorApp: false, emailOtp: false });
  // "Don't ask again on this device" is on, so the test can see a pass never uses it.
  await setMfa("support", { authenticatorApp: true, emailOtp: false, rememberDays: 30 });
});

describe("issuing a temporary access pass", () => {
  it("is shown once, kept only as its hash, audited, and emailed about without the pass", async () => {
    const clock = fakeClock();
    const { admin, client } = await signedInAdmin(clock);
    const { contact } = await contactWithApp(clock);

    const panel = await (await client.get(`/agent/admin/contacts/${contact.id}`)).text();
    expect(links(panel)).toContainEqual({ text: "Issue temporary access pass", href: `/agent/admin/people/${contact.id}/access-pass` });
    const form = await (await client.get(`/agent/admin/people/${contact.id}/access-pass`)).text();
    expect(cellText(form)).toContain("Works for");
    expect(optionsOf(labelled(form, "Works for")!)).toContainEqual({ value: "60", text: "1 hour", selected: true, disabled: false });

    const pass = await issuePass(client, contact.id);
    expect(pass).toMatch(/^[A-Z2-7]{4}-[A-Z2-7]{4}-[A-Z2-7]{4}-[A-Z2-7]{4}$/);

    const [row, ...others] = await passesOf(contact.id);
    expect(others).toHaveLength(0);
    expect(row!.passHash).toBe(await sha256Hex(pass.replace(/-/g, "")));
    expect(JSON.stringify(row)).not.toContain(pass.replace(/-/g, ""));
    expect(row!.expiresAt).toBe(clock.now() + 60 * MINUTE);
    expect(row!.issuedBy).toBe(admin.id);

    const [issued] = await auditOf("access_pass.issued", contact.id);
    expect(issued!.actorId).toBe(admin.id);
    expect(JSON.stringify(issued!.details)).not.toContain(pass.replace(/-/g, ""));

    const [mail] = await mailsTo(contact.email);
    expect(mail!.subject).toBe("A temporary access pass was issued for your EdgeDesk account");
    expect(mail!.body).toContain(`${admin.name} issued a temporary access pass`);
    for (const form of [pass, pass.replace(/-/g, ""), pass.toLowerCase()]) expect(mail!.body).not.toContain(form);

    // Nothing shows it again: the admin's panel says only until when it works.
    const after = await shown(await client.get(`/agent/admin/contacts/${contact.id}`));
    expect(after).toContain(
      `A temporary access pass works until ${new Date(row!.expiresAt).toISOString().slice(0, 16).replace("T", " ")} UTC.`,
    );
    expect(after).not.toContain(pass);
  });

  it("refuses bad lifetimes, oneself, a disabled or Microsoft-only person, and anyone holding more than the admin, changing nothing", async () => {
    const clock = fakeClock();
    const { admin, client } = await signedInAdmin(clock);
    const contact = await makeContact();
    for (const minutes of ["5", "abc", "481", ""]) {
      const response = await client.post(`/agent/admin/people/${contact.id}/access-pass`, { minutes });
      expect(response.status).toBe(400);
      expect(await shown(response)).toContain("Choose how long the pass works: from 10 minutes to 8 hours.");
    }
    expect(await passesOf(contact.id)).toHaveLength(0);

    const self = await client.post(`/agent/admin/people/${admin.id}/access-pass`, { minutes: "60" });
    expect(self.status).toBe(403);
    expect(await shown(self)).toContain("You cannot issue yourself a temporary access pass");

    const disabled = await makeContact({ active: false });
    expect((await client.post(`/agent/admin/people/${disabled.id}/access-pass`, { minutes: "60" })).status).toBe(409);
    const ssoOnly = await makeContact({ password: null });
    const refusedSso = await client.post(`/agent/admin/people/${ssoOnly.id}/access-pass`, { minutes: "60" });
    expect(refusedSso.status).toBe(409);
    expect(await shown(refusedSso)).toContain("signs in with Microsoft only");
    for (const id of [admin.id, disabled.id, ssoOnly.id]) expect(await passesOf(id)).toHaveLength(0);

    // A helpdesk lead with the recovery permission, but not Manage Agents, and an Administrator target.
    const lead = await signedInAdmin(clock, await makeRole(["manageRecoveryAndMfaReset"]));
    const administrator = await makeAdmin();
    const over = await lead.client.post(`/agent/admin/people/${administrator.id}/access-pass`, { minutes: "60" });
    expect(over.status).toBe(403);
    expect(await shown(over)).toContain("This agent holds permissions you don't have");
    expect(await passesOf(administrator.id)).toHaveLength(0);
    expect(
      await db()
        .select()
        .from(auditEvents)
        .where(and(eq(auditEvents.event, "access.refused"), eq(auditEvents.targetId, administrator.id))),
    ).toHaveLength(1);
    // The same lead may help an agent holding no more than they do.
    const peer = await makeAgent({ roleId: await makeRole(["manageRecoveryAndMfaReset"]) });
    expect(await issuePass(lead.client, peer.id)).toBeTruthy();

    // Without the permission, the route is closed; without a recent re-authentication, it asks for one.
    const plain = await signedInAdmin(clock, await makeRole(["manageAgents"]));
    const noPermission = await plain.client.post(`/agent/admin/people/${contact.id}/access-pass`, { minutes: "60" });
    expect(noPermission.status).toBe(403);
    await noPermission.text();
    clock.advance(6 * MINUTE);
    const stale = await client.post(`/agent/admin/people/${contact.id}/access-pass`, { minutes: "60" });
    expect(stale.status).toBe(401);
    await stale.text();
    expect(await passesOf(contact.id)).toHaveLength(0);
  });
});

describe("signing in with a temporary access pass", () => {
  it("counts as both factors once, then sends the person to set up a new app; its use is audited and emailed", async () => {
    const clock = fakeClock();
    const { admin, client } = await signedInAdmin(clock);
    const { contact, manualKey } = await contactWithApp(clock);
    const pass = await issuePass(client, contact.id);

    // The second step offers it beside the app; typed in lower case with spaces, it still works.
    const person = browser({ clock });
    await (await postPassword(person, "support", contact)).text();
    const appPage = await (await person.get("/support/login/verify")).text();
    expect(links(appPage)).toContainEqual({ text: "Use a temporary access pass", href: "/support/login/verify?method=pass" });
    expect(await shown(await person.get("/support/login/verify?method=pass"))).toContain("Temporary access pass");
    const used = await person.post("/support/login/verify/pass", { code: pass.toLowerCase().replace(/-/g, " "), remember: "on" });
    await used.text();
    expect(used.status).toBe(303);
    expect(used.headers.get("Location")).toBe("/support/login/enroll");

    // The old app is gone: a new key is shown, and the portal stays closed until it is confirmed.
    const newKey = extract(await (await person.get("/support/login/enroll")).text(), "totp-secret");
    expect(newKey).not.toBe(manualKey);
    const closed = await person.get("/support");
    await closed.text();
    expect(closed.status).toBe(303);
    const confirmed = await person.post("/support/login/enroll", { code: totpCode(newKey, clock.now()) });
    await confirmed.text();
    expect(confirmed.headers.get("Location")).toBe("/support/login/recovery-codes");
    await (await person.post("/support/login/finish")).text();
    const home = await person.get("/support");
    await home.text();
    expect(home.status).toBe(200);

    const [use] = await auditOf("access_pass.used", contact.id);
    expect(use!.details).toEqual({ issuedBy: admin.id });
    const [mail] = (await mailsTo(contact.email)).filter((m) => m.subject === "Your EdgeDesk temporary access pass was used");
    expect(mail!.body).toMatch(
      /was used to sign in to the EdgeDesk support portal at \d{4}-\d\d-\d\d \d\d:\d\d UTC, from 198\.18\.\d+\.\d+ \(Chrome on Linux\)/,
    );
    // A pass never remembers the device, and never works twice.
    expect(person.cookie("__Host-edgedesk_support_device")).toBeUndefined();
    const again = await passAtSecondStep(clock, contact, pass);
    expect(again.response.status).toBe(401);
    expect(cellText(again.html)).toContain("That temporary access pass is not right, was already used, or has expired.");
    // The person's own security activity shows both.
    const activity = await shown(await person.get("/support/account"));
    expect(activity).toContain(`A temporary access pass was issued by ${admin.name}`);
    expect(activity).toContain("Signed in (password and a temporary access pass)");
  });

  it("works until it expires, by the injected clock (10 minutes here)", async () => {
    const clock = fakeClock();
    const { client } = await signedInAdmin(clock);
    const { contact } = await contactWithApp(clock);
    let pass = await issuePass(client, contact.id, "10");
    clock.advance(10 * MINUTE - 1000);
    expect((await passAtSecondStep(clock, contact, pass)).response.headers.get("Location")).toBe("/support/login/enroll");

    const again = await contactWithApp(clock);
    const { client: fresh } = await signedInAdmin(clock);
    pass = await issuePass(fresh, again.contact.id, "10");
    clock.advance(10 * MINUTE);
    const late = await passAtSecondStep(clock, again.contact, pass);
    expect(late.response.status).toBe(401);
    // Still the old app: an expired pass removes nothing.
    expect(await db().select().from(totpCredentials).where(eq(totpCredentials.userId, again.contact.id))).toHaveLength(1);
  });

  it("works once when several sign-ins race with it", async () => {
    const clock = fakeClock();
    const { client } = await signedInAdmin(clock);
    const { contact } = await contactWithApp(clock);
    const pass = await issuePass(client, contact.id);
    const people = await Promise.all(
      Array.from({ length: 4 }, async () => {
        const person = browser({ clock });
        await (await postPassword(person, "support", contact)).text();
        return person;
      }),
    );
    const answers = await Promise.all(
      people.map(async (person) => {
        const response = await person.post("/support/login/verify/pass", { code: pass });
        await response.text();
        return response.status;
      }),
    );
    expect(answers.filter((s) => s === 303)).toHaveLength(1);
    expect(answers.filter((s) => s === 401)).toHaveLength(3);
    // Only the winning claim stored its audit row and its notice.
    expect(await auditOf("access_pass.used", contact.id)).toHaveLength(1);
    expect((await mailsTo(contact.email)).filter((m) => m.subject === "Your EdgeDesk temporary access pass was used")).toHaveLength(1);
    const queued = await env.DB.prepare(
      "SELECT count(*) AS n FROM mail_outbox WHERE user_id = ? AND subject = 'Your EdgeDesk temporary access pass was used'",
    )
      .bind(contact.id)
      .first<{ n: number }>();
    expect(queued!.n).toBe(1);
  });

  it("is refused after the person's MFA is reset again, and a new pass replaces the old", async () => {
    const clock = fakeClock();
    const { client } = await signedInAdmin(clock);
    const { contact } = await contactWithApp(clock);
    const first = await issuePass(client, contact.id);
    const second = await issuePass(client, contact.id);
    expect(await passesOf(contact.id)).toHaveLength(1);
    expect((await passAtSecondStep(clock, contact, first)).response.status).toBe(401);

    const reset = await client.post(`/agent/admin/people/${contact.id}/reset-mfa`);
    await reset.text();
    expect(reset.status).toBe(303);
    expect(await passesOf(contact.id)).toHaveLength(0);
    // They set up the app again as after any reset; the pass issued before it no longer works.
    await enrollThroughPages(browser({ clock }), "support", contact, clock);
    const refused = await passAtSecondStep(clock, contact, second);
    expect(refused.response.status).toBe(401);
  });

  it("works with the email alone where passkeys may sign in without a password, and only there", async () => {
    const clock = fakeClock();
    const { client } = await signedInAdmin(clock);
    const { contact } = await contactWithApp(clock);
    const pass = await issuePass(client, contact.id);
    const alone = (code: string, email = contact.email) => browser({ clock }).post("/support/login/pass", { email, code });

    // Off (the default): only after the password.
    const off = await alone(pass);
    expect(off.status).toBe(403);
    await off.text();
    expect(await auditOf("access_pass.used", contact.id)).toHaveLength(0);

    await setMfa("support", { authenticatorApp: true, passkeys: true, passwordlessPasskeys: true });
    try {
      const login = await (await browser({ clock }).get("/support/login")).text();
      expect(links(login)).toContainEqual({ text: "Use a temporary access pass", href: "/support/login/pass" });
      for (const [email, code] of [
        [`nobody-${contact.id}@example.com`, pass],
        [contact.email, "AAAA-BBBB-CCCC-DDDD"],
      ] as const) {
        const refused = await alone(code, email);
        expect(refused.status).toBe(401);
        expect(await shown(refused)).toContain("That temporary access pass is not right, was already used, or has expired.");
      }
      const person = browser({ clock });
      const used = await person.post("/support/login/pass", { email: contact.email, code: pass });
      await used.text();
      expect(used.headers.get("Location")).toBe("/support/login/enroll");
      expect(
        await db()
          .select()
          .from(totpCredentials)
          .where(and(eq(totpCredentials.userId, contact.id), isNotNull(totpCredentials.confirmedAt))),
      ).toHaveLength(0);
      const again = await alone(pass);
      expect(again.status).toBe(401);
      await again.text();
      expect(await auditOf("access_pass.used", contact.id)).toHaveLength(1);
    } finally {
      await setMfa("support", { authenticatorApp: true, passkeys: false, passwordlessPasskeys: false });
    }
  });

  it("sends the person to My account's passkeys where the portal uses passkeys but not the app", async () => {
    await setMfa("support", { authenticatorApp: false, emailOtp: true, passkeys: true });
    try {
      const clock = fakeClock();
      const { client } = await signedInAdmin(clock);
      const contact = await makeContact();
      const pass = await issuePass(client, contact.id);
      const person = browser({ clock });
      const login = await postPassword(person, "support", contact);
      expect(login.headers.get("Location")).toMatch(/^\/support\/login\/verify\?method=email/);
      const used = await person.post("/support/login/verify/pass", { code: pass });
      await used.text();
      expect(used.headers.get("Location")).toBe("/support/account?done=access_pass#passkeys");
      const account = await shown(await person.get("/support/account?done=access_pass"));
      expect(cellText(account)).toContain("You signed in with a temporary access pass, which works only once. Add a passkey now");
      expect(cellText(account)).toContain("Add a passkey");
    } finally {
      await setMfa("support", { authenticatorApp: true, emailOtp: false, passkeys: false });
    }
  });
});

describe("a temporary access pass with the email alone, for a stranger", () => {
  it("costs the same storage work before answering for an unknown email, a disabled account and a real one with a wrong pass", async () => {
    await setMfa("support", { authenticatorApp: false, passkeys: true, passwordlessPasskeys: true });
    try {
      const clock = fakeClock();
      const real = await makeContact();
      const disabled = await makeContact({ active: false });
      // What the request does before its answer (a real account's failure is audited after it).
      const work = async (email: string, i: number) => {
        const calls = noStorageCalls();
        let answered = noStorageCalls();
        const r = await browser({
          clock,
          ip: `203.0.121.${i}`,
          env: countingEnv(env, calls),
          onResponse: () => (answered = { ...calls }),
        }).post("/support/login/pass", { email, code: "AAAA-BBBB-CCCC-DDDD" });
        await r.text();
        expect(r.status).toBe(401);
        return { d1: answered.d1Statements, roundTrips: answered.d1RoundTrips, objects: answered.user + answered.limiter };
      };
      const [unknown, off, wrong] = [
        await work(`ghost-${real.id}@example.com`, 1),
        await work(disabled.email, 2),
        await work(real.email, 3),
      ];
      expect(off).toEqual(unknown);
      expect(wrong).toEqual(unknown);
    } finally {
      await setMfa("support", { authenticatorApp: false, passkeys: false, passwordlessPasskeys: false });
    }
  });
});
