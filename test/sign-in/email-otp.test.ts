import { describe, expect, it } from "vitest";
import { MINUTE } from "../../src/lib/clock";
import { PORTALS, type Portal } from "../../src/portal/policy";
import { browser, fakeClock } from "../helpers/app";
import { makeUser } from "../helpers/factories";
import { enrollThroughPages, latestEmailCode, mailCount, postPassword, setMfa, totpCode } from "../helpers/mfa";
import { button, forms, labelled, shown, cellText } from "../helpers/html";

const kindOf = (portal: Portal) => (portal === "agent" ? "agent" : "contact");

/** The Resend OTP button as a browser builds it: what it is, how long it waits, whether it can be pressed yet. */
function resendOtp(html: string) {
  const resend = button(html, "Resend OTP");
  return (
    resend && {
      id: resend.getAttribute("id"),
      type: resend.getAttribute("type"),
      waitSeconds: resend.getAttribute("data-wait-seconds"),
      disabled: resend.hasAttribute("disabled"),
    }
  );
}

describe.each(PORTALS)("email OTP on the %s portal", (portal) => {
  it("mails a code after the password, and the code signs in once", async () => {
    await setMfa(portal, { authenticatorApp: false, emailOtp: true });
    const clock = fakeClock();
    const user = await makeUser({ kind: kindOf(portal) });
    const client = browser({ clock });
    const login = await postPassword(client, portal, user);
    expect(login.headers.get("Location")).toBe(`/${portal}/login/verify?method=email&sent=1`);
    const page = await (await client.get(login.headers.get("Location")!)).text();
    expect(labelled(page, "One-time password")?.getAttribute("id")).toBe("field-code");
    expect(forms(page).find((form) => form.buttons.includes("Verify"))?.action).toBe(`/${portal}/login/verify/email`);
    expect(resendOtp(page)).toEqual({ id: "resend-otp", type: "submit", waitSeconds: "30", disabled: true });
    expect(page).not.toContain("Use a recovery code");

    const code = await latestEmailCode(user.email);
    const ok = await client.post(`/${portal}/login/verify/email`, { code });
    await ok.text();
    expect(ok.headers.get("Location")).toBe(`/${portal}`);
    expect((await client.get(`/${portal}`)).status).toBe(200);

    // A spent code fails in the next sign-in, which gets a code of its own.
    clock.advance(31_000);
    const other = browser({ clock });
    await postPassword(other, portal, user);
    expect(await mailCount(user.email)).toBe(2);
    const fresh = await latestEmailCode(user.email);
    if (fresh !== code) {
      const reused = await other.post(`/${portal}/login/verify/email`, { code });
      expect(reused.status).toBe(401);
      await reused.text();
    }
    const second = await other.post(`/${portal}/login/verify/email`, { code: fresh });
    await second.text();
    expect(second.headers.get("Location")).toBe(`/${portal}`);
  });

  it("says a code was just sent, and when another can be, when a second sign-in comes within 30 seconds", async () => {
    await setMfa(portal, { authenticatorApp: false, emailOtp: true });
    const clock = fakeClock();
    const user = await makeUser({ kind: kindOf(portal) });
    await postPassword(browser({ clock }), portal, user);
    clock.advance(10_000);
    const again = browser({ clock });
    const login = await postPassword(again, portal, user);
    expect(login.headers.get("Location")).toBe(`/${portal}/login/verify?method=email&wait=20`);
    const page = await (await again.get(login.headers.get("Location")!)).text();
    expect(page).not.toContain("We could not send the code");
    expect(page).toContain(
      "A code was emailed to you moments ago, for an earlier sign-in, so none was sent this time. You can send a new one in 20 seconds.",
    );
    expect(resendOtp(page)).toEqual({ id: "resend-otp", type: "submit", waitSeconds: "20", disabled: true });
    expect(await mailCount(user.email)).toBe(1);
    // Once the 30 seconds have passed, Resend OTP sends this sign-in its own code.
    clock.advance(20_000);
    const resend = await again.post(`/${portal}/login/verify/email/send`);
    await resend.text();
    expect(resend.headers.get("Location")).toBe(`/${portal}/login/verify?method=email&sent=1`);
    expect(await mailCount(user.email)).toBe(2);
  });

  it("expires the code after 10 minutes", async () => {
    await setMfa(portal, { authenticatorApp: false, emailOtp: true });
    const clock = fakeClock();
    const user = await makeUser({ kind: kindOf(portal) });
    const client = browser({ clock });
    await postPassword(client, portal, user);
    const code = await latestEmailCode(user.email);
    clock.advance(10 * MINUTE);
    const late = await client.post(`/${portal}/login/verify/email`, { code });
    expect(late.status).toBe(401);
    expect(await shown(late)).toContain("That code has expired");
  });

  it("allows a resend only after 30 seconds; the new code replaces the old", async () => {
    await setMfa(portal, { authenticatorApp: false, emailOtp: true });
    const clock = fakeClock();
    const user = await makeUser({ kind: kindOf(portal) });
    const client = browser({ clock });
    await postPassword(client, portal, user);
    const first = await latestEmailCode(user.email);

    clock.advance(29_000);
    const early = await client.post(`/${portal}/login/verify/email/send`);
    expect(early.status).toBe(429);
    expect(early.headers.get("Retry-After")).toBe("1");
    expect(await shown(early)).toContain("You can ask for another in 1 seconds");
    expect(await mailCount(user.email)).toBe(1);

    clock.advance(1_000);
    const resend = await client.post(`/${portal}/login/verify/email/send`);
    await resend.text();
    expect(resend.status).toBe(303);
    expect(await mailCount(user.email)).toBe(2);
    const second = await latestEmailCode(user.email);

    if (first !== second) {
      const old = await client.post(`/${portal}/login/verify/email`, { code: first });
      expect(old.status).toBe(401);
      await old.text();
    }
    const ok = await client.post(`/${portal}/login/verify/email`, { code: second });
    await ok.text();
    expect(ok.headers.get("Location")).toBe(`/${portal}`);
  });

  it("binds a code to the sign-in that asked for it", async () => {
    await setMfa(portal, { authenticatorApp: false, emailOtp: true });
    const clock = fakeClock();
    const user = await makeUser({ kind: kindOf(portal) });
    const flowA = browser({ clock });
    const flowB = browser({ clock });
    await postPassword(flowA, portal, user);
    const codeA = await latestEmailCode(user.email);
    await postPassword(flowB, portal, user); // B asks within A's cooldown: no new code is sent
    const inB = await flowB.post(`/${portal}/login/verify/email`, { code: codeA });
    expect(inB.status).toBe(401);
    await inB.text();
  });

  it("caps codes at 5 an hour", async () => {
    await setMfa(portal, { authenticatorApp: false, emailOtp: true });
    const clock = fakeClock();
    const user = await makeUser({ kind: kindOf(portal) });
    const client = browser({ clock });
    await postPassword(client, portal, user);
    for (let i = 0; i < 4; i++) {
      clock.advance(31_000);
      const r = await client.post(`/${portal}/login/verify/email/send`);
      await r.text();
      expect(r.status).toBe(303);
    }
    clock.advance(31_000);
    const capped = await client.post(`/${portal}/login/verify/email/send`);
    expect(capped.status).toBe(429);
    expect(await shown(capped)).toContain("Too many codes were sent this hour");
    expect(Number(capped.headers.get("Retry-After"))).toBeGreaterThan(50 * 60);
    expect(await mailCount(user.email)).toBe(5);
  });
});

describe("both methods on", () => {
  it("makes the app primary and email the fallback", async () => {
    await setMfa("agent", { authenticatorApp: true, emailOtp: true });
    const clock = fakeClock();
    const user = await makeUser({ kind: "agent" });
    const { manualKey } = await enrollThroughPages(browser({ clock }), "agent", user, clock);
    expect(await mailCount(user.email)).toBe(0);

    const client = browser({ clock });
    expect((await postPassword(client, "agent", user)).headers.get("Location")).toBe("/agent/login/verify");
    const page = await (await client.get("/agent/login/verify")).text();
    expect(labelled(page, "Authentication code")?.getAttribute("id")).toBe("field-code");
    expect(cellText(page)).toContain("Enter OTP received via email");
    expect(await mailCount(user.email)).toBe(0);

    const fallback = await client.post("/agent/login/verify/email/send");
    await fallback.text();
    expect(fallback.headers.get("Location")).toBe("/agent/login/verify?method=email&sent=1");
    const emailPage = await (await client.get("/agent/login/verify?method=email")).text();
    expect(labelled(emailPage, "One-time password")?.getAttribute("id")).toBe("field-code");
    const ok = await client.post("/agent/login/verify/email", { code: await latestEmailCode(user.email) });
    await ok.text();
    expect(ok.headers.get("Location")).toBe("/agent");
    // And the app still works as the primary method.
    clock.advance(30_000);
    const next = browser({ clock });
    await postPassword(next, "agent", user);
    const viaApp = await next.post("/agent/login/verify/app", { code: totpCode(manualKey, clock.now()) });
    await viaApp.text();
    expect(viaApp.headers.get("Location")).toBe("/agent");
  });

  it("asks nothing when both are off", async () => {
    await setMfa("support", { authenticatorApp: false, emailOtp: false });
    const user = await makeUser({ kind: "contact" });
    expect((await postPassword(browser(), "support", user)).headers.get("Location")).toBe("/support");
  });
});
