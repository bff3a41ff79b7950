// The bulk flow (reasons, the same rows selected again), the columns each agent
// chooses, and the CSV export, read back with Papa Parse.
import { env } from "cloudflare:workers";
import Papa from "papaparse";
import { describe, expect, it } from "vitest";
import { countingEnv, noStorageCalls } from "../../src/dev/storage-calls";
import { browser, type Browser, fakeClock } from "../helpers/app";
import { signIn } from "../helpers/auth";
import { makeAgent } from "../helpers/factories";
import { button, columnHeadings, find, findAll, links, shown, tableRows, textIn, textOf } from "../helpers/html";
import { makeGroup, makeLocation, seedAssets, signedInAgent } from "../helpers/inventory";
import { setMfa } from "../helpers/mfa";
import { makeRole } from "../helpers/roles";

/** The rows whose box is ticked, by id. */
const checkedIds = (html: string) => findAll(html, 'input[type="checkbox"][name="ids"][checked]').map((box) => box.getAttribute("value"));
/** The ids the bulk form carries for rows selected on other pages, which no box on this page shows. */
const keptIds = (html: string) =>
  findAll(html, 'input[type="hidden"][name="ids"][data-kept-selection]').map((kept) => kept.getAttribute("value"));
const parse = (csv: string) => Papa.parse<Record<string, string>>(csv.replace(/^\uFEFF/, ""), { header: true, skipEmptyLines: true });

async function post(client: Browser, path: string, pairs: [string, string][]) {
  return client.request(path, { method: "POST", body: new URLSearchParams(pairs) });
}

describe("bulk changes that say what they left alone", () => {
  it("works without JavaScript: the bar and all three fields are in the page, and only scripts hide them", async () => {
    const { client } = await signedInAgent();
    await seedAssets(2, { prefix: "Nojs" });
    const html = await (await client.get("/agent/assets?q=Nojs")).text();
    // Nothing in the markup hides the bar or its fields: neither they nor anything around them is hidden.
    const bar = find(html, "form#bulk");
    expect(bar).not.toBeNull();
    expect(bar!.closest("[hidden], [aria-hidden=true]")).toBeNull();
    expect(bar!.getAttribute("class")).not.toMatch(/hidden/);
    for (const field of ["group", "agent", "location"]) {
      const value = bar!.querySelector(`[data-bulk-value="${field}"]`);
      expect(value?.getAttribute("class"), field).toBe("field");
      expect(value?.closest("[hidden]"), field).toBeNull();
    }
    // The count and Clear belong to the script's version; without it they stay hidden.
    expect(find(html, 'p.bulk-selection[data-bulk-summary="true"]')?.hasAttribute("hidden")).toBe(true);
    expect(button(html, "Clear")?.closest("[hidden]")?.getAttribute("data-bulk-summary")).toBe("true");
  });

  it("counts the unchanged by reason before and after, and changes the rest", async () => {
    const { agent, client } = await signedInAgent();
    const mine = await makeGroup([agent.id]);
    const theirs = await makeGroup([]);
    const inMine = await seedAssets(2, { prefix: "Reason mine", group_id: mine });
    const [already] = await seedAssets(1, { prefix: "Reason already", group_id: mine, agent_id: agent.id });
    const [outside] = await seedAssets(1, { prefix: "Reason outside", group_id: theirs });
    const [retired] = await seedAssets(1, { prefix: "Reason retired", status: "retired" });
    const ids = [...inMine, already!, outside!, retired!];
    const pairs: [string, string][] = [
      ["scope", "selected"],
      ["action", "agent"],
      ["value_agent", agent.id],
      ...ids.map((id) => ["ids", id] as [string, string]),
    ];

    const review = await (await post(client, "/agent/assets/bulk", pairs)).text();
    expect(textOf(review, '[data-testid="bulk-summary"]')).toContain(`will be set to ${agent.name} on 2 of 5 assets.`);
    // The value set and how many records change are in bold.
    expect(findAll(review, '[data-testid="bulk-summary"] strong').map(textIn)).toEqual([agent.name, "2"]);
    expect(review).toContain(
      "3 will be left as they are: 1 already had that value, 1 is retired (read-only), 1 belongs to a group the agent is not in.",
    );

    const done = await (await post(client, "/agent/assets/bulk/apply", pairs)).text();
    expect(done).toContain(
      "Changed 2 of 5 assets. 3 were left as they were: 1 already had that value, 1 is retired (read-only), 1 belongs to a group the agent is not in.",
    );
    const { results } = await env.DB.prepare("SELECT id, agent_id, version FROM assets WHERE id IN (SELECT value FROM json_each(?))")
      .bind(JSON.stringify(ids))
      .all<{ id: string; agent_id: string | null; version: number }>();
    const byId = new Map(results.map((r) => [r.id, r]));
    for (const id of inMine) expect(byId.get(id)).toMatchObject({ agent_id: agent.id, version: 2 });
    expect(byId.get(already!)).toMatchObject({ agent_id: agent.id, version: 1 });
    expect(byId.get(outside!)).toMatchObject({ agent_id: null, version: 1 });
    expect(byId.get(retired!)).toMatchObject({ agent_id: null, version: 1 });
  });

  it("says why when nothing changes, and offers no Undo then", async () => {
    const { client } = await signedInAgent();
    const loc = await makeLocation();
    const ids = await seedAssets(3, { prefix: "Nothing new", location_id: loc });
    const pairs: [string, string][] = [
      ["scope", "selected"],
      ["action", "location"],
      ["value_location", loc],
      ...ids.map((id) => ["ids", id] as [string, string]),
    ];
    const review = await (await post(client, "/agent/assets/bulk", pairs)).text();
    expect(review).toContain("3 will be left as they are: 3 already had that value.");
    expect(review).not.toContain("Change 0");
    const done = await (await post(client, "/agent/assets/bulk/apply", pairs)).text();
    expect(done).toContain("Changed 0 of 3 assets. 3 were left as they were: 3 already had that value.");
    expect(button(done, "Undo")).toBeNull();
  });

  it("brings the same rows back selected after a change, on this page and beyond it, for its author only", async () => {
    const { client } = await signedInAgent();
    const group = await makeGroup([]);
    const loc = await makeLocation();
    const ids = await seedAssets(60, { prefix: "Again" });
    // Rows 1, 2 and 55: the last is on the second page of the list.
    const chosen = [ids[0]!, ids[1]!, ids[54]!];
    const pairs: [string, string][] = [
      ["scope", "selected"],
      ["action", "group"],
      ["value_group", group],
      ["f_q", "Again"],
      ...chosen.map((id) => ["ids", id] as [string, string]),
    ];
    const done = await (await post(client, "/agent/assets/bulk/apply", pairs)).text();
    const back = links(done).find((link) => link.text === "Back to Assets, same rows selected")!.href;
    expect(back).toMatch(/[?&]reselect=[^&]+/);
    const list = await (await client.get(back)).text();
    expect(checkedIds(list)).toEqual([ids[0], ids[1]]);
    expect(keptIds(list)).toEqual([ids[54]]);

    // The next change goes to the same three without selecting them again.
    const second = await post(client, "/agent/assets/bulk/apply", [
      ["scope", "selected"],
      ["action", "location"],
      ["value_location", loc],
      ...[...checkedIds(list), ...keptIds(list)].map((id) => ["ids", id!] as [string, string]),
    ]);
    expect(await shown(second)).toContain("Changed 3 of 3 assets.");

    // Someone else following the link selects nothing.
    const other = await signedInAgent();
    expect(checkedIds(await (await other.client.get(back)).text())).toEqual([]);
  });
});

describe("columns each agent chooses", () => {
  it("shows the chosen columns in the chosen order, with values under their headings, and keeps them after signing out", async () => {
    await setMfa("agent", { authenticatorApp: false, emailOtp: false });
    const agent = await makeAgent();
    const client = browser();
    await signIn(client, "agent", agent);
    const loc = await makeLocation("Porto office");
    const [id] = await seedAssets(1, { prefix: "Columned", location_id: loc });

    const before = tableRows(await (await client.get("/agent/assets?q=Columned")).text());
    expect(Object.keys(before[0]!)).toEqual([
      "",
      "Name",
      "Asset tag",
      "Type",
      "Status",
      "Impact",
      "Location",
      "Managed By Group",
      "Managed By Agent",
      "Save note",
    ]);

    const saved = await post(client, "/agent/assets/columns", [
      ["show", "serial"],
      ["pos_serial", "1"],
      ["show", "location"],
      ["pos_location", "2"],
      ["show", "tag"],
      ["pos_tag", "3"],
      ["return", "/agent/assets?q=Columned"],
    ]);
    expect(saved.status).toBe(303);
    expect(saved.headers.get("Location")).toBe("/agent/assets?q=Columned");
    const check = async (c: Browser) => {
      const rows = tableRows(await (await c.get("/agent/assets?q=Columned")).text());
      expect(Object.keys(rows[0]!)).toEqual(["", "Name", "Serial number", "Location", "Asset tag", "Save note"]);
      expect(rows[0]).toMatchObject({ Name: "Columned 00001", "Serial number": `SN-${id}`, "Asset tag": "COLUMNED-00001" });
      // Location is an inline dropdown here: its selected option is the asset's location.
      expect(rows[0]!.Location).toContain("Porto office");
    };
    await check(client);

    expect((await client.post("/agent/logout", {})).status).toBe(303);
    expect((await client.get("/agent/assets")).status).not.toBe(200);
    const again = browser();
    await signIn(again, "agent", agent);
    await check(again);

    // Another agent still has the default columns; the software list has its own choice.
    const other = await signedInAgent();
    expect(Object.keys(tableRows(await (await other.client.get("/agent/assets?q=Columned")).text())[0]!)).toContain("Type");
    expect(columnHeadings(await (await again.get("/agent/software")).text())).toContain("Publisher");

    // Back to the default.
    expect((await post(again, "/agent/assets/columns", [["reset", "1"]])).status).toBe(303);
    expect(Object.keys(tableRows(await (await again.get("/agent/assets?q=Columned")).text())[0]!)).toEqual(Object.keys(before[0]!));
  });

  it("reads the choice with the session, so a list page makes the same storage calls as with the default", async () => {
    await setMfa("agent", { authenticatorApp: false, emailOtp: false });
    const agent = await makeAgent();
    const calls = noStorageCalls();
    const clock = fakeClock();
    const client = browser({ clock, env: countingEnv(env, calls) });
    await signIn(client, "agent", agent);
    const measure = async () => {
      await (await client.get("/agent/assets")).text();
      clock.advance(100);
      const before = { ...calls };
      await (await client.get("/agent/assets")).text();
      return { user: calls.user - before.user, portal: calls.portal - before.portal, d1: calls.d1RoundTrips - before.d1RoundTrips };
    };
    const withDefault = await measure();
    await post(client, "/agent/assets/columns", [
      ["show", "serial"],
      ["show", "agent"],
    ]);
    expect(await measure()).toEqual(withDefault);
    expect(withDefault).toEqual({ user: 1, portal: 0, d1: 1 });
  });

  it("puts a column moved to a position before the one that was there, as the form sends it", async () => {
    const { client } = await signedInAgent();
    const order = ["tag", "type", "status", "impact", "location", "group", "agent", "serial", "updated"];
    const pairs: [string, string][] = [
      ["order", order.join(",")],
      ...order.map((k, i) => [`pos_${k}`, k === "serial" ? "1" : String(i + 1)] as [string, string]),
      ...order.filter((k) => k !== "type" && k !== "updated").map((k) => ["show", k] as [string, string]),
    ];
    expect((await post(client, "/agent/assets/columns", pairs)).status).toBe(303);
    const html = await (await client.get("/agent/assets")).text();
    const heads = columnHeadings(html);
    expect(heads).toEqual([
      "",
      "Name",
      "Serial number",
      "Asset tag",
      "Status",
      "Impact",
      "Location",
      "Managed By Group",
      "Managed By Agent",
      "Save note",
    ]);
  });

  it("refuses unknown columns and positions with a message, keeping the choice", async () => {
    const { client } = await signedInAgent();
    for (const [pairs, message] of [
      [[["show", "password_hash"]], "That column does not exist."],
      [
        [
          ["show", "tag"],
          ["pos_tag", "99"],
        ],
        "Asset tag: the position is a number from 1 to 9.",
      ],
      [
        [
          ["show", "tag"],
          ["sort", "x"],
        ],
        "That column does not exist.",
      ],
    ] as [string[][], string][]) {
      const r = await post(client, "/agent/assets/columns", pairs as [string, string][]);
      expect(r.status).toBe(400);
      expect(await shown(r)).toContain(message);
    }
    expect(Object.keys(tableRows(await (await client.get("/agent/assets")).text())[0] ?? { "": "" })).not.toEqual([
      "",
      "Name",
      "Asset tag",
      "Save note",
    ]);
  });
});

describe("CSV export", () => {
  it("exports every row of a filtered list, page by page, with the chosen columns, formula-safe, and audits it", async () => {
    const { agent, client } = await signedInAgent({ roleId: await makeRole(["viewAssets"]) });
    const loc = await makeLocation("=HYPERLINK(evil)");
    await seedAssets(1203, { prefix: "Exported", location_id: loc, impact: "high" });
    await seedAssets(5, { prefix: "Exported low", impact: "low" });
    await post(client, "/agent/assets/columns", [
      ["show", "tag"],
      ["pos_tag", "1"],
      ["show", "impact"],
      ["pos_impact", "2"],
      ["show", "location"],
      ["pos_location", "3"],
    ]);

    const response = await client.get("/agent/assets/export.csv?q=Exported&impact=high&sort=tag&dir=desc");
    expect(response.status).toBe(200);
    expect(response.headers.get("Content-Type")).toBe("text/csv; charset=utf-8");
    expect(response.headers.get("Content-Disposition")).toMatch(/^attachment; filename="assets-\d{4}-\d{2}-\d{2}\.csv"$/);
    const csv = parse(await response.text());
    expect(csv.errors).toEqual([]);
    expect(csv.meta.fields).toEqual(["Name", "Asset tag", "Impact", "Location"]);
    expect(csv.data).toHaveLength(1203);
    expect(csv.data[0]).toEqual({ Name: "Exported 01203", "Asset tag": "EXPORTED-01203", Impact: "High", Location: "'=HYPERLINK(evil)" });
    expect(csv.data.at(-1)!["Asset tag"]).toBe("EXPORTED-00001");
    expect(new Set(csv.data.map((r) => r["Asset tag"])).size).toBe(1203);

    const audit = await env.DB.prepare("SELECT details FROM audit_events WHERE event = 'inventory.exported' AND actor_id = ?")
      .bind(agent.id)
      .first<{ details: string }>();
    expect(JSON.parse(audit!.details)).toEqual({ list: "assets", filter: "q=Exported&impact=high&sort=tag&dir=desc", rows: 1203 });
  });

  it("prefixes with ' every cell that starts with = + - @ tab or CR, also when a line break follows", async () => {
    const { client } = await signedInAgent({ roleId: await makeRole(["viewAssets"]) });
    const loc = await makeLocation('=HYPERLINK("http://x","Open")\nHQ');
    const hostile = [
      '=HYPERLINK("http://x","y")\nmore text',
      "+SUM(1,2)\nplus",
      "-2+3\r\nminus",
      "@SUM(A1)\nat",
      "\t=1+1\ntab",
      "\r=1+1\ncarriage return",
    ];
    // Names and serials as a person could have stored them before; assets seeded straight into D1.
    await env.DB.prepare(
      `INSERT INTO assets (id, name, asset_tag, asset_type, serial_number, status, impact, location_id, version, created_at, updated_at)
       SELECT 'ast_multiline' || key, json_extract(value, '$[0]'), 'MULTILINE-' || key, 'laptop', json_extract(value, '$[1]'), 'in_use', 'low', ?, 1, 0, 0 FROM json_each(?)`,
    )
      .bind(loc, JSON.stringify(hostile.map((name, i) => [name, hostile[(i + 1) % hostile.length]])))
      .run();
    await post(client, "/agent/assets/columns", [
      ["show", "tag"],
      ["pos_tag", "1"],
      ["show", "serial"],
      ["pos_serial", "2"],
      ["show", "location"],
      ["pos_location", "3"],
    ]);

    const response = await client.get(`/agent/assets/export.csv?location=${loc}&sort=tag`);
    expect(response.status).toBe(200);
    const csv = Papa.parse<Record<string, string>>((await response.text()).replace(/^\uFEFF/, ""), {
      header: true,
      skipEmptyLines: true,
      newline: "\r\n",
    });
    expect(csv.errors).toEqual([]);
    expect(csv.data.map((r) => r["Asset tag"])).toEqual(hostile.map((_, i) => `MULTILINE-${i}`));
    csv.data.forEach((row, i) => {
      expect(row).toEqual({
        Name: `'${hostile[i]}`,
        "Asset tag": `MULTILINE-${i}`,
        "Serial number": `'${hostile[(i + 1) % hostile.length]}`,
        Location: `'=HYPERLINK("http://x","Open")\nHQ`,
      });
    });
    for (const cell of csv.data.flatMap((r) => Object.values(r))) expect(cell).not.toMatch(/^[=+\-@\t\r]/);
  });

  it("is refused without View Assets, and a bad filter is a 400", async () => {
    const { client } = await signedInAgent({ roleId: await makeRole([]) });
    expect((await client.get("/agent/assets/export.csv")).status).toBe(403);
    const viewer = await signedInAgent({ roleId: await makeRole(["viewAssets"]) });
    const bad = await viewer.client.get("/agent/software/export.csv?impact=extreme");
    expect(bad.status).toBe(400);
    expect(await shown(bad)).toContain("Impact: choose one from the list.");
  });
});
