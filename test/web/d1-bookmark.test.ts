// Reads near the reader. Every request's queries run in a D1 session; the bookmark goes
// back and forth in a cookie so a person reads at least their own last write. Locally there are no
// replicas, so these check the handling itself: which session each request asks D1 for, the
// cookie carried and moved on after a write, and a malformed one refused without harm.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { BOOKMARK } from "../../src/request/d1-session";
import { browser } from "../helpers/app";
import { signIn } from "../helpers/auth";
import { makeAdmin } from "../helpers/factories";
import { shown } from "../helpers/html";

const COOKIE = "__Host-edgedesk_d1";

/** The real database, noting what each request asked withSession() for. */
function watchedD1() {
  const asked: string[] = [];
  const db = new Proxy(env.DB, {
    get(target, prop) {
      if (prop === "withSession")
        return (constraint: string) => {
          asked.push(constraint);
          return target.withSession(constraint);
        };
      const value = Reflect.get(target, prop, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  return { db, asked };
}

function bookmarkCookie(response: Response): string | undefined {
  return response.headers.getSetCookie().find((h) => h.startsWith(`${COOKIE}=`));
}

describe("the D1 bookmark", () => {
  it("is set on the first read, carried by later reads, and moved on by a write; changes use the primary", async () => {
    const { db, asked } = watchedD1();
    const admin = await makeAdmin();
    const client = browser({ env: { DB: db } });
    await signIn(client, "agent", admin);
    // Signing in wrote (on the primary) and left a bookmark.
    const signedIn = client.cookie(COOKIE)!;
    expect(signedIn).toMatch(BOOKMARK);
    asked.length = 0;

    const first = await client.get("/agent/admin/locations");
    await first.text();
    const set = bookmarkCookie(first)!;
    expect(set).toMatch(/; HttpOnly/i);
    expect(set).toMatch(/; Secure/i);
    expect(set).toMatch(/; SameSite=Lax/i);
    expect(set).toMatch(/; Path=\//i);
    expect(asked).toEqual([signedIn]);
    const carried = client.cookie(COOKIE)!;
    expect(carried >= signedIn).toBe(true);

    // A change runs on the primary, and leaves a newer bookmark.
    const name = `Depot ${crypto.randomUUID().slice(0, 8)}`;
    const created = await client.post("/agent/admin/locations", { name });
    await created.text();
    expect(created.status).toBeLessThan(400);
    expect(asked.at(-1)).toBe("first-primary");
    const afterWrite = client.cookie(COOKIE)!;
    expect(afterWrite > carried).toBe(true);

    // The next read asks for a copy at least that new, and sees the write.
    const list = await client.get("/agent/admin/locations");
    expect(await shown(list)).toContain(name);
    expect(asked.at(-1)).toBe(afterWrite);
  });

  it("reads unconstrained without a cookie, and ignores and clears a malformed one", async () => {
    const { db, asked } = watchedD1();
    const admin = await makeAdmin();
    const client = browser({ env: { DB: db } });
    await signIn(client, "agent", admin);
    for (const bad of [
      "garbage",
      "ffffffff-ffffffff",
      `${"0".repeat(8)}-${"0".repeat(8)}-${"0".repeat(8)}-${"g".repeat(32)}`,
      "first-primary",
    ]) {
      asked.length = 0;
      client.cookies.set(COOKIE, bad);
      const response = await client.get("/agent/admin/locations");
      await response.text();
      expect(response.status, bad).toBe(200);
      expect(asked, bad).toEqual(["first-unconstrained"]);
      expect(client.cookie(COOKIE), bad).toMatch(BOOKMARK);
      // A page that reads nothing from D1 just clears it.
      client.cookies.set(COOKIE, bad);
      const home = await client.get("/agent");
      await home.text();
      expect(home.status, bad).toBe(200);
      expect(bookmarkCookie(home), bad).toMatch(/Max-Age=0/i);
      expect(client.cookie(COOKIE), bad).toBeUndefined();
    }
    client.cookies.delete(COOKIE);
    asked.length = 0;
    await (await client.get("/agent")).text();
    expect(asked).toEqual(["first-unconstrained"]);
  });
});
