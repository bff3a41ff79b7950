import { describe, expect, it } from "vitest";
import { users } from "../../src/db/schema";
import { browser } from "../helpers/app";
import { signIn } from "../helpers/auth";
import { db, makeAgent } from "../helpers/factories";
import { shown } from "../helpers/html";

describe("documents", () => {
  it("start with a doctype, so browsers lay them out in standards mode, and read their title as written", async () => {
    const agent = await makeAgent();
    const client = browser();
    for (const path of ["/agent/login", "/support/login", "/no/such/page"])
      expect((await (await client.get(path)).text()).startsWith('<!DOCTYPE html><html lang="en">'), path).toBe(true);
    await signIn(client, "agent", agent);
    const home = await (await client.get("/agent")).text();
    expect(home.startsWith('<!DOCTYPE html><html lang="en">')).toBe(true);
    expect(home).toContain("<title>Home &middot; EdgeDesk</title>"); // a browser reads "Home · EdgeDesk"
  });
});

describe("cross-site requests", () => {
  it("refuses a form POST from another origin with 403 and signs no one in", async () => {
    const agent = await makeAgent();
    const client = browser();
    const response = await client.post(
      "/agent/login",
      { email: agent.email, password: agent.password },
      { headers: { Origin: "https://evil.example" } },
    );
    expect(response.status).toBe(403);
    await response.text();
    expect(client.cookies.size).toBe(0);
  });

  it("refuses a cross-site sign-out", async () => {
    const agent = await makeAgent();
    const client = browser();
    await signIn(client, "agent", agent);
    const out = await client.post("/agent/logout", {}, { headers: { Origin: "https://evil.example" } });
    expect(out.status).toBe(403);
    await out.text();
    expect((await client.get("/agent")).status).toBe(200);
  });
});

describe("bad input", () => {
  it("answers each malformed sign-in with a 400 and a message a person can act on", async () => {
    const client = browser();
    const cases: [BodyInit | Record<string, string>, string, string?][] = [
      [{}, "Enter your email."],
      [{ email: "someone@example.com" }, "Enter your password."],
      [{ email: "no-at-sign", password: "x" }, "Enter a valid email address"],
      [{ email: `${"a".repeat(300)}@example.com`, password: "x" }, "at most 254 characters"],
      [{ email: "a\u0000b@example.com", password: "x" }, "not allowed"],
      [{ email: "a@example.com", password: "p".repeat(2000) }, "at most 1,024 characters"],
      [JSON.stringify({ email: "a@example.com", password: "x" }), "Enter your email.", "application/json"],
    ];
    for (const [body, message, type] of cases) {
      const response = type
        ? await client.request("/agent/login", { method: "POST", body: body as string, headers: { "Content-Type": type } })
        : await client.post("/agent/login", body as Record<string, string>);
      expect(response.status, JSON.stringify(body).slice(0, 80)).toBe(400);
      expect(await shown(response)).toContain(message);
    }
  });

  it("refuses a body over 64 KiB with 413 and writes nothing", async () => {
    const before = (await db().select().from(users)).length;
    const response = await browser().post("/setup", {
      name: "x".repeat(70_000),
      email: "big@example.com",
      password: "whatever123",
      confirm: "whatever123",
    });
    expect(response.status).toBe(413);
    await response.text();
    expect((await db().select().from(users)).length).toBe(before);
  });

  it("shows a friendly 404 page for an unknown address", async () => {
    const response = await browser().get("/no/such/page");
    expect(response.status).toBe(404);
    expect(await shown(response)).toContain("Page not found");
  });
});

describe("security headers", () => {
  it("every HTML page has a strict CSP, no framing, a referrer policy and no caching", async () => {
    const agent = await makeAgent();
    const client = browser();
    await signIn(client, "agent", agent);
    for (const path of ["/agent/login", "/support/login", "/agent", "/no/such/page"]) {
      const response = await client.get(path);
      await response.text();
      const csp = response.headers.get("Content-Security-Policy")!;
      expect(csp, path).toContain("default-src 'self'");
      expect(csp).toContain("script-src 'self'");
      expect(csp).not.toContain("unsafe-inline");
      expect(csp).toContain("frame-ancestors 'none'");
      expect(response.headers.get("X-Frame-Options")).toBe("DENY");
      expect(response.headers.get("Referrer-Policy")).toBe("same-origin");
      expect(response.headers.get("X-Content-Type-Options")).toBe("nosniff");
      expect(response.headers.get("Cache-Control")).toBe("no-store");
    }
  });

  it("pages contain no inline script or style", async () => {
    for (const path of ["/agent/login", "/support/login"]) {
      const page = await (await browser().get(path)).text();
      expect(page).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
      expect(page).not.toMatch(/\sstyle="/);
      expect(page).not.toMatch(/\son[a-z]+="/);
    }
  });
});
