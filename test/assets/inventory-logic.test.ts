import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { bulkUpdate, editInline, recordHistory } from "../../src/assets/inventory";
import { undoBatch } from "../../src/assets/undo";
import { getRecord, listRecords, type ListFilter } from "../../src/assets/listing";
import { ASSET_KIND } from "../../src/assets/kinds";
import { AGENT_ROLE_PERMISSIONS } from "../../src/access/permissions";
import { makeAgent } from "../helpers/factories";
import { makeGroup, makeLocation, seedAssets } from "../helpers/inventory";

const filter = (f: Partial<ListFilter>): ListFilter => ({ enums: {}, sort: "name", dir: "asc", page: 1, ...f });

describe("inventory logic", () => {
  it("edits inline with a version check, records history, and bulk-updates with undo", async () => {
    const agent = await makeAgent();
    const [loc, group] = [await makeLocation(), await makeGroup([agent.id])];
    const [id] = await seedAssets(3, { prefix: "Logic" });
    const edited = await editInline(env.DB, ASSET_KIND, id!, 1, { impact: "high", location: loc }, agent.id, 1000);
    expect(edited.ok).toBe(true);
    const stale = await editInline(env.DB, ASSET_KIND, id!, 1, { impact: "medium" }, agent.id, 1001);
    expect(stale).toMatchObject({ ok: false, status: 409 });
    expect((await getRecord(env.DB, ASSET_KIND, id!))!.impact).toBe("high");
    expect((await recordHistory(env.DB, ASSET_KIND, id!)).map((h) => [h.field, h.old_value, h.new_value])).toEqual(
      expect.arrayContaining([
        ["impact", "low", "high"],
        ["location", null, loc],
      ]),
    );

    const bulk = await bulkUpdate(env.DB, ASSET_KIND, { filter: filter({ q: "Logic" }) }, "group", group, agent.id, 2000);
    expect(bulk).toMatchObject({ ok: true, change: 3, total: 3, alreadySet: 0, retired: 0, outsideGroup: 0 });
    const { rows } = await listRecords(env.DB, ASSET_KIND, filter({ q: "Logic", group }));
    expect(rows).toHaveLength(3);
    if (!bulk.ok) throw new Error();
    const author = { id: agent.id, permissions: AGENT_ROLE_PERMISSIONS };
    const undone = await undoBatch(env.DB, ASSET_KIND, bulk.batchId, author, 3000);
    expect(undone).toEqual({ ok: true, job: false, restored: 3, skipped: 0 });
    expect((await listRecords(env.DB, ASSET_KIND, filter({ q: "Logic", group }))).rows).toHaveLength(0);
    expect(await undoBatch(env.DB, ASSET_KIND, bulk.batchId, author, 3001)).toMatchObject({ ok: false });
  });
});
