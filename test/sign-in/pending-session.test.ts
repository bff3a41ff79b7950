import { describe, expect, it } from "vitest";
import { createDevelopmentApp } from "../../src/dev/app";
import { sessionCookieName } from "../../src/request/session-cookie";
import { browser, fakeClock } from "../helpers/app";
import { makeAdmin, makeContact } from "../helpers/factories";
import { PORTALS } from "../../src/portal/policy";
import { postPassword, setMfa } from "../helpers/mfa";

// The pages of signing in (password, second step, SSO) and those outside the portals;
// everything else must refuse a part-way sign-in.
const MFA_PATHS = /^\/(agent|support)\/(login|logout|sso)(\/|$)|^\/(setup|dev\/mailbox)$|^\/$/;

function concrete(path: string): string {
  return path
    .replace(/:audience/g, "agents")
    .replace(/:[a-zA-Z]+/g, "x")
    .replace(/\*$/, "");
}

describe("SECURITY.md 12: a session waiting for its second factor", () => {
  it.each(PORTALS)("is refused on every non-MFA route of the %s portal, enumerated from the app itself", async (portal) => {
    await setMfa(portal, { authenticatorApp: false, emailOtp: true });
    const clock = fakeClock();
    const admin = portal === "agent" ? await makeAdmin() : await makeContact();
    const client = browser({ clock });
    await postPassword(client, portal, admin);
    expect(client.cookie(sessionCookieName(portal))).toBeTruthy();

    const routes = createDevelopmentApp().routes.filter(
      (r) => r.method !== "ALL" && r.path.startsWith(`/${portal}`) && !MFA_PATHS.test(r.path),
    );
    expect(routes.length).toBeGreaterThan(0);
    for (const route of routes) {
      const path = concrete(route.path);
      const response = await client.request(path, {
        method: route.method,
        ...(route.method === "GET" ? {} : { body: new URLSearchParams({}) }),
      });
      const body = await response.text();
      expect([303, 401], `${route.method} ${route.path} let a pending session through`).toContain(response.status);
      if (response.status === 303) expect(response.headers.get("Location")).toBe(`/${portal}/login/verify`);
      expect(body).not.toContain(admin.name);
    }
  });
});
