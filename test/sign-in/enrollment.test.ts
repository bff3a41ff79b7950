import { describe, expect, it } from "vitest";
import { sessionCookieName } from "../../src/request/session-cookie";
import { PORTALS, type Portal } from "../../src/portal/policy";
import { browser, fakeClock } from "../helpers/app";
import { makeUser } from "../helpers/factories";
import { enrollThroughPages, extract, postPassword, recoveryCodesIn, setMfa, totpCode } from "../helpers/mfa";
import { button, find, forms, labelled, links, shown, cellText } from "../helpers/html";

const kindOf = (portal: Portal) => (portal === "agent" ? "agent" : "contact");

describe.each(PORTALS)("authenticator app on the %s portal", (portal) => {
  it("enrolls: QR code and manual key, a wrong code retried, 10 recovery codes, Finish", async () => {
    await setMfa(portal, { authenticatorApp: true, emailOtp: false, issuerName: `RTX Solutions – ${portal}` });
    const clock = fakeClock();
    const user = await makeUser({ kind: kindOf(portal) });
    const client = browser({ clock });

    const login = await postPassword(client, portal, user);
    expect(login.headers.get("Location")).toBe(`/${portal}/login/enroll`);
    const pendingToken = client.cookie(sessionCookieName(portal))!;

    const page = await (await client.get(`/${portal}/login/enroll`)).text();
    expect(find(page, '.qr[role="img"] svg')).not.toBeNull();
    expect(page, "inline styles are blocked by the CSP").not.toMatch(/\sstyle="/);
    expect(labelled(page, "Authentication code")?.getAttribute("id")).toBe("field-code");
    expect(forms(page).find((form) => form.buttons.includes("Verify"))?.action).toBe(`/${portal}/login/enroll`);
    const manualKey = extract(page, "totp-secret");
    expect(manualKey).toMatch(/^([A-Z2-7]{4} ){7}[A-Z2-7]{4}$/); // 160 bits in groups of four
    // Reloading shows the same key, so a QR code scanned before the reload still works.
    expect(extract(await (await client.get(`/${portal}/login/enroll`)).text(), "totp-secret")).toBe(manualKey);

    const wrong = await client.post(`/${portal}/login/enroll`, {
      code: "000000" === totpCode(manualKey, clock.now()) ? "111111" : "000000",
    });
    expect(wrong.status).toBe(401);
    expect(await shown(wrong)).toContain("That code is not right");

    const right = await client.post(`/${portal}/login/enroll`, { code: totpCode(manualKey, clock.now()) });
    await right.text();
    expect(right.headers.get("Location")).toBe(`/${portal}/login/recovery-codes`);
    // SECURITY.md 13: a new token after the second factor; the pending one no longer works.
    expect(client.cookie(sessionCookieName(portal))).not.toBe(pendingToken);
    const stale = await browser({ clock }).get(`/${portal}/login/recovery-codes`, {
      headers: { Cookie: `${sessionCookieName(portal)}=${pendingToken}` },
    });
    await stale.text();
    expect(stale.status).toBe(303);
    expect(stale.headers.get("Location")).toContain(`/${portal}/login?next=`);

    const codesPage = await (await client.get(`/${portal}/login/recovery-codes`)).text();
    const codes = recoveryCodesIn(codesPage);
    expect(codes).toHaveLength(10);
    expect(new Set(codes).size).toBe(10);
    for (const code of codes) expect(code).toMatch(/^[a-z2-7]{4}-[a-z2-7]{4}-[a-z2-7]{4}$/);
    expect(links(codesPage)).toContainEqual({ text: "Download", href: `/${portal}/login/recovery-codes.txt` });
    // Copy puts the codes on the clipboard, one a line.
    expect(button(codesPage, "Copy")?.getAttribute("data-copy")).toBe(codes.join("\n"));

    const download = await client.get(`/${portal}/login/recovery-codes.txt`);
    expect(download.headers.get("Content-Disposition")).toContain("attachment");
    expect(download.headers.get("Content-Type")).toContain("text/plain");
    const file = await download.text();
    for (const code of codes) expect(file).toContain(code);

    // Until Finish the session is not fully signed in.
    const early = await client.get(`/${portal}`);
    await early.text();
    expect(early.status).toBe(303);
    expect(early.headers.get("Location")).toBe(`/${portal}/login/verify`);

    const finish = await client.post(`/${portal}/login/finish`);
    await finish.text();
    expect(finish.headers.get("Location")).toBe(`/${portal}`);
    expect((await client.get(`/${portal}`)).status).toBe(200);
  });

  it("signs in next time with a code from the app, and the enrollment code cannot be replayed", async () => {
    await setMfa(portal, { authenticatorApp: true, emailOtp: false });
    const clock = fakeClock();
    const user = await makeUser({ kind: kindOf(portal) });
    const first = browser({ clock });
    const { manualKey } = await enrollThroughPages(first, portal, user, clock);
    const enrollmentCode = totpCode(manualKey, clock.now());

    const second = browser({ clock });
    expect((await postPassword(second, portal, user)).headers.get("Location")).toBe(`/${portal}/login/verify`);
    const page = await (await second.get(`/${portal}/login/verify`)).text();
    expect(labelled(page, "Authentication code")?.getAttribute("id")).toBe("field-code");
    expect(cellText(page)).toContain("Use a recovery code");
    expect(page).not.toContain("Enter OTP received via email");

    const replay = await second.post(`/${portal}/login/verify/app`, { code: enrollmentCode });
    expect(replay.status).toBe(401);
    await replay.text();

    clock.advance(30_000);
    const ok = await second.post(`/${portal}/login/verify/app`, { code: totpCode(manualKey, clock.now()) });
    await ok.text();
    expect(ok.headers.get("Location")).toBe(`/${portal}`);
    expect((await second.get(`/${portal}`)).status).toBe(200);
  });

  it("accepts each recovery code once", async () => {
    await setMfa(portal, { authenticatorApp: true, emailOtp: false });
    const clock = fakeClock();
    const user = await makeUser({ kind: kindOf(portal) });
    const { recoveryCodes } = await enrollThroughPages(browser({ clock }), portal, user, clock);

    const client = browser({ clock });
    await postPassword(client, portal, user);
    const page = await (await client.get(`/${portal}/login/verify?method=recovery`)).text();
    expect(labelled(page, "Recovery code")?.getAttribute("id")).toBe("field-code");
    // Typed in upper case with spaces: still the same code.
    const typed = recoveryCodes[3]!.toUpperCase().replaceAll("-", " ");
    const ok = await client.post(`/${portal}/login/verify/recovery`, { code: typed });
    await ok.text();
    expect(ok.headers.get("Location")).toBe(`/${portal}`);

    const again = browser({ clock });
    await postPassword(again, portal, user);
    const reused = await again.post(`/${portal}/login/verify/recovery`, { code: recoveryCodes[3]! });
    expect(reused.status).toBe(401);
    expect(await shown(reused)).toContain("already used");
    const other = await again.post(`/${portal}/login/verify/recovery`, { code: recoveryCodes[4]! });
    await other.text();
    expect(other.headers.get("Location")).toBe(`/${portal}`);
  });
});
