// Text fields refuse control characters (NUL, the other C0 characters, DEL), naming the field,
// on CSV import and in the asset and software forms alike, and nothing is written. Description is
// the one multi-line field: tab and line breaks are fine there. Names typed on admin pages go
// through the app's shared required-text field (src/lib/fields.ts) and refuse them as well.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { applyImport } from "../../src/assets/import-apply";
import { planImport } from "../../src/assets/import";
import { ASSET_KIND } from "../../src/assets/kinds";
import { loadOptions } from "../../src/assets/listing";
import { requiredText } from "../../src/lib/fields";
import { tableRows, shown, cellText } from "../helpers/html";
import { seedAssets, signedInAgent } from "../helpers/inventory";
import { csvOf, dryRun } from "./import-helpers";

const ONE_LINE = "contains a control character (such as NUL, a tab or a line break), which is not allowed.";
const MULTI_LINE = "contains a control character (such as NUL), which is not allowed; line breaks and tabs are fine.";

const assetCount = async () => (await env.DB.prepare("SELECT count(*) AS n FROM assets").first<{ n: number }>())!.n;
const assetByTag = (tag: string) =>
  env.DB.prepare("SELECT * FROM assets WHERE asset_tag = ?").bind(tag).first<Record<string, string | number | null>>();

describe("the CSV import", () => {
  it("makes each line with a control character an error naming its field, and the apply writes nothing", async () => {
    const { agent, client } = await signedInAgent();
    const [existing] = await seedAssets(1, { prefix: "CTRLIMPORT" });
    const existingTag = (await env.DB.prepare("SELECT asset_tag FROM assets WHERE id = ?").bind(existing).first<{ asset_tag: string }>())!
      .asset_tag;
    const csv = csvOf([
      ["Name", "Asset tag", "Type", "Serial number", "Description"],
      ["Nul\u0000name", "CTRL-1", "laptop", "", ""],
      ["Bell", "CTRL-2", "laptop", "SN\u0007", ""],
      ["Delete\u007fkey", "CTRL-3", "laptop", "", ""],
      ["Two\nlines", "CTRL-4", "laptop", "", ""],
      ["Fine", "CTRL-5", "laptop", "", "Line one\r\nline two\tand a tab"],
      ["Nul in notes", "CTRL-6", "laptop", "", "Notes\u0000"],
      ["Renamed\u0001", existingTag, "laptop", "", ""],
    ]);
    const { status, html } = await dryRun(client, csv);
    expect(status).toBe(400);
    expect(cellText(html)).toContain("1 to create, 0 to update, 0 unchanged, 6 with errors.");
    const rows = new Map(tableRows(html, "import-rows").map((r) => [r.Line, r]));
    expect(rows.get("2")).toMatchObject({ Result: "Error", Details: `Name: Name ${ONE_LINE}` });
    expect(rows.get("3")).toMatchObject({ Result: "Error", Details: `Serial number: Serial number ${ONE_LINE}` });
    expect(rows.get("4")).toMatchObject({ Result: "Error", Details: `Name: Name ${ONE_LINE}` });
    expect(rows.get("5")).toMatchObject({ Result: "Error", Details: `Name: Name ${ONE_LINE}` });
    expect(rows.get("6")).toMatchObject({ Result: "Create" });
    expect(rows.get("7")).toMatchObject({ Result: "Error", Details: `Description: Description ${MULTI_LINE}` });
    expect(rows.get("8")).toMatchObject({ Result: "Error", Details: `Name: Name ${ONE_LINE}` });
    expect(html).not.toContain("/import/apply");

    // Applying the same file anyway (the page offers no Apply) writes nothing.
    const before = await assetCount();
    const plan = await planImport(env.DB, ASSET_KIND, csv, await loadOptions(env.DB));
    expect(
      await applyImport(env.DB, ASSET_KIND, plan, agent.id, Date.now(), Date.now(), { at: Date.now(), ip: null, userAgent: null }),
    ).toEqual({
      ok: false,
      message: "The file has errors: fix them and check it again. Nothing was written.",
    });
    expect(await assetCount()).toBe(before);
    for (const tag of ["CTRL-1", "CTRL-2", "CTRL-3", "CTRL-4", "CTRL-5", "CTRL-6"]) expect(await assetByTag(tag), tag).toBeNull();
    expect(await assetByTag(existingTag)).toMatchObject({ name: "CTRLIMPORT 00001", version: 1 });
  });
});

describe("the asset and software forms", () => {
  const asset = {
    name: "Laptop",
    assetTag: "CTRL-FORM-1",
    assetType: "laptop",
    serialNumber: "",
    status: "in_use",
    impact: "low",
    location: "",
    group: "",
    agent: "",
    usedBy: "",
    description: "",
  };

  it("refuse a control character in a text field with 400 and a message naming it, storing nothing", async () => {
    const { client } = await signedInAgent();
    const before = await assetCount();
    for (const [change, message] of [
      [{ name: "Nul\u0000name" }, `Name ${ONE_LINE}`],
      [{ name: "Escape\u001b[31m" }, `Name ${ONE_LINE}`],
      [{ name: "Two\nlines" }, `Name ${ONE_LINE}`],
      [{ serialNumber: "SN\u007f" }, `Serial number ${ONE_LINE}`],
      [{ description: "Notes\u0000" }, `Description ${MULTI_LINE}`],
    ] as const) {
      const response = await client.post("/agent/assets/new", { ...asset, ...change });
      expect(response.status, JSON.stringify(change)).toBe(400);
      expect(await shown(response), JSON.stringify(change)).toContain(message);
    }
    expect(await assetCount()).toBe(before);
    expect(await assetByTag("CTRL-FORM-1")).toBeNull();

    // Line breaks and a tab are fine in the description, the one multi-line field.
    const created = await client.post("/agent/assets/new", { ...asset, description: "Line one\r\nline two\tand a tab" });
    await created.text();
    expect(created.status).toBe(303);
    const id = created.headers.get("Location")!.split("/").pop()!;
    expect(await assetByTag("CTRL-FORM-1")).toMatchObject({ name: "Laptop", description: "Line one\r\nline two\tand a tab", version: 1 });

    const edit = await client.post(`/agent/assets/${id}/edit`, { ...asset, rowVersion: "1", name: "Renamed\u0000" });
    expect(edit.status).toBe(400);
    expect(await shown(edit)).toContain(`Name ${ONE_LINE}`);
    expect(await assetByTag("CTRL-FORM-1")).toMatchObject({ name: "Laptop", version: 1 });

    // The inline edit has no text field: its values are choices and ids, and a NUL in one is refused too.
    const inline = await client.post(`/agent/assets/${id}/inline`, { version: "1", impact: "high\u0000" });
    expect(inline.status).toBe(400);
    await inline.text();
    expect(await assetByTag("CTRL-FORM-1")).toMatchObject({ impact: "low", version: 1 });
  });

  it("refuse them in every software text field as well", async () => {
    const { client } = await signedInAgent();
    const software = {
      name: "Editor",
      publisher: "Acme",
      category: "Design",
      version: "1.0",
      status: "active",
      impact: "low",
      location: "",
      group: "",
      agent: "",
    };
    const count = async () => (await env.DB.prepare("SELECT count(*) AS n FROM software").first<{ n: number }>())!.n;
    const before = await count();
    for (const [field, label] of [
      ["name", "Name"],
      ["publisher", "Publisher"],
      ["category", "Category"],
      ["version", "Version"],
    ] as const) {
      const response = await client.post("/agent/software/new", { ...software, [field]: `x\u0000${field}` });
      expect(response.status, field).toBe(400);
      expect(await shown(response), field).toContain(`${label} ${ONE_LINE}`);
    }
    expect(await count()).toBe(before);
  });
});

describe("names typed on admin pages", () => {
  it("a location name with a control character is refused, naming the field, and not stored", async () => {
    const { client } = await signedInAgent();
    for (const name of ["Berlin\u0000", "Berlin\nHQ", "Berlin\u0085"]) {
      const response = await client.post("/agent/admin/locations", { name });
      expect(response.status, JSON.stringify(name)).toBe(400);
      expect(await shown(response), JSON.stringify(name)).toContain(`A location name ${ONE_LINE}`);
    }
    expect(await env.DB.prepare("SELECT id FROM locations WHERE name LIKE 'Berlin%'").first()).toBeNull();
  });

  it("the shared required-text field (person, role, group and passkey names) refuses them and keeps plain text", () => {
    const name = requiredText("a name", 100);
    // Also the characters that split a line or make a name read backwards ("\u202Egnp.exe").
    for (const bad of [
      "Ada\u0000",
      "Ada\u0001Lovelace",
      "Ada\tLovelace",
      "Ada\nLovelace",
      "Ada\u007f",
      "Ada\u009b",
      "Ada\u2028Lovelace",
      "Ada\u2029Lovelace",
      "\u202Egnp.exe",
      "Ada\u2066x\u2069",
    ]) {
      expect(name.safeParse(bad).error?.issues[0]?.message, JSON.stringify(bad)).toBe(`A name ${ONE_LINE}`);
    }
    expect(name.safeParse("  Ada Lovelace-Byron, Ph.D. (née King) ✓  ").data).toBe("Ada Lovelace-Byron, Ph.D. (née King) ✓");
  });
});
