import { count, eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { passwordHistory, users } from "../../src/db/schema";
import { browser } from "../helpers/app";
import { db } from "../helpers/factories";
import { fieldErrors, labelled, shown } from "../helpers/html";

// Storage is per test file, so this file starts with no agents at all.
const form = { name: "Ada Admin", email: "ada@example.com", password: "a long enough passphrase", confirm: "a long enough passphrase" };

describe("/setup, the first administrator", () => {
  it("refuses bad input with a message and creates nothing", async () => {
    const client = browser();
    for (const [change, message] of [
      [{ email: "not-an-email" }, "Enter a valid email address"],
      [{ password: "short", confirm: "short" }, "This password does not meet a rule: at least 8 characters."],
      [{ password: "password123", confirm: "password123" }, "most commonly used passwords"],
      [{ confirm: "something else entirely" }, "The two passwords do not match."],
      [{ name: "" }, "Enter your name."],
    ] as const) {
      const response = await client.post("/setup", { ...form, ...change });
      expect(response.status).toBe(400);
      expect(await shown(response)).toContain(message);
    }
    expect((await db().select({ n: count() }).from(users))[0]!.n).toBe(0);
  });

  it("names every field's problem at once, beside its field, keeping the name and email typed", async () => {
    const response = await browser().post("/setup", { name: "", email: "not-an-email", password: "", confirm: "" });
    expect(response.status).toBe(400);
    const html = await response.text();
    expect(Object.keys(fieldErrors(html)).sort()).toEqual(["confirm", "email", "name", "password"]);
    expect(fieldErrors(html).name).toBe("Enter your name.");
    expect(labelled(html, "Email")?.getAttribute("value")).toBe("not-an-email");
    expect((await db().select({ n: count() }).from(users))[0]!.n).toBe(0);
  });

  it("of 50 parallel submissions exactly one creates an Administrator; then it is gone for good", async () => {
    const page = await browser().get("/setup");
    expect(page.status).toBe(200);
    expect(await shown(page)).toContain("Create the first administrator");

    const responses = await Promise.all(
      Array.from({ length: 50 }, (_, i) => browser().post("/setup", { ...form, email: `admin${i}@example.com` })),
    );
    await Promise.all(responses.map((r) => r.text()));
    expect(responses.filter((r) => r.status === 303)).toHaveLength(1);
    expect(responses.filter((r) => r.status === 404)).toHaveLength(49);
    const admins = await db().select().from(users).where(eq(users.kind, "agent"));
    expect(admins).toHaveLength(1);
    expect(admins[0]!.roleId).toBe("role_administrator");
    // Its password is in the history from the start.
    expect(await db().select().from(passwordHistory).where(eq(passwordHistory.userId, admins[0]!.id))).toHaveLength(1);

    // The winner is signed in as that administrator.
    const winner = responses.find((r) => r.status === 303)!;
    expect(winner.headers.get("Location")).toBe("/agent");

    const later = browser();
    expect((await later.get("/setup")).status).toBe(404);
    const retry = await later.post("/setup", { ...form, email: "late@example.com" });
    expect(retry.status).toBe(404);
    await retry.text();
    expect(await db().select().from(users)).toHaveLength(1);
  });
});
