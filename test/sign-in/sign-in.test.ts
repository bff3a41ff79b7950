import { describe, expect, it } from "vitest";
import { sessionCookieName } from "../../src/request/session-cookie";
import { PORTALS, type Portal } from "../../src/portal/policy";
import { browser } from "../helpers/app";
import { signIn } from "../helpers/auth";
import { makeUser } from "../helpers/factories";
import { button, find, formFields, labelled, shown } from "../helpers/html";

const kindOf = (portal: Portal) => (portal === "agent" ? "agent" : "contact");

describe.each(PORTALS)("sign-in to the %s portal", (portal) => {
  it("shows a form with Email, Password and Sign in", async () => {
    const page = await (await browser().get(`/${portal}/login`)).text();
    expect(labelled(page, "Email")?.getAttribute("id")).toBe("field-email");
    expect(labelled(page, "Password")?.getAttribute("id")).toBe("field-password");
    const signInButton = button(page, "Sign in");
    expect(signInButton?.getAttribute("type")).toBe("submit");
    expect(signInButton?.getAttribute("class")).toBe("primary");
  });

  it("signs in with the right password and lands on the portal home", async () => {
    const user = await makeUser({ kind: kindOf(portal), name: "Robin Example" });
    const client = browser();
    const response = await signIn(client, portal, user);
    expect(response.headers.get("Location")).toBe(`/${portal}`);
    const home = await client.get(`/${portal}`);
    expect(home.status).toBe(200);
    expect(await shown(home)).toContain("Robin Example");
  });

  it("matches the email case-insensitively", async () => {
    const user = await makeUser({ kind: kindOf(portal) });
    await signIn(browser(), portal, { email: user.email.toUpperCase(), password: user.password });
  });

  it("gives a wrong password and an unknown email the same status and message", async () => {
    const user = await makeUser({ kind: kindOf(portal) });
    const wrong = await browser().post(`/${portal}/login`, { email: user.email, password: "not the password" });
    const unknown = await browser().post(`/${portal}/login`, { email: "nobody-here@example.com", password: "not the password" });
    expect(wrong.status).toBe(401);
    expect(unknown.status).toBe(wrong.status);
    const [wrongBody, unknownBody] = [await wrong.text(), await unknown.text()];
    expect(wrongBody).toContain("Invalid email or password");
    // Identical but for the email echoed back into the field.
    expect(unknownBody.replace("nobody-here@example.com", "X")).toBe(wrongBody.replace(user.email, "X"));
    // No session; the D1 bookmark (src/request/d1-session.ts) comes with both answers alike.
    const cookieNames = (r: Response) => r.headers.getSetCookie().map((c) => c.split("=")[0]);
    expect(cookieNames(wrong)).toEqual(["__Host-edgedesk_d1"]);
    expect(cookieNames(unknown)).toEqual(cookieNames(wrong));
  });

  it("refuses a disabled account, even with the right password", async () => {
    const user = await makeUser({ kind: kindOf(portal), active: false });
    const client = browser();
    const response = await client.post(`/${portal}/login`, { email: user.email, password: user.password });
    expect(response.status).toBe(403);
    expect(await shown(response)).toContain("disabled");
    expect(client.cookie(sessionCookieName(portal))).toBeUndefined();
  });

  it("does not let one portal's account into the other portal", async () => {
    const other: Portal = portal === "agent" ? "support" : "agent";
    const user = await makeUser({ kind: kindOf(other) });
    const response = await browser().post(`/${portal}/login`, { email: user.email, password: user.password });
    expect(response.status).toBe(401);
    expect(await shown(response)).toContain("Invalid email or password");
  });

  it("redirects a signed-out visit to sign-in, and back after it", async () => {
    const user = await makeUser({ kind: kindOf(portal) });
    const client = browser();
    const visit = await client.get(`/${portal}?tab=1`);
    expect(visit.status).toBe(303);
    const loginUrl = visit.headers.get("Location")!;
    expect(loginUrl).toBe(`/${portal}/login?next=${encodeURIComponent(`/${portal}?tab=1`)}`);
    const page = await (await client.get(loginUrl)).text();
    // The sign-in form carries where to go back to.
    expect(formFields(find(page, `form[action="/${portal}/login"]`)!)).toContainEqual(["next", `/${portal}?tab=1`]);
    const response = await client.post(`/${portal}/login`, { email: user.email, password: user.password, next: `/${portal}?tab=1` });
    expect(response.headers.get("Location")).toBe(`/${portal}?tab=1`);
  });

  it("never redirects to another site after sign-in", async () => {
    const user = await makeUser({ kind: kindOf(portal) });
    for (const next of ["https://evil.example/", "//evil.example/", `/${portal}//evil.example`, "/\\evil.example", "/other"]) {
      const response = await browser().post(`/${portal}/login`, { email: user.email, password: user.password, next });
      await response.text();
      expect(response.headers.get("Location")).toBe(`/${portal}`);
    }
  });

  it("signs out: the session ends and the old cookie no longer works", async () => {
    const user = await makeUser({ kind: kindOf(portal) });
    const client = browser();
    await signIn(client, portal, user);
    const stolen = `${sessionCookieName(portal)}=${client.cookie(sessionCookieName(portal))}`;
    const out = await client.post(`/${portal}/logout`);
    expect(out.status).toBe(303);
    expect(out.headers.get("Location")).toBe(`/${portal}/login?signed_out=1`);
    expect(client.cookie(sessionCookieName(portal))).toBeUndefined();
    const replay = await browser().get(`/${portal}`, { headers: { Cookie: stolen } });
    expect(replay.status).toBe(303);
    expect(replay.headers.get("Location")).toContain(`/${portal}/login`);
  });

  it("sets the session cookie with __Host-, Secure, HttpOnly, SameSite=Lax and Path=/", async () => {
    const user = await makeUser({ kind: kindOf(portal) });
    const response = await browser().post(`/${portal}/login`, { email: user.email, password: user.password });
    const cookie = response.headers.getSetCookie().find((c) => c.startsWith(sessionCookieName(portal)))!;
    expect(cookie).toMatch(/; Secure/);
    expect(cookie).toMatch(/; HttpOnly/);
    expect(cookie).toMatch(/; SameSite=Lax/);
    expect(cookie).toMatch(/; Path=\//);
    expect(cookie).not.toMatch(/Domain=/i);
    // 160 random bits after the user id, base32, then our MAC over both (with the id of its key).
    const token = cookie.split(";")[0]!.split("=")[1]!;
    expect(token).toMatch(/^(agt|cnt)_[a-z2-7]{16}\.[a-z2-7]{32}\.[0-9a-f]{8}\.[0-9a-f]{64}$/);
  });
});
