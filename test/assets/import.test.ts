// CSV import with a dry run, applied whole, undone like a bulk change.
import { env } from "cloudflare:workers";
import Papa from "papaparse";
import { describe, expect, it } from "vitest";
import { MAX_PLAN_JSON_BYTES } from "../../src/assets/import-apply";
import { IMPORT_MAX_BYTES, IMPORT_MAX_ROWS, planImport } from "../../src/assets/import";
import { ASSET_KIND } from "../../src/assets/kinds";
import { loadOptions } from "../../src/assets/listing";
import { fakeClock } from "../helpers/app";
import { makeAgent } from "../helpers/factories";
import { tableRows, shown, cellText } from "../helpers/html";
import { makeGroup, makeLocation, seedAssets, signedInAgent } from "../helpers/inventory";
import { setMfa } from "../helpers/mfa";
import { makeRole } from "../helpers/roles";
import { apply, applyFields, csvOf, dryRun } from "./import-helpers";

let seq = 0;
const unique = (name: string) => `${name} ${Date.now().toString(36)}${++seq}`;

const assetByTag = (tag: string) =>
  env.DB.prepare("SELECT * FROM assets WHERE asset_tag = ?").bind(tag).first<Record<string, string | number | null>>();
const assetCount = async () => (await env.DB.prepare("SELECT count(*) AS n FROM assets").first<{ n: number }>())!.n;

describe("the dry run", () => {
  it("shows each line's result and every error by line, field and reason, and writes nothing", async () => {
    const { agent, client } = await signedInAgent();
    const office = await makeLocation(unique("Office"));
    const officeName = (await env.DB.prepare("SELECT name FROM locations WHERE id = ?").bind(office).first<{ name: string }>())!.name;
    const group = await makeGroup([]);
    const [existing] = await seedAssets(1, { prefix: "DRYRUN" });
    const [retired] = await seedAssets(1, { prefix: "DRYRET", status: "retired" });
    const existingTag = (await env.DB.prepare("SELECT asset_tag FROM assets WHERE id = ?").bind(existing).first<{ asset_tag: string }>())!
      .asset_tag;
    const retiredTag = (await env.DB.prepare("SELECT asset_tag FROM assets WHERE id = ?").bind(retired).first<{ asset_tag: string }>())!
      .asset_tag;
    const groupName = (await env.DB.prepare("SELECT name FROM groups WHERE id = ?").bind(group).first<{ name: string }>())!.name;
    const before = await assetCount();
    const csv = csvOf([
      ["Name", "Asset tag", "Type", "Location", "Managed By Group", "Managed By Agent", "Impact"],
      ["New laptop", "NEW-DRY-1", "Laptop", officeName, "", "", "high"],
      ["Renamed", existingTag, "laptop", officeName, "", "", "Low"],
      ["Nowhere", "NEW-DRY-2", "laptop", "Atlantis", "", "", ""],
      ["Robot", "NEW-DRY-3", "robot", "", "", "", ""],
      ["Again", "NEW-DRY-1", "laptop", "", "", "", ""],
      ["Outsider", "NEW-DRY-4", "laptop", "", groupName, agent.name, ""],
      ["Old one", retiredTag, "laptop", officeName, "", "", ""],
      ["Bad tag", "has space", "laptop", "", "", "", ""],
    ]);
    const { status, html } = await dryRun(client, csv);
    expect(status).toBe(400);
    expect(cellText(html)).toContain("1 to create, 1 to update, 0 unchanged, 6 with errors.");
    expect(html).not.toContain("/import/apply");
    const rows = new Map(tableRows(html, "import-rows").map((r) => [r.Line, r]));
    expect(rows.get("2")).toMatchObject({ "Asset tag": "NEW-DRY-1", Result: "Create" });
    expect(rows.get("3")).toMatchObject({
      "Asset tag": existingTag,
      Result: "Update",
      Details: `Name: DRYRUN 00001 → Renamed Location: — → ${officeName}`,
    });
    expect(rows.get("4")).toMatchObject({
      Result: "Error",
      Details: 'Location: No location is named "Atlantis" (imports never create one).',
    });
    expect(rows.get("5")!.Details).toBe('Type: "robot" is not one of: Laptop, Desktop, Monitor, Server, Printer, Mobile, Network, Other.');
    expect(rows.get("6")!.Details).toBe("Asset tag: Line 2 is the same asset.");
    expect(rows.get("7")!.Details).toBe("Managed By Agent: That agent is not in the record's Managed By Group.");
    expect(rows.get("8")!.Details).toBe("Status: Retired records are read-only: change the status to bring one back.");
    expect(rows.get("9")!.Details).toBe("Asset tag: Asset tags use letters, digits, dots, dashes and underscores.");
    // The lines with errors come first.
    expect(tableRows(html, "import-rows")[0]!.Result).toBe("Error");
    expect(await assetCount()).toBe(before);
    expect(await assetByTag("NEW-DRY-1")).toBeNull();
  });

  it("lets a line bring a retired asset back by changing its status, and nothing else", async () => {
    const { client } = await signedInAgent();
    const [retired] = await seedAssets(1, { prefix: "UNRETIRE", status: "retired" });
    const tag = (await env.DB.prepare("SELECT asset_tag FROM assets WHERE id = ?").bind(retired).first<{ asset_tag: string }>())!.asset_tag;
    const back = await dryRun(
      client,
      csvOf([
        ["Asset tag", "Status", "Impact"],
        [tag, "In use", "High"],
      ]),
    );
    expect(back.html).toContain("0 to create, 1 to update, 0 unchanged, 0 with errors.");
    const still = await dryRun(
      client,
      csvOf([
        ["Asset tag", "Status", "Impact"],
        [tag, "Retired", "High"],
      ]),
    );
    expect(tableRows(still.html, "import-rows")[0]!.Details).toBe(
      "Status: Retired records are read-only: change the status to bring one back.",
    );
  });

  it("refuses a file as a whole with a clear message: unknown or repeated columns, too many lines, too large, empty", async () => {
    const { client } = await signedInAgent();
    const cases: [string, string][] = [
      [
        csvOf([
          ["Name", "Asset tag", "Colour"],
          ["A", "T-1", "red"],
        ]),
        'Line 1: "Colour" is not a column assets can import. The columns are: Name, Asset tag, Type, Serial number, Status, Impact, Location, Managed By Group, Managed By Agent, Description.',
      ],
      [
        csvOf([
          ["Name", "Asset tag", "Name"],
          ["A", "T-1", "B"],
        ]),
        'Line 1: the column "Name" appears twice.',
      ],
      [
        csvOf([
          ["Name", "Type"],
          ["A", "laptop"],
        ]),
        'Line 1: a "Asset tag" column is required',
      ],
      [csvOf([["Name", "Asset tag"]]), "The file has no lines after the header."],
      ["", "Choose a CSV file, or paste its lines."],
      [
        csvOf([["Name", "Asset tag", "Type"], ...Array.from({ length: IMPORT_MAX_ROWS + 1 }, (_, i) => [`A${i}`, `LIMIT-${i}`, "laptop"])]),
        `The file has ${IMPORT_MAX_ROWS + 1} lines; at most ${IMPORT_MAX_ROWS} can be imported at once: split it.`,
      ],
      [
        `Name,Asset tag,Description\r\n${"x,LARGE-1,".padEnd(IMPORT_MAX_BYTES + 10, "y")}`,
        `The file is larger than ${IMPORT_MAX_BYTES / 1024} KB: split it into smaller files.`,
      ],
    ];
    for (const [csv, message] of cases) {
      const { status, html } = await dryRun(client, csv);
      expect(status, message).toBe(400);
      expect(html.replaceAll("&quot;", '"')).toContain(message);
    }
  });

  it("is for Manage Assets only; View Assets is refused", async () => {
    const { client } = await signedInAgent({ roleId: await makeRole(["viewAssets"]) });
    expect((await client.get("/agent/assets/import")).status).toBe(403);
    expect(
      (
        await dryRun(
          client,
          csvOf([
            ["Name", "Asset tag"],
            ["A", "V-1"],
          ]),
        )
      ).status,
    ).toBe(403);
  });
});

describe("applying and undoing an import", () => {
  it("creates and updates in one write with a history row per changed field, audits it, and Undo reverses it", async () => {
    const clock = fakeClock();
    const { agent, client } = await signedInAgent({ clock });
    const hq = unique("HQ");
    const loc = await makeLocation(hq);
    const group = await makeGroup([agent.id]);
    const groupName = (await env.DB.prepare("SELECT name FROM groups WHERE id = ?").bind(group).first<{ name: string }>())!.name;
    const [kept, touched] = await seedAssets(2, { prefix: "APPLY" });
    const tagOf = async (id: string) =>
      (await env.DB.prepare("SELECT asset_tag FROM assets WHERE id = ?").bind(id).first<{ asset_tag: string }>())!.asset_tag;
    const csv = csvOf([
      ["Name", "Asset tag", "Type", "Location", "Managed By Group", "Managed By Agent", "Serial number"],
      ["Imported one", "IMP-A-1", "Monitor", hq, groupName, agent.name, "S1"],
      ["Imported two", "IMP-A-2", "printer", "", "", "", ""],
      ["APPLY 00001", await tagOf(kept!), "laptop", hq, "", "", `SN-${kept}`],
      ["APPLY 00002", await tagOf(touched!), "laptop", hq, "", "", `SN-${touched}`],
    ]);
    const dry = await dryRun(client, csv);
    expect(dry.html).toContain("2 to create, 2 to update, 0 unchanged, 0 with errors.");
    const applied = await apply(client, dry.html);
    expect(applied.status).toBe(200);
    expect(applied.html).toContain("Created 2 and updated 2 assets.");

    expect(await assetByTag("IMP-A-1")).toMatchObject({
      name: "Imported one",
      asset_type: "monitor",
      location_id: loc,
      group_id: group,
      agent_id: agent.id,
      serial_number: "S1",
      status: "in_use",
      impact: "low",
      version: 1,
    });
    expect(await assetByTag("IMP-A-2")).toMatchObject({ asset_type: "printer", location_id: null, serial_number: null });
    expect(await assetByTag(await tagOf(kept!))).toMatchObject({ location_id: loc, version: 2 });
    const history = await env.DB.prepare(
      "SELECT record_id, field, old_value, new_value FROM inventory_history WHERE record_id IN (?, ?) ORDER BY field",
    )
      .bind(kept, touched)
      .all();
    expect(history.results).toEqual(
      [
        { record_id: kept, field: "location", old_value: null, new_value: loc },
        { record_id: touched, field: "location", old_value: null, new_value: loc },
      ]
        .sort((a, b) => (a.record_id! < b.record_id! ? -1 : 1))
        .sort((a, b) => a.field.localeCompare(b.field)),
    );
    const audit = await env.DB.prepare("SELECT details FROM audit_events WHERE event = 'inventory.imported' AND actor_id = ?")
      .bind(agent.id)
      .first<{ details: string }>();
    expect(JSON.parse(audit!.details)).toMatchObject({ list: "assets", created: 2, updated: 2 });

    // Someone edits one updated record and one created record; Undo leaves those two alone.
    await env.DB.prepare("UPDATE assets SET impact = 'high', version = version + 1 WHERE id = ?").bind(touched).run();
    await env.DB.prepare("UPDATE assets SET impact = 'high', version = version + 1 WHERE asset_tag = 'IMP-A-2'").run();
    clock.advance(60_000);
    const batchId = /bulk\/(bulk_[a-z2-7]+)\/undo/.exec(applied.html)![1]!;
    const undo = await client.post(`/agent/assets/bulk/${batchId}/undo`, { return: "/agent/assets" });
    expect(await shown(undo)).toContain("Undone: 2 restored, 2 left as they were because someone changed them since.");
    expect(await assetByTag("IMP-A-1")).toBeNull();
    expect(await assetByTag("IMP-A-2")).not.toBeNull();
    expect(await assetByTag(await tagOf(kept!))).toMatchObject({ location_id: null, version: 3 });
    expect(await assetByTag(await tagOf(touched!))).toMatchObject({ location_id: loc });
  });

  it("writes nothing when a record changed after the dry run", async () => {
    const clock = fakeClock();
    const { client } = await signedInAgent({ clock });
    const hq = unique("Stale HQ");
    await makeLocation(hq);
    const [id] = await seedAssets(1, { prefix: "STALE" });
    const tag = (await env.DB.prepare("SELECT asset_tag FROM assets WHERE id = ?").bind(id).first<{ asset_tag: string }>())!.asset_tag;
    const dry = await dryRun(
      client,
      csvOf([
        ["Name", "Asset tag", "Type", "Location"],
        ["New stale", "STALE-NEW", "laptop", ""],
        ["Stale", tag, "laptop", hq],
      ]),
    );
    clock.advance(1000);
    // Someone changes the record's impact after the dry run (the file does not even touch impact).
    await env.DB.prepare("UPDATE assets SET impact = 'high', version = version + 1, updated_at = ? WHERE id = ?")
      .bind(clock.now(), id)
      .run();
    const applied = await apply(client, dry.html);
    expect(applied.status).toBe(409);
    expect(applied.html).toContain("Records in this file were changed by someone else after the dry run. Nothing was written");
    expect(await assetByTag("STALE-NEW")).toBeNull();
    expect(await assetByTag(tag)).toMatchObject({ location_id: null, name: "STALE 00001" });
  });

  it("a dry-run time sent from the future skips nothing: a record changed after the dry run still refuses the import", async () => {
    const clock = fakeClock();
    const { client } = await signedInAgent({ clock });
    const hq = unique("Forged HQ");
    await makeLocation(hq);
    const [id] = await seedAssets(1, { prefix: "FORGED" });
    const tag = (await env.DB.prepare("SELECT asset_tag FROM assets WHERE id = ?").bind(id).first<{ asset_tag: string }>())!.asset_tag;
    const dry = await dryRun(
      client,
      csvOf([
        ["Name", "Asset tag", "Type", "Location"],
        ["New forged", "FORGED-NEW", "laptop", ""],
        ["Forged", tag, "laptop", hq],
      ]),
    );
    expect(dry.status).toBe(200);
    clock.advance(1000);
    await env.DB.prepare("UPDATE assets SET impact = 'high', version = version + 1, updated_at = ? WHERE id = ?")
      .bind(clock.now(), id)
      .run();

    const forged = await apply(client, dry.html, "/agent/assets", { checked_at: String(clock.now() + 10 * 365 * 24 * 3600 * 1000) });
    expect(forged.status).toBe(400);
    expect(forged.html).toContain("This Apply does not match a dry run of this file by you: check the file again. Nothing was written.");
    expect(await assetByTag("FORGED-NEW")).toBeNull();
    expect(await assetByTag(tag)).toMatchObject({ name: "FORGED 00001", location_id: null, impact: "high", version: 2 });

    // The form as the dry run wrote it meets the check, and is refused for the change made since.
    const honest = await apply(client, dry.html);
    expect(honest.status).toBe(409);
    expect(honest.html).toContain("Records in this file were changed by someone else after the dry run. Nothing was written");
    expect(await assetByTag("FORGED-NEW")).toBeNull();
    expect(await assetByTag(tag)).toMatchObject({ name: "FORGED 00001", location_id: null, version: 2 });
  });

  it("refuses an Apply whose dry run is unproven, altered, someone else's or another file's, writing nothing", async () => {
    const { client } = await signedInAgent();
    const csv = csvOf([
      ["Name", "Asset tag", "Type"],
      ["Signed new", "SIGNED-NEW", "laptop"],
    ]);
    const dry = await dryRun(client, csv);
    const { client: colleague } = await signedInAgent();
    const theirs = await dryRun(colleague, csv);
    const { checked_sig: sig = "", checked_at: checkedAt } = applyFields(dry.html);
    expect(checkedAt).toMatch(/^\d+$/);
    const flipped = sig.replace(/.$/, (ch) => (ch === "0" ? "1" : "0"));
    const before = await assetCount();
    const cases: [string, Record<string, string | undefined>, string?][] = [
      ["no proof", { checked_sig: undefined }],
      ["a proof with one digit changed", { checked_sig: flipped }],
      ["an earlier dry-run time", { checked_at: String(Number(checkedAt) - 1) }],
      ["other counts", { expect: "0:0" }],
      [
        "another file",
        {
          csv: csvOf([
            ["Name", "Asset tag", "Type"],
            ["Signed other", "SIGNED-NEW", "laptop"],
          ]),
        },
      ],
      ["a colleague's dry run of the same file", {}, theirs.html],
    ];
    for (const [label, change, page] of cases) {
      const refused = await apply(client, page ?? dry.html, "/agent/assets", change);
      expect(refused.status, label).toBe(400);
      expect(refused.html, label).toContain(
        "This Apply does not match a dry run of this file by you: check the file again. Nothing was written.",
      );
      expect(await assetCount(), label).toBe(before);
      expect(await assetByTag("SIGNED-NEW"), label).toBeNull();
    }
    const applied = await apply(client, dry.html);
    expect(applied.status).toBe(200);
    expect(await assetByTag("SIGNED-NEW")).toMatchObject({ name: "Signed new" });
  });

  it("applies the form a browser sends back, whose file comes with CRLF line breaks whatever it had", async () => {
    const { client } = await signedInAgent();
    const dry = await dryRun(client, 'Name,Asset tag,Type,Description\nBrowser sent,CRLF-1,laptop,"Two\nlines"\n');
    const applied = await apply(client, dry.html, "/agent/assets", { csv: applyFields(dry.html).csv!.replace(/\n/g, "\r\n") });
    expect(applied.status).toBe(200);
    expect(await assetByTag("CRLF-1")).toMatchObject({ name: "Browser sent", description: "Two\r\nlines" });
  });

  it("reads an export back: the file a list exports imports as 'no change', and an edited cell as one update", async () => {
    const { client } = await signedInAgent();
    const loc = await makeLocation(unique("=Round trip"));
    await seedAssets(3, { prefix: "ROUNDTRIP", location_id: loc });
    await client.request("/agent/assets/columns", {
      method: "POST",
      body: new URLSearchParams([
        ["show", "tag"],
        ["show", "type"],
        ["show", "location"],
        ["show", "updated"],
      ]),
    });
    const exported = await (await client.get("/agent/assets/export.csv?q=ROUNDTRIP")).text();
    const dry = await dryRun(client, exported);
    expect(dry.html).toContain("0 to create, 0 to update, 3 unchanged, 0 with errors.");
    const parsed = Papa.parse<string[]>(exported.replace(/^\uFEFF/, ""), { skipEmptyLines: true }).data;
    parsed[2]![2] = "Server";
    const edited = await dryRun(client, csvOf(parsed));
    expect(edited.html).toContain("0 to create, 1 to update, 2 unchanged, 0 with errors.");
    expect(tableRows(edited.html, "import-rows").find((r) => r.Result === "Update")!.Details).toBe("Type: Laptop → Server");
  });

  it("imports software by name and version", async () => {
    const { client } = await signedInAgent();
    const name = unique("Editor");
    const csv = csvOf([
      ["Name", "Version", "Publisher", "Status"],
      [name, "1.0", "Acme", "Active"],
      [name, "2.0", "Acme", "inactive"],
    ]);
    const applied = await apply(client, (await dryRun(client, csv, "/agent/software")).html, "/agent/software");
    expect(applied.html).toContain("Created 2 and updated 0 software records.");
    const again = await dryRun(
      client,
      csvOf([
        ["Name", "Version", "Publisher"],
        [name, "2.0", "Acme Corp"],
      ]),
      "/agent/software",
    );
    expect(again.html).toContain("0 to create, 1 to update, 0 unchanged, 0 with errors.");
    const rows = await env.DB.prepare("SELECT software_version, status FROM software WHERE name = ? ORDER BY software_version")
      .bind(name)
      .all();
    expect(rows.results).toEqual([
      { software_version: "1.0", status: "active" },
      { software_version: "2.0", status: "inactive" },
    ]);
  });
});

describe("production limits of an import", () => {
  it("a file at the row limit fits D1's bound value limit and applies in one batch", async () => {
    const agent = await makeAgent();
    const description = "d".repeat(Math.floor(IMPORT_MAX_BYTES / IMPORT_MAX_ROWS) - 40);
    const csv = csvOf([
      ["Name", "Asset tag", "Type", "Description"],
      ...Array.from({ length: IMPORT_MAX_ROWS }, (_, i) => [`Max ${i}`, `MAXROW-${i}`, "laptop", `"${description}"`]),
    ]);
    expect(new TextEncoder().encode(csv).length).toBeLessThanOrEqual(IMPORT_MAX_BYTES);
    const plan = await planImport(env.DB, ASSET_KIND, csv, await loadOptions(env.DB));
    expect(plan.counts).toEqual({ create: IMPORT_MAX_ROWS, update: 0, unchanged: 0, error: 0 });
    expect(new TextEncoder().encode(JSON.stringify(plan.writes)).length).toBeLessThan(MAX_PLAN_JSON_BYTES);
    const { applyImport } = await import("../../src/assets/import-apply");
    expect(
      await applyImport(env.DB, ASSET_KIND, plan, agent.id, Date.now(), Date.now(), { at: Date.now(), ip: null, userAgent: null }),
    ).toMatchObject({
      ok: true,
      created: IMPORT_MAX_ROWS,
    });
    expect((await env.DB.prepare("SELECT count(*) AS n FROM assets WHERE asset_tag LIKE 'MAXROW-%'").first<{ n: number }>())!.n).toBe(
      IMPORT_MAX_ROWS,
    );
  });
});

describe("the example files in docs/", () => {
  it("check without errors against data holding the names they use", async () => {
    const { default: assets } = await import("../../docs/example-assets.csv?raw");
    const { default: software } = await import("../../docs/example-software.csv?raw");
    await setMfa("agent", { authenticatorApp: false, emailOtp: false });
    const existingName = async (table: string, name: string) =>
      (await env.DB.prepare(`SELECT id FROM ${table} WHERE name = ?`).bind(name).first<{ id: string }>())?.id;
    for (const name of ["London HQ", "Berlin", "Singapore", "Remote"])
      if (!(await existingName("locations", name))) await makeLocation(name);
    const admin = await makeAgent({ name: "Ada Admin" });
    for (const name of ["Service Desk", "Infrastructure", "Security"])
      if (!(await existingName("groups", name))) await makeGroup([admin.id], name);
    const options = await loadOptions(env.DB);
    const { SOFTWARE_KIND } = await import("../../src/assets/kinds");
    const assetPlan = await planImport(env.DB, ASSET_KIND, assets, options);
    expect(assetPlan.rows.flatMap((r) => r.errors)).toEqual([]);
    expect(assetPlan.counts).toMatchObject({ create: 3, error: 0 });
    const softwarePlan = await planImport(env.DB, SOFTWARE_KIND, software, options);
    expect(softwarePlan.rows.flatMap((r) => r.errors)).toEqual([]);
    expect(softwarePlan.counts).toMatchObject({ create: 3, error: 0 });
  });
});
