// SECURITY.md 18: a person whose only second factor is an emailed code confirms
// sensitive changes with the password and a code mailed for that confirmation, not the password alone.
import { describe, expect, it } from "vitest";
import { MINUTE } from "../../src/lib/clock";
import { browser, fakeClock } from "../helpers/app";
import { makeContact } from "../helpers/factories";
import { latestEmailCode, mailCount, postPassword, setMfa } from "../helpers/mfa";
import { button, labelled, shown } from "../helpers/html";

describe("confirming it's you with an emailed code", () => {
  it("asks for the password and a mailed code, on the re-authentication page and on My account", async () => {
    await setMfa("support", { authenticatorApp: false, emailOtp: true });
    const clock = fakeClock();
    const contact = await makeContact();
    const client = browser({ clock });
    await postPassword(client, "support", contact);
    const signedIn = await client.post("/support/login/verify/email", { code: await latestEmailCode(contact.email) });
    await signedIn.text();
    expect(signedIn.headers.get("Location")).toBe("/support");
    clock.advance(6 * MINUTE);

    const page = await (await client.get("/support/reauth?next=/support/account")).text();
    expect(labelled(page, "Code from your email")?.getAttribute("name")).toBe("code");
    // "Email me a code" posts the same form elsewhere, and comes back here.
    const emailMe = button(page, "Email me a code");
    expect([emailMe?.getAttribute("formaction"), emailMe?.getAttribute("formmethod")]).toEqual([
      `/support/reauth/email?next=${encodeURIComponent("/support/reauth?next=%2Fsupport%2Faccount")}`,
      "post",
    ]);

    const passwordOnly = await client.post("/support/reauth", { current: contact.password, next: "/support/account" });
    expect(passwordOnly.status).toBe(401);
    expect(await shown(passwordOnly)).toContain("Enter the code we emailed you");

    const mails = await mailCount(contact.email);
    clock.advance(31_000);
    const send = await client.post(`/support/reauth/email?next=${encodeURIComponent("/support/reauth?next=/support/account")}`);
    await send.text();
    expect(send.headers.get("Location")).toBe("/support/reauth?next=/support/account&code_sent=1");
    expect(await mailCount(contact.email)).toBe(mails + 1);
    expect(await shown(await client.get(send.headers.get("Location")!))).toContain("We emailed you a code. It works once, for 10 minutes.");
    const code = await latestEmailCode(contact.email);

    const wrong = await client.post("/support/reauth", {
      current: contact.password,
      code: code === "000000" ? "111111" : "000000",
      next: "/support/account",
    });
    expect(wrong.status).toBe(401);
    expect(await shown(wrong)).toContain("That code is not right");
    const right = await client.post("/support/reauth", { current: contact.password, code, next: "/support/account" });
    await right.text();
    expect(right.status).toBe(303);
    expect(right.headers.get("Location")).toBe("/support/account");
    // Single use: the same code does not confirm twice.
    const again = await client.post("/support/reauth", { current: contact.password, code, next: "/support/account" });
    expect(again.status).toBe(401);
    await again.text();

    // My account's password change asks for a mailed code the same way.
    const account = await (await client.get("/support/account")).text();
    expect(labelled(account, "Code from your email")?.getAttribute("name")).toBe("code");
    const change = await client.post("/support/account/password", {
      current: contact.password,
      password: "a brand new passphrase",
      confirm: "a brand new passphrase",
    });
    expect(change.status).toBe(401);
    expect(await shown(change)).toContain("Enter the code we emailed you");
  });

  it("asks only for the password where the portal uses no second factor", async () => {
    await setMfa("support", { authenticatorApp: false, emailOtp: false });
    const contact = await makeContact();
    const client = browser();
    await postPassword(client, "support", contact);
    const page = await (await client.get("/support/reauth")).text();
    expect(page).not.toContain("Code from your email");
    const ok = await client.post("/support/reauth", { current: contact.password, next: "/support" });
    await ok.text();
    expect(ok.status).toBe(303);
  });
});
