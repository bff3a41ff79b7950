// Who may look at a bulk change or an import once it is done, and undo it: its author, or anyone
// holding Manage Assets, from the change's own page (bulk/<id>), which shows what Undo puts back.
// To everyone else the change does not exist: its page and its Undo are both a 404, and nothing
// moves. Batch ids are no secret (the audit log and ?reselect= links carry them), so the rule,
// not the id, is what keeps a change.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { ALL_PERMISSIONS, type Permission } from "../../src/access/permissions";
import { mayFollowBatch } from "../../src/assets/batch";
import { bulkUpdate } from "../../src/assets/inventory";
import { ASSET_KIND } from "../../src/assets/kinds";
import { undoBatch } from "../../src/assets/undo";
import { type Browser, fakeClock } from "../helpers/app";
import { makeAgent } from "../helpers/factories";
import { button, formFields, forms, shown, tableRows, textOf, cellText } from "../helpers/html";
import { followJob, makeGroup, makeLocation, seedAssets, signedInAgent } from "../helpers/inventory";
import { makeRole } from "../helpers/roles";
import { apply, csvOf, dryRun } from "./import-helpers";

const clock = fakeClock();

async function records(ids: string[]) {
  const { results } = await env.DB.prepare(
    "SELECT id, name, group_id, location_id, impact, version FROM assets WHERE id IN (SELECT value FROM json_each(?)) ORDER BY id",
  )
    .bind(JSON.stringify(ids))
    .all();
  return results;
}
const operation = (batchId: string) =>
  env.DB.prepare("SELECT undone_at, state FROM bulk_operations WHERE id = ?")
    .bind(batchId)
    .first<{ undone_at: number | null; state: string }>();
const putBack = async (batchId: string) =>
  (await env.DB.prepare("SELECT count(*) AS n, min(actor_id) AS actor FROM inventory_history WHERE batch_id = ?")
    .bind(`undo:${batchId}`)
    .first<{ n: number; actor: string | null }>())!;
const nameOf = async (table: string, id: string) =>
  (await env.DB.prepare(`SELECT name FROM ${table} WHERE id = ?`).bind(id).first<{ name: string }>())!.name;

/** An agent of a role holding View Assets only: they see the lists, and change nothing. */
const viewer = async () => signedInAgent({ roleId: await makeRole(["viewAssets"]), clock });
/** An agent of the built-in Agent role, which holds Manage Assets. */
const manager = () => signedInAgent({ clock });

/** Selected rows given a group at once (no job); the batch id from the Undo form of the result. */
async function groupChange(client: Browser, ids: string[], group: string) {
  const form = new URLSearchParams([
    ["scope", "selected"],
    ["action", "group"],
    ["value_group", group],
    ...ids.map((id) => ["ids", id] as [string, string]),
  ]);
  const page = await (await client.request("/agent/assets/bulk/apply", { method: "POST", body: form })).text();
  expect(cellText(page)).toContain(`Changed ${ids.length} of ${ids.length} assets.`);
  return /bulk\/(bulk_[a-z0-9]+)\/undo/.exec(page)![1]!;
}

async function refusedToOthers(client: Browser, batchId: string) {
  const page = await client.get(`/agent/assets/bulk/${batchId}`);
  expect(page.status).toBe(404);
  await page.text();
  const undo = await client.post(`/agent/assets/bulk/${batchId}/undo`, { return: "/agent/assets" });
  expect(undo.status).toBe(404);
  await undo.text();
}

describe("a bulk change written at once", () => {
  it("does not exist for an agent without Manage Assets: its page and its Undo are a 404, and nothing changes", async () => {
    const { agent, client } = await manager();
    const group = await makeGroup([agent.id]);
    const ids = await seedAssets(3, { prefix: "Hidden change" });
    const batchId = await groupChange(client, ids, group);
    const before = await records(ids);
    expect(before.every((r) => r.group_id === group && r.version === 2)).toBe(true);

    await refusedToOthers((await viewer()).client, batchId);
    expect(await records(ids)).toEqual(before);
    expect(await operation(batchId)).toEqual({ undone_at: null, state: "done" });
    expect((await putBack(batchId)).n).toBe(0);
  });

  it("shows its author and any Manage Assets holder what Undo puts back, and either may undo it from there", async () => {
    const { agent: author, client } = await manager();
    const group = await makeGroup([author.id]);
    const groupName = await nameOf("groups", group);
    const ids = await seedAssets(3, { prefix: "Shown change" });
    const batchId = await groupChange(client, ids, group);

    const own = await client.get(`/agent/assets/bulk/${batchId}`);
    expect(own.status).toBe(200);
    expect(textOf(await own.text(), '[data-testid="batch-summary"]')).toBe(
      `${author.name} set Managed By Group on 3 assets at 2026-11-22 09:00 UTC.`,
    );

    const { agent: colleague, client: theirs } = await manager();
    const page = await theirs.get(`/agent/assets/bulk/${batchId}?return=${encodeURIComponent("/agent/assets?q=Shown")}`);
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(tableRows(html, "batch-changes")).toEqual(
      ["Shown change 00001", "Shown change 00002", "Shown change 00003"].map((name) => ({
        Asset: name,
        Field: "Managed By Group",
        Before: "—",
        After: groupName,
      })),
    );
    // Undo posts the change's own address, and brings the person back to the list they came from.
    const form = button(html, "Undo this change")?.closest("form");
    expect(form?.getAttribute("method")).toBe("post");
    expect(form?.getAttribute("action")).toBe(`/agent/assets/bulk/${batchId}/undo`);
    expect(form!.querySelector('input[name="return"]')?.getAttribute("type")).toBe("hidden");
    expect(formFields(form!)).toEqual([["return", "/agent/assets?q=Shown"]]);

    const undo = await theirs.post(form!.getAttribute("action")!, { return: "/agent/assets?q=Shown" });
    expect(undo.status).toBe(200);
    expect(await shown(undo)).toContain("Undone: 3 restored.");
    expect((await records(ids)).every((r) => r.group_id === null && r.version === 3)).toBe(true);
    expect(await putBack(batchId)).toEqual({ n: 3, actor: colleague.id });
    const after = await (await theirs.get(`/agent/assets/bulk/${batchId}`)).text();
    expect(after).toContain("This change was undone.");
    expect(after).not.toContain("Undo this change");
  });
});

describe("a bulk change run as a job", () => {
  it("follows the same rule: a 404 without Manage Assets; its page and Undo for a Manage Assets holder", async () => {
    const { client } = await manager();
    const loc = await makeLocation();
    const ids = await seedAssets(2001, { prefix: "Seen job" });
    const done = await followJob(
      client,
      await client.post("/agent/assets/bulk/apply", { scope: "all", action: "location", value_location: loc, f_q: "Seen job" }),
    );
    expect(done.page).toContain("Changed 2,001 of 2,001 assets.");

    await refusedToOthers((await viewer()).client, done.batchId);
    expect((await records(ids)).every((r) => r.location_id === loc && r.version === 2)).toBe(true);
    expect(await operation(done.batchId)).toEqual({ undone_at: null, state: "done" });

    const { agent: colleague, client: theirs } = await manager();
    const page = await theirs.get(`/agent/assets/bulk/${done.batchId}`);
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(cellText(html)).toContain(`set Location on 2,001 assets at 2026-11-22 09:00 UTC.`);
    expect(cellText(html)).toContain("Changed 2,001 of 2,001 assets.");
    expect(forms(html).find((form) => form.buttons.includes("Undo"))?.action).toBe(`/agent/assets/bulk/${done.batchId}/undo`);
    const undone = await followJob(theirs, await theirs.post(`/agent/assets/bulk/${done.batchId}/undo`, { return: "/agent/assets" }));
    expect(undone.page).toContain("Undone: 2,001 restored.");
    expect((await records(ids)).every((r) => r.location_id === null && r.version === 3)).toBe(true);
    expect(await putBack(done.batchId)).toEqual({ n: 2001, actor: colleague.id });
  });
});

describe("an import", () => {
  it("follows the same rule: a 404 without Manage Assets; its page and Undo for a Manage Assets holder", async () => {
    const { agent: author, client } = await manager();
    const [existing] = await seedAssets(1, { prefix: "Seenimport" });
    const tag = (await env.DB.prepare("SELECT asset_tag FROM assets WHERE id = ?").bind(existing).first<{ asset_tag: string }>())!
      .asset_tag;
    const csv = csvOf([
      ["Name", "Asset tag", "Type", "Impact"],
      ["Imported seen", "SEEN-IMP-1", "laptop", "low"],
      ["Seenimport 00001", tag, "laptop", "High"],
    ]);
    const applied = await apply(client, (await dryRun(client, csv)).html);
    expect(applied.html).toContain("Created 1 and updated 1 assets.");
    const batchId = /bulk\/(bulk_[a-z0-9]+)\/undo/.exec(applied.html)![1]!;
    const created = (await env.DB.prepare("SELECT id FROM assets WHERE asset_tag = 'SEEN-IMP-1'").first<{ id: string }>())!.id;
    const before = await records([existing!, created]);

    await refusedToOthers((await viewer()).client, batchId);
    expect(await records([existing!, created])).toEqual(before);
    expect(await operation(batchId)).toEqual({ undone_at: null, state: "done" });

    const { client: theirs } = await manager();
    const page = await theirs.get(`/agent/assets/bulk/${batchId}`);
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(textOf(html, '[data-testid="batch-summary"]')).toBe(`${author.name} imported 2 assets from a CSV file at 2026-11-22 09:00 UTC.`);
    expect(tableRows(html, "batch-changes")).toEqual([
      { Asset: "Imported seen", Field: "Created", Before: "—", After: "Imported seen" },
      { Asset: "Seenimport 00001", Field: "Impact", Before: "Low", After: "High" },
    ]);
    expect(forms(html).find((form) => form.buttons.includes("Undo the import"))?.action).toBe(`/agent/assets/bulk/${batchId}/undo`);
    const undo = await theirs.post(`/agent/assets/bulk/${batchId}/undo`, { return: "/agent/assets" });
    expect(await shown(undo)).toContain("Undone: 2 restored.");
    expect(await records([existing!, created])).toMatchObject([{ id: existing, impact: "low", version: 3 }]);
  });
});

describe("the rule, over every combination of permissions", () => {
  it("undoes a change only for its author or a Manage Assets holder, and only with Manage Assets; anyone else meets a 404 and changes nothing", async () => {
    const author = await makeAgent();
    const other = await makeAgent();
    const subsets = ALL_PERMISSIONS.reduce<Permission[][]>((all, p) => all.concat(all.map((s) => [...s, p])), [[]]);
    expect(subsets).toHaveLength(2 ** ALL_PERMISSIONS.length);
    for (const permissions of subsets) {
      for (const who of [author, other]) {
        const [id] = await seedAssets(1);
        const group = await makeGroup([]);
        const change = await bulkUpdate(env.DB, ASSET_KIND, { ids: [id!] }, "group", group, author.id, clock.now());
        if (!change.ok) throw new Error(change.message);
        const label = `${who === author ? "author" : "someone else"} holding [${permissions.join(", ")}]`;
        const mayFollow = who === author || permissions.includes("manageAssets");
        expect(mayFollowBatch({ actorId: author.id }, { id: who.id, permissions }), label).toBe(mayFollow);
        const result = await undoBatch(env.DB, ASSET_KIND, change.batchId, { id: who.id, permissions }, clock.now());
        if (!mayFollow) expect(result, label).toMatchObject({ ok: false, status: 404 });
        else if (!permissions.includes("manageAssets")) expect(result, label).toMatchObject({ ok: false, status: 403 });
        else expect(result, label).toEqual({ ok: true, job: false, restored: 1, skipped: 0 });
        const [record] = await records([id!]);
        expect(record, label).toMatchObject(result.ok ? { group_id: null, version: 3 } : { group_id: group, version: 2 });
        expect((await operation(change.batchId))!.undone_at !== null, label).toBe(result.ok);
      }
    }
  });
});
