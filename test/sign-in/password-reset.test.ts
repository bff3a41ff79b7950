// "Forgot password?" on both portals.
import { env } from "cloudflare:workers";
import { desc, eq } from "drizzle-orm";
import { beforeEach, describe, expect, it } from "vitest";
import { createDevelopmentApp } from "../../src/dev/app";
import { sessionCookieName } from "../../src/request/session-cookie";
import { auditEvents, devMailbox, passwordResets, users } from "../../src/db/schema";
import { MINUTE } from "../../src/lib/clock";
import type { Portal } from "../../src/portal/policy";
import { browser, type Browser, fakeClock, ORIGIN, statusOf } from "../helpers/app";
import { signIn } from "../helpers/auth";
import { db, makeAgent, makeContact } from "../helpers/factories";
import { faultyD1 } from "../helpers/faults";
import { enrollThroughPages, mailCount, setMfa, totpCode } from "../helpers/mfa";
import { setAccess } from "../helpers/oidc-provider";
import { findAll, links, shown, textIn, textOf, cellText } from "../helpers/html";

const NEW_PASSWORD = "a brand new long passphrase 42";

async function latestMail(to: string) {
  return db().select().from(devMailbox).where(eq(devMailbox.to, to)).orderBy(desc(devMailbox.id)).get();
}

/** Ask for a link through the page; returns the path it mailed, or null when nothing was mailed. */
async function askForLink(client: Browser, portal: Portal, email: string): Promise<string | null> {
  const before = await mailCount(email);
  const response = await client.post(`/${portal}/login/forgot`, { email });
  expect(response.status, await response.text()).toBe(200);
  if ((await mailCount(email)) === before) return null;
  const mail = await latestMail(email);
  expect(mail!.subject).toBe("Reset your EdgeDesk password");
  const link = new RegExp(`${ORIGIN}(/${portal}/login/reset/[a-z2-7]{32})`).exec(mail!.body);
  expect(link, mail!.body).toBeTruthy();
  return link![1]!;
}

async function useLink(client: Browser, path: string, password = NEW_PASSWORD) {
  const response = await client.post(path, { password, confirm: password });
  return { status: response.status, location: response.headers.get("Location"), body: await response.text() };
}

/** The page everyone gets, with the email they typed taken out. */
const answerFor = async (client: Browser, portal: Portal, email: string) => {
  const response = await client.post(`/${portal}/login/forgot`, { email });
  return { status: response.status, body: (await response.text()).replaceAll(email, "EMAIL") };
};

beforeEach(async () => {
  for (const portal of ["agent", "support"] as const) {
    await setMfa(portal, { authenticatorApp: false, emailOtp: false });
    await setAccess(portal, "password");
  }
});

describe("asking for a reset link", () => {
  it("answers the same for an account, an unknown email, a disabled account and an account without a password; only the first gets mail", async () => {
    const known = await makeAgent();
    const disabled = await makeAgent({ active: false });
    const noPassword = await makeAgent({ password: null });
    const unknown = `nobody-${crypto.randomUUID().slice(0, 8)}@example.com`;
    const client = browser();
    const answers = [];
    for (const email of [known.email, unknown, disabled.email, noPassword.email]) answers.push(await answerFor(client, "agent", email));
    expect(new Set(answers.map((a) => a.status))).toEqual(new Set([200]));
    expect(new Set(answers.map((a) => a.body)).size).toBe(1);
    expect(textOf(answers[0]!.body, '[data-testid="reset-sent"] p')).toContain(
      "If an account on the agent portal uses EMAIL, we have emailed it a link",
    );
    expect(findAll(answers[0]!.body, '[data-testid="reset-sent"] p strong').map(textIn)).toEqual(["EMAIL"]);
    expect([
      await mailCount(known.email),
      await mailCount(unknown),
      await mailCount(disabled.email),
      await mailCount(noPassword.email),
    ]).toEqual([1, 0, 0, 0]);
  });

  it("does the account-dependent work only after the response: the same storage calls before it, whoever is asked for", async () => {
    const known = await makeContact();
    const callsBeforeResponse = async (email: string) => {
      const counting = faultyD1(env.DB, () => false);
      const background: Promise<unknown>[] = [];
      const ctx = {
        waitUntil: (p: Promise<unknown>) => void background.push(p),
        passThroughOnException() {},
        props: {},
      } as unknown as ExecutionContext;
      const request = new Request(`${ORIGIN}/support/login/forgot`, {
        method: "POST",
        body: new URLSearchParams({ email }),
        headers: { Origin: ORIGIN, "CF-Connecting-IP": "198.51.100.9" },
      });
      const response = await createDevelopmentApp().request(request, undefined, { ...env, DB: counting.db }, ctx);
      await response.text();
      const before = { status: response.status, d1: counting.calls(), mails: await mailCount(email) };
      await Promise.all(background);
      return { before, afterMails: await mailCount(email) };
    };
    const forKnown = await callsBeforeResponse(known.email);
    const forUnknown = await callsBeforeResponse(`ghost-${crypto.randomUUID().slice(0, 8)}@example.com`);
    expect(forKnown.before).toMatchObject({ status: 200, mails: 0 });
    expect(forUnknown.before).toEqual(forKnown.before);
    expect(forKnown.afterMails).toBe(1);
  });

  it("is limited per email typed (known or not) and per IP, with the limiter sign-in uses", async () => {
    const clock = fakeClock();
    const client = browser({ clock });
    const unknown = `limit-${crypto.randomUUID().slice(0, 8)}@example.com`;
    for (let i = 0; i < 3; i++) expect((await answerFor(client, "support", unknown)).status).toBe(200);
    const fourth = await client.post("/support/login/forgot", { email: unknown });
    expect(fourth.status).toBe(429);
    expect(fourth.headers.get("Retry-After")).toMatch(/^\d+$/);
    expect(await shown(fourth)).toContain("Too many reset links were asked for. Try again in");
    clock.advance(61 * MINUTE);
    expect((await answerFor(client, "support", unknown)).status).toBe(200);

    const sameIp = browser({ clock, ip: "203.0.113.77" });
    const statuses = [];
    for (let i = 0; i < 21; i++)
      statuses.push((await answerFor(sameIp, "support", `ip-${i}-${crypto.randomUUID().slice(0, 6)}@example.com`)).status);
    expect(statuses.slice(0, 20).every((s) => s === 200)).toBe(true);
    expect(statuses[20]).toBe(429);
  });

  it("is not offered, and refused, where the portal signs in with Microsoft only", async () => {
    const contact = await makeContact();
    await setAccess("support", "sso");
    const client = browser();
    expect(await (await client.get("/support/login")).text()).not.toContain("Forgot password?");
    expect(await statusOf(client, "/support/login/forgot")).toBe(403);
    const refused = await client.post("/support/login/forgot", { email: contact.email });
    expect(refused.status).toBe(403);
    expect(await shown(refused)).toContain("signs in with Microsoft only");
    expect(await mailCount(contact.email)).toBe(0);
  });

  it("is offered on the sign-in page of a password portal", async () => {
    const page = await (await browser().get("/agent/login")).text();
    expect(links(page)).toContainEqual({ text: "Forgot password?", href: "/agent/login/forgot" });
  });
});

describe("using a reset link", () => {
  it("stores only a hash, works once, and signs in without MFA where the portal has none", async () => {
    const agent = await makeAgent();
    const elsewhere = browser();
    await signIn(elsewhere, "agent", agent);
    const client = browser();
    const path = (await askForLink(client, "agent", agent.email))!;
    const token = path.split("/").pop()!;
    const stored = await db().select().from(passwordResets).where(eq(passwordResets.userId, agent.id));
    expect(stored).toHaveLength(1);
    expect(JSON.stringify(stored)).not.toContain(token);

    const form = await (await client.get(path)).text();
    expect(form).toContain("Choose a new password");
    expect(form).toContain(agent.email);
    const used = await useLink(client, path);
    expect(used).toMatchObject({ status: 303, location: "/agent" });
    expect(client.cookie(sessionCookieName("agent"))).toBeTruthy();
    expect(await statusOf(client, "/agent")).toBe(200);
    // Every other session ended; the old password no longer signs in, the new one does.
    expect(await statusOf(elsewhere, "/agent")).toBe(303);
    expect((await browser().post("/agent/login", { email: agent.email, password: agent.password })).status).toBe(401);
    await signIn(browser(), "agent", { email: agent.email, password: NEW_PASSWORD });
    // Once only.
    expect((await useLink(browser(), path, "yet another long passphrase 7")).status).toBe(410);
    expect((await browser().get(path)).status).toBe(410);

    // The newest mail tells of the sign-in from a new browser; the one before, the change.
    const mail = (await db().select().from(devMailbox).where(eq(devMailbox.to, agent.email)).orderBy(desc(devMailbox.id))).find(
      (m) => m.subject !== "New sign-in to your EdgeDesk account",
    );
    expect(mail!.subject).toBe("Your EdgeDesk password was changed");
    expect(mail!.body).toContain("If this was not you, contact your administrator");
    const events = await db().select({ event: auditEvents.event }).from(auditEvents).where(eq(auditEvents.targetId, agent.id));
    expect(events.map((e) => e.event)).toEqual(expect.arrayContaining(["password_reset.requested", "password_reset.completed"]));
  });

  it("never skips the second factor: after the new password comes the authenticator code", async () => {
    const clock = fakeClock();
    const contact = await makeContact();
    await setMfa("support", { authenticatorApp: true });
    const { manualKey } = await enrollThroughPages(browser({ clock }), "support", contact, clock);
    const client = browser({ clock });
    const path = (await askForLink(client, "support", contact.email))!;
    const used = await useLink(client, path);
    expect(used).toMatchObject({ status: 303, location: "/support/login/verify" });
    expect(await statusOf(client, "/support")).toBe(303);
    // The enrollment used this step's code; the app's next one.
    clock.advance(30_000);
    const verified = await client.post("/support/login/verify/app", { code: totpCode(manualKey, clock.now()) });
    await verified.text();
    expect(verified.headers.get("Location")).toBe("/support");
    expect(await statusOf(client, "/support")).toBe(200);
  });

  it("expires after 30 minutes, and asking again makes the earlier link stop working", async () => {
    const clock = fakeClock();
    const contact = await makeContact();
    const client = browser({ clock });
    const first = (await askForLink(client, "support", contact.email))!;
    const second = (await askForLink(client, "support", contact.email))!;
    expect(second).not.toBe(first);
    expect((await useLink(client, first)).status).toBe(410);
    clock.advance(30 * MINUTE);
    const late = await useLink(client, second);
    expect(late.status).toBe(410);
    expect(cellText(late.body)).toContain("This link has expired or was already used.");
    const third = (await askForLink(client, "support", contact.email))!;
    clock.advance(29 * MINUTE);
    expect((await useLink(client, third)).status).toBe(303);
  });

  it("belongs to its portal and its person: an agent's link does nothing on the support portal, nor for a disabled account", async () => {
    const agent = await makeAgent();
    const client = browser();
    const path = (await askForLink(client, "agent", agent.email))!;
    expect((await useLink(client, path.replace("/agent/", "/support/"))).status).toBe(410);
    await db().update(users).set({ active: false }).where(eq(users.id, agent.id));
    expect((await useLink(client, path)).status).toBe(410);
    expect(await statusOf(client, "/agent")).toBe(303);
  });

  it("holds the new password to the portal's rules and history; a refused one leaves the link working", async () => {
    const contact = await makeContact();
    const client = browser();
    const path = (await askForLink(client, "support", contact.email))!;
    const weak = await useLink(client, path, "short");
    expect(weak.status).toBe(400);
    expect(cellText(weak.body)).toContain("At least 8 characters");
    const same = await useLink(client, path, contact.password);
    expect(same.status).toBe(400);
    expect(cellText(same.body)).toContain("Choose a password different from your current one.");
    const mismatch = await client.post(path, { password: NEW_PASSWORD, confirm: `${NEW_PASSWORD}!` });
    expect(mismatch.status).toBe(400);
    expect(await shown(mismatch)).toContain("The two new passwords do not match.");
    expect((await useLink(client, path)).status).toBe(303);
  });

  it("of five parallel uses of one link exactly one sets a password", async () => {
    const contact = await makeContact();
    const path = (await askForLink(browser(), "support", contact.email))!;
    const results = await Promise.all(Array.from({ length: 5 }, (_, i) => useLink(browser(), path, `parallel passphrase number ${i}`)));
    expect(results.map((r) => r.status).sort()).toEqual([303, 410, 410, 410, 410]);
    const winner = results.findIndex((r) => r.status === 303);
    await signIn(browser(), "support", { email: contact.email, password: `parallel passphrase number ${winner}` });
  });
});
