// A bulk change of more than BULK_CHUNK records runs as a job in steps, each its own
// D1 call, so it never holds the database for the whole change; all or nothing through the
// snapshot's versions; its progress page; Undo in steps; and steps that are safe to run twice.
import { startHeavyWork } from "../../src/assets/quota";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { advanceJob, applyBulk, BULK_CHUNK, jobStatus } from "../../src/assets/bulk-job";
import { ASSET_KIND } from "../../src/assets/kinds";
import type { ListFilter } from "../../src/assets/listing";
import { followJob, makeGroup, makeLocation, seedAssets, signedInAgent } from "../helpers/inventory";
import { makeAgent } from "../helpers/factories";
import { makeRole } from "../helpers/roles";
import { faultyD1 } from "../helpers/faults";
import { button, find, findAll, forms, links, shown, textIn, textOf } from "../helpers/html";

const filterOf = (q: string): ListFilter => ({ q, enums: {}, sort: "name", dir: "asc", page: 1 });

async function locations(prefix: string) {
  const { results } = await env.DB.prepare("SELECT id, location_id, version FROM assets WHERE name LIKE ? || ' %' ORDER BY id")
    .bind(prefix)
    .all<{ id: string; location_id: string | null; version: number }>();
  return results;
}

const historyOf = async (batchId: string) =>
  (await env.DB.prepare("SELECT count(*) AS n FROM inventory_history WHERE batch_id = ?").bind(batchId).first<{ n: number }>())!.n;
const chunksOf = async (batchId: string) =>
  (await env.DB.prepare("SELECT count(*) AS n FROM bulk_chunks WHERE batch_id = ?").bind(batchId).first<{ n: number }>())!.n;

/** A job started as the route starts one, but left for the test to step through (no Durable Object). */
async function jobOf(prefix: string, agentId: string, loc: string) {
  const now = Date.now();
  const started = await applyBulk(env.DB, ASSET_KIND, { filter: filterOf(prefix) }, "location", loc, agentId, now, () =>
    startHeavyWork(env, agentId, now),
  );
  if (!started.ok || !started.job) throw new Error("expected a job");
  return started.batchId;
}

async function stepUntil(batchId: string, state: string) {
  for (let i = 0; i < 20; i++) {
    if ((await jobStatus(env.DB, ASSET_KIND, batchId))!.state === state) return;
    await advanceJob(env.DB, ASSET_KIND, batchId);
  }
  throw new Error(`the job never reached ${state}`);
}

describe("bulk changes too big for one batch", () => {
  it("changes 4,500 matching records in steps of 2,000 through its Durable Object, then undoes them in steps", async () => {
    expect(BULK_CHUNK).toBe(2000);
    const { agent, client } = await signedInAgent();
    const loc = await makeLocation();
    await seedAssets(4500, { prefix: "Jobrun" });
    const review = await (
      await client.post("/agent/assets/bulk", { scope: "all", action: "location", value_location: loc, f_q: "Jobrun" })
    ).text();
    expect(textOf(review, '[data-testid="bulk-summary"]')).toMatch(/ on 4500 of 4500 assets\.$/);
    // The value set and how many records change are in bold.
    expect(findAll(review, '[data-testid="bulk-summary"] strong').map(textIn)[1]).toBe("4500");
    expect(review).toContain("So many records change in steps of 2,000");
    const applied = await client.post("/agent/assets/bulk/apply", { scope: "all", action: "location", value_location: loc, f_q: "Jobrun" });
    expect(applied.headers.get("Location")).toMatch(/^\/agent\/assets\/bulk\/bulk_[a-z0-9]+\?return=%2Fagent%2Fassets%3Fq%3DJobrun$/);
    const done = await followJob(client, applied);
    expect(done.page).toContain("Changed 4,500 of 4,500 assets.");
    expect(forms(done.page).find((form) => form.buttons.includes("Undo"))?.action).toBe(`/agent/assets/bulk/${done.batchId}/undo`);
    expect(links(done.page)).toContainEqual({ text: "Back to Assets", href: "/agent/assets?q=Jobrun" });
    const rows = await locations("Jobrun");
    expect(rows.every((r) => r.location_id === loc && r.version === 2)).toBe(true);
    expect(await historyOf(done.batchId)).toBe(4500);
    // The snapshot is gone once the job is done; the longest step was timed.
    expect(await chunksOf(done.batchId)).toBe(0);
    expect((await jobStatus(env.DB, ASSET_KIND, done.batchId))!.longestMs).toBeGreaterThan(0);

    // Its author and Manage Assets holders follow a job; to an agent without Manage Assets it does not exist.
    const { client: viewer } = await signedInAgent({ roleId: await makeRole(["viewAssets"]) });
    const peek = await viewer.get(`/agent/assets/bulk/${done.batchId}`);
    expect(peek.status).toBe(404);
    await peek.text();

    const undone = await followJob(
      client,
      await client.post(`/agent/assets/bulk/${done.batchId}/undo`, { return: "/agent/assets?q=Jobrun" }),
    );
    expect(undone.page).toContain("Undone: 4,500 restored.");
    expect((await locations("Jobrun")).every((r) => r.location_id === null && r.version === 3)).toBe(true);
    const put = await env.DB.prepare("SELECT count(*) AS n, min(actor_id) AS actor FROM inventory_history WHERE batch_id = ?")
      .bind(`undo:${done.batchId}`)
      .first<{ n: number; actor: string }>();
    expect(put).toEqual({ n: 4500, actor: agent.id });
    const again = await client.post(`/agent/assets/bulk/${done.batchId}/undo`);
    expect(again.status).toBe(400);
    expect(await shown(again)).toContain("already undone");
  });

  it("Assign Group as a job clears, in each step, the agents not in the new group, says so, and Undo brings them back", async () => {
    const { client } = await signedInAgent();
    const [inside, outside] = [await makeAgent({ name: "Jobgroup Insider" }), await makeAgent({ name: "Jobgroup Outsider" })];
    const [from, to] = [await makeGroup([inside.id, outside.id]), await makeGroup([inside.id], "Jobgroup Security")];
    await seedAssets(900, { prefix: "JobgroupA", group_id: from, agent_id: inside.id });
    await seedAssets(1200, { prefix: "JobgroupB", group_id: from, agent_id: outside.id });
    const form = { scope: "all", action: "group", value_group: to, f_q: "Jobgroup" };
    const review = await (await client.post("/agent/assets/bulk", form)).text();
    expect(textOf(review, '[data-testid="bulk-summary"]')).toBe(
      "Managed By Group will be set to Jobgroup Security on 2100 of 2100 assets.",
    );
    expect(findAll(review, '[data-testid="bulk-summary"] strong').map(textIn)).toEqual(["Jobgroup Security", "2100"]);
    expect(review).toContain("It also clears Managed By Agent on 1,200 assets whose agents are not in Jobgroup Security.");
    const done = await followJob(client, await client.post("/agent/assets/bulk/apply", form));
    expect(done.page).toContain(
      "Changed 2,100 of 2,100 assets. Managed By Agent was cleared on 1,200 assets whose agents are not in Jobgroup Security.",
    );
    const counts = async () =>
      (
        await env.DB.prepare(
          "SELECT group_id AS g, agent_id AS a, count(*) AS n FROM assets WHERE name LIKE 'Jobgroup%' GROUP BY 1, 2 ORDER BY n",
        ).all<{ g: string; a: string | null; n: number }>()
      ).results;
    expect(await counts()).toEqual([
      { g: to, a: inside.id, n: 900 },
      { g: to, a: null, n: 1200 },
    ]);
    const cleared = await env.DB.prepare(
      "SELECT count(*) AS n FROM inventory_history WHERE batch_id = ? AND field = 'agent' AND old_value = ? AND new_value IS NULL",
    )
      .bind(done.batchId, outside.id)
      .first<{ n: number }>();
    expect(cleared!.n).toBe(1200);
    const undone = await followJob(
      client,
      await client.post(`/agent/assets/bulk/${done.batchId}/undo`, { return: "/agent/assets?q=Jobgroup" }),
    );
    expect(undone.page).toContain("Undone: 2,100 restored.");
    expect(await counts()).toEqual([
      { g: from, a: inside.id, n: 900 },
      { g: from, a: outside.id, n: 1200 },
    ]);
  });

  it("an Assign Group job's result counts the agents it really cleared, when a membership changes mid-way", async () => {
    const { agent, client } = await signedInAgent();
    const insider = await makeAgent({ name: "Midway Insider" });
    const [from, to] = [await makeGroup([insider.id]), await makeGroup([insider.id], "Midway Security")];
    await seedAssets(2100, { prefix: "Midway", group_id: from, agent_id: insider.id });
    const now = Date.now();
    const started = await applyBulk(env.DB, ASSET_KIND, { filter: filterOf("Midway") }, "group", to, agent.id, now, () =>
      startHeavyWork(env, agent.id, now),
    );
    if (!started.ok || !started.job) throw new Error("expected a job");
    // Planned while the insider was in the new group: nothing to clear.
    expect(started.clearsAgent).toBe(0);
    await stepUntil(started.batchId, "applying");
    await env.DB.prepare("DELETE FROM group_members WHERE agent_id = ? AND group_id = ?").bind(insider.id, to).run();
    await stepUntil(started.batchId, "done");
    const page = await (await client.get(`/agent/assets/bulk/${started.batchId}`)).text();
    expect(page).toContain(
      "Changed 2,100 of 2,100 assets. Managed By Agent was cleared on 2,100 assets whose agents are not in Midway Security.",
    );
    const left = await env.DB.prepare("SELECT count(*) AS n FROM assets WHERE name LIKE 'Midway %' AND agent_id IS NULL AND group_id = ?")
      .bind(to)
      .first<{ n: number }>();
    expect(left!.n).toBe(2100);
  });

  it("shows its progress between steps, and refuses Undo until it is done", async () => {
    const { agent, client } = await signedInAgent();
    const loc = await makeLocation();
    await seedAssets(4500, { prefix: "Progress" });
    const batchId = await jobOf("Progress", agent.id, loc);
    const page = async () => (await client.get(`/agent/assets/bulk/${batchId}?return=/agent/assets`)).text();

    expect(await page()).toContain("Finding the 4,500 assets to change (Location)…");
    await stepUntil(batchId, "applying");
    expect(await chunksOf(batchId)).toBe(3);
    await advanceJob(env.DB, ASSET_KIND, batchId);
    const midway = await page();
    expect(midway).toContain("Location: changed 2,000 of 4,500 assets…");
    const bar = find(midway, 'progress[aria-label="Progress"]');
    expect([bar?.getAttribute("max"), bar?.getAttribute("value"), bar && textIn(bar)]).toEqual(["4500", "2000", "44%"]);
    // The page asks again every second while the job runs.
    expect(find(midway, '[hx-trigger="every 1s"]')).not.toBeNull();
    // Part of the change is visible meanwhile (docs/ASSETS.md says so); the rest is not yet written.
    expect((await locations("Progress")).filter((r) => r.location_id === loc)).toHaveLength(2000);

    const early = await client.post(`/agent/assets/bulk/${batchId}/undo`);
    expect(early.status).toBe(400);
    expect(await shown(early)).toContain("That change is still running");

    while (await advanceJob(env.DB, ASSET_KIND, batchId));
    const finished = await page();
    expect(finished).toContain("Changed 4,500 of 4,500 assets.");
    expect(finished).not.toContain("hx-trigger");
  });

  it("puts back everything it changed when a record is changed by someone else mid-way: all or nothing", async () => {
    const { agent, client } = await signedInAgent();
    const loc = await makeLocation();
    await seedAssets(4500, { prefix: "Conflict" });
    const batchId = await jobOf("Conflict", agent.id, loc);
    await stepUntil(batchId, "applying");
    await advanceJob(env.DB, ASSET_KIND, batchId);
    await advanceJob(env.DB, ASSET_KIND, batchId);
    // Two chunks written; someone edits a record of the third (records go in id order).
    const late = (await locations("Conflict"))[4400]!;
    expect(late.location_id).toBeNull();
    const edit = await client.request(`/agent/assets/${late.id}/inline`, {
      method: "POST",
      headers: { "HX-Request": "true" },
      body: new URLSearchParams({ version: "1", impact: "high" }),
    });
    expect(edit.status).toBe(200);
    await edit.text();

    while (await advanceJob(env.DB, ASSET_KIND, batchId));
    const status = (await jobStatus(env.DB, ASSET_KIND, batchId))!;
    expect(status.state).toBe("failed");
    const rows = await locations("Conflict");
    expect(rows.filter((r) => r.location_id !== null)).toEqual([]);
    // The 4,000 written went back (version 3); the edited one kept its edit and its location.
    expect(rows.filter((r) => r.version === 3)).toHaveLength(4000);
    expect(await env.DB.prepare("SELECT impact, version FROM assets WHERE id = ?").bind(late.id).first()).toEqual({
      impact: "high",
      version: 2,
    });
    const shown = await (await client.get(`/agent/assets/bulk/${batchId}`)).text();
    expect(shown).toContain(
      "Nothing was changed: records were changed by someone else while this change ran, so the ones it had already changed were put back.",
    );
    expect(shown).toContain("4,000 put back.");
    expect(button(shown, "Undo")).toBeNull();
    // A step run after the end changes nothing.
    const history = await historyOf(batchId);
    expect(await advanceJob(env.DB, ASSET_KIND, batchId)).toBe(false);
    expect(await historyOf(batchId)).toBe(history);
    expect(await chunksOf(batchId)).toBe(0);
  });

  it("ends right when D1 fails at any call of its steps, before the call or after it committed (the alarm runs the step again)", async () => {
    const { agent } = await signedInAgent();
    const loc = await makeLocation();
    await seedAssets(4500, { prefix: "Faulted" });
    const batchId = await jobOf("Faulted", agent.id, loc);
    const healthy = faultyD1(env.DB, () => false);
    await advanceJob(healthy.db, ASSET_KIND, batchId);
    const perStep = healthy.calls();
    expect(perStep).toBeGreaterThan(2);
    for (const when of ["before", "after"] as const) {
      for (let k = 1; k <= perStep; k++) {
        await advanceJob(faultyD1(env.DB, (n) => n === k, when).db, ASSET_KIND, batchId).catch(() => undefined);
      }
    }
    await stepUntil(batchId, "done");
    const status = (await jobStatus(env.DB, ASSET_KIND, batchId))!;
    expect(status).toMatchObject({ state: "done", count: 4500, doneCount: 4500 });
    expect(await historyOf(batchId)).toBe(4500);
    expect((await locations("Faulted")).every((r) => r.location_id === loc && r.version === 2)).toBe(true);
  });

  it("writes each record once when two runners step the same job at the same time", async () => {
    const { agent } = await signedInAgent();
    const loc = await makeLocation();
    await seedAssets(4500, { prefix: "Twice" });
    const batchId = await jobOf("Twice", agent.id, loc);
    for (let i = 0; i < 30; i++) {
      // Either runner may lose a race on the snapshot's key and throw (the alarm would run again); the end state is what counts.
      const step = () => advanceJob(env.DB, ASSET_KIND, batchId).catch(() => true);
      const more = await Promise.all([step(), step()]);
      if (!more.some(Boolean)) break;
    }
    const status = (await jobStatus(env.DB, ASSET_KIND, batchId))!;
    expect(status).toMatchObject({ state: "done", count: 4500, doneCount: 4500 });
    expect(await historyOf(batchId)).toBe(4500);
    expect((await locations("Twice")).every((r) => r.location_id === loc && r.version === 2)).toBe(true);
  });
});
