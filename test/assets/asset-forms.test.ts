import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { browser } from "../helpers/app";
import { signIn } from "../helpers/auth";
import { makeAgent, makeContact } from "../helpers/factories";
import { makeLocation } from "../helpers/inventory";
import { setMfa } from "../helpers/mfa";

const base = { name: "MacBook Pro 14", assetTag: "MBP-0001", assetType: "laptop", serialNumber: "C02XYZ", status: "in_use", impact: "medium", location: "", group: "", agent: "", usedBy: "", description: "" };

describe("asset create, edit and delete pages", () => {
  it("creates, edits with history and a version check, and deletes an asset", async () => {
    await setMfa("agent", { authenticatorApp: false, emailOtp: false });
    const agent = await makeAgent();
    const contact = await makeContact();
    const loc = await makeLocation("Porto");
    const client = browser();
    await signIn(client, "agent", agent);

    const created = await client.post("/agent/assets/new", { ...base, usedBy: contact.email, location: loc });
    await created.text();
    expect(created.status).toBe(303);
    const url = created.headers.get("Location")!;
    const id = url.split("/").pop()!;
    const row = await env.DB.prepare("SELECT * FROM assets WHERE id = ?").bind(id).first<Record<string, unknown>>();
    expect(row).toMatchObject({ name: "MacBook Pro 14", asset_tag: "MBP-0001", used_by_id: contact.id, location_id: loc, version: 1 });

    const dup = await client.post("/agent/assets/new", { ...base, name: "Another" });
    expect(dup.status).toBe(409);
    expect(await dup.text()).toContain("An asset with this tag already exists.");
    expect((await env.DB.prepare("SELECT count(*) AS n FROM assets WHERE name = 'Another'").first<{ n: number }>())!.n).toBe(0);

    for (const [change, message] of [
      [{ assetType: "toaster" }, "Asset type: choose one from the list."],
      [{ usedBy: "nobody@example.com" }, "no contact has this email"],
      [{ name: "" }, "Enter a name."],
      [{ assetTag: "has spaces" }, "Asset tags use letters"],
    ] as const) {
      const r = await client.post(`/agent/assets/${id}/edit`, { ...base, rowVersion: "1", ...change });
      expect(r.status, JSON.stringify(change)).toBe(400);
      expect(await r.text()).toContain(message);
    }
    const edited = await client.post(`/agent/assets/${id}/edit`, { ...base, rowVersion: "1", usedBy: contact.email, location: loc, status: "in_repair", name: "MacBook Pro 14 (2024)" });
    await edited.text();
    expect(edited.status).toBe(303);
    const stale = await client.post(`/agent/assets/${id}/edit`, { ...base, rowVersion: "1", usedBy: contact.email, location: loc, name: "Stale write" });
    expect(stale.status).toBe(409);
    expect(await stale.text()).toContain("Changed by someone else");
    const detail = await (await client.get(url)).text();
    expect(detail).toContain("MacBook Pro 14 (2024)");
    expect(detail).toMatch(/<strong>Status<\/strong>: In use → In repair/);
    expect(detail).toContain("<strong>Created</strong>");

    const gone = await client.post(`/agent/assets/${id}/delete`, { rowVersion: "1" });
    expect(gone.status).toBe(409);
    await gone.text();
    const del = await client.post(`/agent/assets/${id}/delete`, { rowVersion: "2" });
    await del.text();
    expect(del.headers.get("Location")).toBe("/agent/assets");
    expect(await env.DB.prepare("SELECT id FROM assets WHERE id = ?").bind(id).first()).toBeNull();
    expect((await env.DB.prepare("SELECT count(*) AS n FROM inventory_history WHERE record_id = ?").bind(id).first<{ n: number }>())!.n).toBe(0);
  });
});

describe("software create, edit and delete pages", () => {
  it("work like the asset pages", async () => {
    await setMfa("agent", { authenticatorApp: false, emailOtp: false });
    const agent = await makeAgent();
    const client = browser();
    await signIn(client, "agent", agent);
    const form = { name: "Figma", publisher: "Figma", category: "Design", version: "124.1", status: "active", impact: "low", location: "", group: "", agent: "" };
    const created = await client.post("/agent/software/new", form);
    await created.text();
    const id = created.headers.get("Location")!.split("/").pop()!;
    const bad = await client.post(`/agent/software/${id}/edit`, { ...form, rowVersion: "1", status: "deprecated" });
    expect(bad.status).toBe(400);
    expect(await bad.text()).toContain("Status: choose one from the list.");
    const edited = await client.post(`/agent/software/${id}/edit`, { ...form, rowVersion: "1", version: "125.0" });
    await edited.text();
    expect(edited.status).toBe(303);
    expect(await (await client.get(`/agent/software/${id}`)).text()).toMatch(/<strong>Version<\/strong>: 124.1 → 125.0/);
    const del = await client.post(`/agent/software/${id}/delete`, { rowVersion: "2" });
    await del.text();
    expect(del.headers.get("Location")).toBe("/agent/software");
  });
});
