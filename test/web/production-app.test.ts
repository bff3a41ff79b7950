// The production Worker (src/index.tsx, what `wrangler deploy` builds) has none of the
// development tools: they are mounted only by the development entry, so no variable can switch
// them on. scripts/check-bundle.mjs checks the built bundle itself.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import production from "../../src/index";
import { createApp } from "../../src/app";
import { createDevelopmentApp } from "../../src/dev/app";
import { signInRoutes } from "../../src/sign-in/routes";
import { makeContact } from "../helpers/factories";

const DEV_TOOLS = [
  ["GET", "/dev/mailbox"],
  ["POST", "/dev/sessions"],
  ["GET", "/dev/floor/assets"],
  ["GET", "/dev/floor/software"],
] as const;

describe("the production app", () => {
  it("lists no development route; the development app lists each tool", () => {
    expect(
      createApp()
        .routes.filter((r) => r.path.startsWith("/dev"))
        .map((r) => r.path),
    ).toEqual([]);
    const development = createDevelopmentApp().routes.map((r) => `${r.method} ${r.path}`);
    for (const [method, path] of DEV_TOOLS) expect(development).toContain(`${method} ${path}`);
  });

  it("answers 404 for every development tool even with ENVIRONMENT=development, and counts no storage calls", async () => {
    expect(env.ENVIRONMENT).toBe("development");
    const contact = await makeContact();
    for (const [method, path] of DEV_TOOLS) {
      const body = method === "POST" ? JSON.stringify({ portal: "support", userIds: [contact.id], perUser: 1 }) : undefined;
      const response = await production.fetch(
        new Request(`https://edgedesk.test${path}`, {
          method,
          body,
          headers: { "Content-Type": "application/json", "X-EdgeDesk-Count-Storage": "1", Origin: "https://edgedesk.test" },
        }),
        env,
        { waitUntil: () => {}, passThroughOnException: () => {}, props: {} } as unknown as ExecutionContext,
      );
      expect(response.status, `${method} ${path}`).toBe(404);
      expect(response.headers.get("X-EdgeDesk-Storage-Calls"), `${method} ${path}`).toBeNull();
      await response.text();
    }
  });

  it("has src/sign-in alone mount the paths of signing in, for both portals", () => {
    const signingIn = /^\/(agent|support)\/(login|logout|sso|reauth)(\/|$)/;
    const listed = (routes: { method: string; path: string }[]) => routes.map((r) => `${r.method} ${r.path}`).sort();
    const app = listed(createApp().routes.filter((r) => signingIn.test(r.path)));
    const own = (["agent", "support"] as const).flatMap((portal) =>
      signInRoutes(portal).routes.map((r) => ({ method: r.method, path: `/${portal}${r.path}` })),
    );
    expect(own.length).toBeGreaterThan(40);
    // Same entries, same number of times: no other module adds a handler or a middleware there.
    expect(app).toEqual(listed(own.filter((r) => signingIn.test(r.path))));
    expect(listed(own).filter((r) => !signingIn.test(r.split(" ")[1]!))).toEqual([]);
    for (const path of ["/agent/login", "/support/login/verify", "/agent/login/forgot", "/support/sso/callback", "/agent/reauth"])
      expect(
        app.some((r) => r.endsWith(` ${path}`)),
        path,
      ).toBe(true);
  });
});
