// Issuing and checking an email code while KV or mail fails. A send counts (cooldown, hourly cap,
// "sent moments ago") only once its code is stored and its mail accepted; until a new code is
// both, the code before it keeps working; and KV failing while a code is checked answers 503 with
// Retry-After and costs the person no try. KV is failed where the person's Durable Object uses it.
import { env, runInDurableObject } from "cloudflare:test";
import { beforeEach, describe, expect, it } from "vitest";
import { userStub } from "../../src/auth/user-object";
import { browser, fakeClock } from "../helpers/app";
import { makeContact } from "../helpers/factories";
import { droppingEmail, failingEmail, faultyKv, type KvCall } from "../helpers/faults";
import { enrollThroughPages, latestEmailCode, mailCount, postPassword, setMfa } from "../helpers/mfa";
import { ACCOUNT_LIMITS } from "../../src/limits/limits";
import { cellText } from "../helpers/html";

beforeEach(async () => {
  await setMfa("support", { authenticatorApp: false, emailOtp: true });
});

/** The person's object sees KV failing at these calls (none: KV works again). */
async function objectKv(userId: string, failing: KvCall[]) {
  await runInDurableObject(userStub(env, userId), (instance) => {
    const object = instance as unknown as { env: Env };
    object.env = { ...env, OTP_KV: failing.length ? faultyKv(env.OTP_KV, new Set(failing)) : env.OTP_KV } as Env;
  });
}

/** "Resend OTP", then the newest mailed code at the second step: what each answered, and the mails sent by then. */
async function resendAndVerify(client: ReturnType<typeof browser>, email: string) {
  const resent = await client.post("/support/login/verify/email/send");
  await resent.text();
  const mails = await mailCount(email);
  const verified = await client.post("/support/login/verify/email", { code: await latestEmailCode(email) });
  await verified.text();
  return { resent: resent.status, mails, signedInTo: verified.headers.get("Location") };
}

async function read(response: Response) {
  return { status: response.status, retryAfter: response.headers.get("Retry-After"), body: await response.text() };
}

describe("issuing one code at a time", () => {
  it("an issue not yet confirmed holds off another, even one that reaches the object with an earlier clock", async () => {
    const contact = await makeContact();
    const stub = userStub(env, contact.id);
    const now = fakeClock().now();
    const later = await stub.issueEmailOtp(contact.id, "flow-a", now + 1_000);
    expect(later.ok).toBe(true);
    const earlier = await stub.issueEmailOtp(contact.id, "flow-a", now);
    expect(earlier).toMatchObject({ ok: false, reason: "in_flight" });
    // Nothing counts yet: the first is neither current nor sent.
    expect(await stub.emailOtpStatus("flow-a")).toBeNull();
    if (later.ok) expect(await stub.confirmEmailOtp(contact.id, later.challengeId, now + 2_000)).toBe(true);
    expect(await stub.emailOtpStatus("flow-a")).toMatchObject({ sentAt: now + 2_000 });
  });
});

describe("an email code while KV fails", () => {
  it("a code KV would not store is not sent and leaves no cooldown: once KV is back, Resend OTP sends one at once", async () => {
    const clock = fakeClock();
    const contact = await makeContact();
    await objectKv(contact.id, ["put"]);
    const client = browser({ clock });
    const signedIn = await postPassword(client, "support", contact);
    expect(signedIn.headers.get("Location")).toBe("/support/login/verify?method=email&unsent=1");
    const page = await read(await client.get(signedIn.headers.get("Location")!));
    expect(cellText(page.body)).toContain("We could not send the code. Try again in a moment.");
    expect(page.body).not.toContain("emailed to you moments ago");
    expect(await mailCount(contact.email)).toBe(0);
    // Again while KV still fails: the same words, never "a code was sent moments ago".
    const again = await read(await client.post("/support/login/verify/email/send"));
    expect(again.status).toBe(503);
    expect(Number(again.retryAfter)).toBeGreaterThan(0);
    expect(cellText(again.body)).toContain("We could not send the code. Try again in a moment.");

    await objectKv(contact.id, []);
    expect(await resendAndVerify(client, contact.email)).toEqual({ resent: 303, mails: 1, signedInTo: "/support" });
  });

  it("a resend whose mail or record fails leaves the code already mailed working", async () => {
    const clock = fakeClock();
    const contact = await makeContact();
    const client = browser({ clock });
    await postPassword(client, "support", contact);
    const first = await latestEmailCode(contact.email);

    clock.advance(31_000);
    // The mail fails: the resend says so, and the first code still works afterwards.
    const mailDown = browser({ clock, env: { EMAIL: failingEmail }, cookiesOf: client });
    const failedMail = await read(await mailDown.post("/support/login/verify/email/send"));
    expect(failedMail.status).toBe(503);
    expect(Number(failedMail.retryAfter)).toBeGreaterThan(0);
    // KV refuses the new record: the same.
    await objectKv(contact.id, ["put"]);
    const failedStore = await read(await client.post("/support/login/verify/email/send"));
    expect(failedStore.status).toBe(503);
    await objectKv(contact.id, []);
    // The relay drops the connection twice (Workers mark that retryable): tried once more, then the same.
    const dropping = droppingEmail(env.EMAIL, 2);
    const dropped = await read(
      await browser({ clock, env: { EMAIL: dropping.binding }, cookiesOf: client }).post("/support/login/verify/email/send"),
    );
    expect(dropped.status).toBe(503);
    expect(dropping.attempts()).toBe(2);
    expect(await mailCount(contact.email)).toBe(1);

    const verified = await client.post("/support/login/verify/email", { code: first });
    await verified.text();
    expect(verified.headers.get("Location")).toBe("/support");
  });

  it("once the relay is back after dropping a resend, Resend OTP sends a code at once, and it works", async () => {
    const clock = fakeClock();
    const contact = await makeContact();
    const client = browser({ clock });
    await postPassword(client, "support", contact);
    clock.advance(31_000);
    const dropping = droppingEmail(env.EMAIL, 2);
    expect(
      (await read(await browser({ clock, env: { EMAIL: dropping.binding }, cookiesOf: client }).post("/support/login/verify/email/send")))
        .status,
    ).toBe(503);
    // No cooldown was left by the failure: the very next resend is sent.
    expect(await resendAndVerify(client, contact.email)).toEqual({ resent: 303, mails: 2, signedInTo: "/support" });
  });

  it("KV failing while a code is checked answers 503 with Retry-After, and the try is not counted", async () => {
    const clock = fakeClock();
    const contact = await makeContact();
    const client = browser({ clock });
    await postPassword(client, "support", contact);
    const code = await latestEmailCode(contact.email);
    const wrong = code === "000000" ? "111111" : "000000";

    await objectKv(contact.id, ["get"]);
    for (let i = 0; i < 6; i++) {
      const checked = await read(await client.post("/support/login/verify/email", { code: wrong }));
      expect(checked.status).toBe(503);
      expect(Number(checked.retryAfter)).toBeGreaterThan(0);
      expect(cellText(checked.body)).toContain("We could not check the code just now, and this try was not counted.");
    }
    // Six tries during the fault cost none of the code's five: a wrong one is still "not right", and the right one signs in.
    await objectKv(contact.id, ["delete"]);
    const wrongAfter = await read(await client.post("/support/login/verify/email", { code: wrong }));
    expect(wrongAfter.status).toBe(401);
    expect(wrongAfter.body).toContain("That code is not right.");
    // KV refusing to delete the spent code's record does not stop the sign-in (the object spent the code).
    const verified = await client.post("/support/login/verify/email", { code });
    await verified.text();
    expect(verified.headers.get("Location")).toBe("/support");
    await objectKv(contact.id, []);
  });
});

describe("a try given back because KV failed", () => {
  it("is that try alone: the person's own browser keeps its earlier wrong guesses counted", async () => {
    await setMfa("support", { authenticatorApp: true, emailOtp: true });
    const clock = fakeClock();
    const contact = await makeContact();
    const laptop = browser({ clock, ip: "198.51.100.77" });
    // A full sign-in with the app makes this browser the person's own (its guesses are its own window).
    await enrollThroughPages(laptop, "support", contact, clock);
    await (await laptop.post("/support/logout")).text();
    clock.advance(31_000);
    await postPassword(laptop, "support", contact);
    const wrongApp = async () => (await read(await laptop.post("/support/login/verify/app", { code: "000000" }))).status;
    for (let i = 0; i < ACCOUNT_LIMITS.browser.limit - 1; i++) expect(await wrongApp()).toBe(401);
    expect((await read(await laptop.post("/support/login/verify/email/send"))).status).toBe(303);
    const code = await latestEmailCode(contact.email);
    // One try while KV fails: given back. The window is one short of full, not emptied.
    await objectKv(contact.id, ["get"]);
    expect((await read(await laptop.post("/support/login/verify/email", { code: code === "000000" ? "111111" : "000000" }))).status).toBe(
      503,
    );
    await objectKv(contact.id, []);
    expect(await wrongApp()).toBe(401);
    expect(await wrongApp()).toBe(429);
    await setMfa("support", { authenticatorApp: false, emailOtp: true });
  });
});
