import { describe, expect, it } from "vitest";
import { browser } from "../helpers/app";
import { signIn } from "../helpers/auth";
import { makeAdmin } from "../helpers/factories";
import { seedAssets } from "../helpers/inventory";
import { makeRole } from "../helpers/roles";
import { makeAgent } from "../helpers/factories";
import { find, shown, cellText } from "../helpers/html";

/** Where the form holding a name's box (its screen-reader name "Name of …") sends a rename, posted. */
function renameAction(html: string, name: string): string {
  const form = find(html, `input[aria-label="Name of ${name}"]`)?.closest("form");
  expect(form?.getAttribute("method"), `no rename form for ${name}`).toBe("post");
  return form!.getAttribute("action") ?? "";
}

describe("locations and groups pages", () => {
  it("add, rename, refuse duplicates, and delete only what is unused", async () => {
    const admin = await makeAdmin();
    const client = browser();
    await signIn(client, "agent", admin);
    const added = await client.post("/agent/admin/locations", { name: "Reykjavik" });
    const addedPage = await added.text();
    expect(cellText(addedPage)).toContain("Added Reykjavik.");
    const dup = await client.post("/agent/admin/locations", { name: "Reykjavik" });
    expect(dup.status).toBe(400);
    expect(await shown(dup)).toContain("already exists");
    const empty = await client.post("/agent/admin/locations", { name: "  " });
    expect(empty.status).toBe(400);
    expect(await shown(empty)).toContain("Enter a location name.");
    const page = await (await client.get("/agent/admin/locations")).text();
    const id = /^\/agent\/admin\/locations\/(loc_[a-z2-7]+)\/rename$/.exec(renameAction(page, "Reykjavik"))![1]!;
    const renamed = await client.post(`/agent/admin/locations/${id}/rename`, { name: "Reykjavík" });
    await renamed.text();
    expect(renamed.headers.get("Location")).toBe("/agent/admin/locations");
    await seedAssets(2, { location_id: id });
    const inUse = await client.post(`/agent/admin/locations/${id}/delete`);
    expect(inUse.status).toBe(400);
    expect(await shown(inUse)).toContain("in use");
    const group = await client.post("/agent/admin/groups", { name: "Night shift" });
    const groupId = /^\/agent\/admin\/groups\/(grp_[a-z2-7]+)\/rename$/.exec(renameAction(await group.text(), "Night shift"))![1]!;
    const del = await client.post(`/agent/admin/groups/${groupId}/delete`);
    await del.text();
    expect(del.status).toBe(303);
    expect(await (await client.get("/agent/admin/groups")).text()).not.toContain("Night shift");
  });

  it("needs Manage Assets for locations and Manage Agents for groups", async () => {
    const agent = await makeAgent({ roleId: await makeRole(["viewAssets"]) });
    const client = browser();
    await signIn(client, "agent", agent);
    for (const path of ["/agent/admin/locations", "/agent/admin/groups"]) {
      const r = await client.get(path);
      expect(r.status, path).toBe(403);
      await r.text();
    }
  });
});
