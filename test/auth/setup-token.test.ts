// Outside development, /setup asks for the one-time SETUP_TOKEN secret, so a freshly
// deployed Worker is not the first visitor's to claim. (Storage is per file: no agents here yet.)
import { count } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { users } from "../../src/db/schema";
import { browser, deployedEnv } from "../helpers/app";
import { db } from "../helpers/factories";
import { labelled, shown, cellText } from "../helpers/html";

const form = { name: "Ada Admin", email: "ada@example.com", password: "a long enough passphrase", confirm: "a long enough passphrase" };
const TOKEN = "k3Jq9-vX2mP8-tR5wL1-zN7cB4";
const agents = async () => (await db().select({ n: count() }).from(users))[0]!.n;

describe("/setup in production", () => {
  it("needs no token in development", async () => {
    const page = await browser().get("/setup");
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(cellText(html)).toContain("Create the first administrator");
    expect(html).not.toContain("Setup token");
  });

  it("is closed until SETUP_TOKEN is set, saying how to set it", async () => {
    for (const SETUP_TOKEN of [undefined, "", "too-short"]) {
      const client = browser({ env: { ...deployedEnv(), SETUP_TOKEN } });
      const page = await client.get("/setup");
      expect(page.status).toBe(403);
      expect(await shown(page)).toContain("wrangler secret put SETUP_TOKEN");
      const post = await client.post("/setup", { ...form, setupToken: "too-short" });
      expect(post.status).toBe(403);
      await post.text();
    }
    expect(await agents()).toBe(0);
  });

  it("refuses a wrong token, and the right one creates the administrator", async () => {
    const client = browser({ env: { ...deployedEnv(), SETUP_TOKEN: TOKEN } });
    const page = await (await client.get("/setup")).text();
    const tokenBox = labelled(page, "Setup token");
    expect([tokenBox?.getAttribute("id"), tokenBox?.getAttribute("name")]).toEqual(["field-setupToken", "setupToken"]);
    for (const setupToken of ["", "wrong token that is long enough", TOKEN.slice(0, -1)]) {
      const wrong = await client.post("/setup", { ...form, setupToken });
      expect(wrong.status).toBe(403);
      expect(await shown(wrong)).toContain("That setup token is not right.");
    }
    expect(await agents()).toBe(0);
    const right = await client.post("/setup", { ...form, setupToken: TOKEN });
    await right.text();
    expect(right.status).toBe(303);
    expect(await agents()).toBe(1);
    expect((await client.get("/setup")).status).toBe(404);
  });
});
