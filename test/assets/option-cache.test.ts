// The dropdowns' options are kept per isolate while option_list_version's token stays
// the same. A list page then reads two statements in one round trip; and every change to what
// the dropdowns show (made through the app or straight in SQL) is on the very next page.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { countingEnv, noStorageCalls } from "../../src/dev/storage-calls";
import { browser, fakeClock } from "../helpers/app";
import { signIn } from "../helpers/auth";
import { makeAdmin, makeAgent } from "../helpers/factories";
import { makeGroup, makeLocation, seedAssets } from "../helpers/inventory";
import { setMfa } from "../helpers/mfa";
import { dropdownOptions } from "../helpers/html";

/** The option texts of one dropdown of the page, found by its accessible name. */
const optionsOf = (html: string, label: string) => dropdownOptions(html, label).map((o) => o.text);

describe("the dropdowns' options, kept per isolate", () => {
  it("reads the rows and the options' token in one round trip of two statements once the isolate holds them", async () => {
    await setMfa("agent", { authenticatorApp: false, emailOtp: false });
    const admin = await makeAdmin();
    const calls = noStorageCalls();
    const clock = fakeClock();
    const client = browser({ clock, env: countingEnv(env, calls) });
    await signIn(client, "agent", admin);
    await seedAssets(3, { prefix: "Steady" });
    await (await client.get("/agent/assets?q=Steady")).text();
    const before = { ...calls };
    const html = await (await client.get("/agent/assets?q=Steady")).text();
    expect({ statements: calls.d1Statements - before.d1Statements, roundTrips: calls.d1RoundTrips - before.d1RoundTrips }).toEqual({
      statements: 2,
      roundTrips: 1,
    });
    expect(optionsOf(html, "Location of Steady 00001").length).toBeGreaterThan(0);
  });

  it("shows every change to locations, groups, their members and agents on the next page", async () => {
    await setMfa("agent", { authenticatorApp: false, emailOtp: false });
    const admin = await makeAdmin();
    const client = browser();
    await signIn(client, "agent", admin);
    const member = await makeAgent({ name: "Mira Member" });
    const group = await makeGroup([member.id], "Cache Crew");
    await seedAssets(1, { prefix: "Cached", group_id: group });
    const page = async () => (await client.get("/agent/assets?q=Cached")).text();
    const agentsOf = async () => optionsOf(await page(), "Managed By Agent of Cached 00001");
    expect(await agentsOf()).toContain("Mira Member");

    // Through the app: a location added on its admin page.
    const added = await client.post("/agent/admin/locations", { name: "Lisbon Annex" });
    expect(added.status).toBe(200);
    await added.text();
    expect(optionsOf(await page(), "Location of Cached 00001")).toContain("Lisbon Annex");

    // Straight in SQL, as any future code path would write: each is seen at once.
    await env.DB.prepare("UPDATE locations SET name = 'Lisbon Harbour' WHERE name = 'Lisbon Annex'").run();
    expect(optionsOf(await page(), "Location of Cached 00001")).toEqual(expect.arrayContaining(["Lisbon Harbour"]));
    expect(optionsOf(await page(), "Location of Cached 00001")).not.toContain("Lisbon Annex");
    await env.DB.prepare("UPDATE groups SET name = 'Cache Squad' WHERE id = ?").bind(group).run();
    expect(optionsOf(await page(), "Managed By Group of Cached 00001")).toContain("Cache Squad");
    await env.DB.prepare("UPDATE users SET name = 'Mira Renamed' WHERE id = ?").bind(member.id).run();
    expect(await agentsOf()).toContain("Mira Renamed");
    const other = await makeAgent({ name: "Otto Outsider" });
    expect(await agentsOf()).not.toContain("Otto Outsider");
    await env.DB.prepare("INSERT INTO group_members (group_id, agent_id) VALUES (?, ?)").bind(group, other.id).run();
    expect(await agentsOf()).toContain("Otto Outsider");
    await env.DB.prepare("DELETE FROM group_members WHERE group_id = ? AND agent_id = ?").bind(group, member.id).run();
    expect(await agentsOf()).not.toContain("Mira Renamed");
    await env.DB.prepare("UPDATE users SET active = 0 WHERE id = ?").bind(other.id).run();
    expect(await agentsOf()).not.toContain("Otto Outsider");
    await makeLocation("Porto Depot");
    expect(optionsOf(await page(), "Location of Cached 00001")).toContain("Porto Depot");
  });
});
