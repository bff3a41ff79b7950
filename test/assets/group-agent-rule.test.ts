// One rule of a record's Managed By Group and Agent, wherever a change is made: a change that
// moves a record to a group its agent is not in clears the agent in the same change (and says
// so); a change of any other field leaves the agent as stored, even one who has left the group;
// an agent named by a change must be in the record's group. Held here as a property: generated
// groups, memberships and assets, then generated sequences of inline edits, bulk changes (selected
// and all matching), imports, form edits, Undo and membership changes, checked after each step
// against a model of the rule, and list, detail page, history and export against each other.
import { env } from "cloudflare:workers";
import Papa from "papaparse";
import { describe, expect, it } from "vitest";
import type { Browser } from "../helpers/app";
import { makeAgent } from "../helpers/factories";
import { makeGroup, seedAssets, signedInAgent } from "../helpers/inventory";
import { cellText, definitions, formFields, labelled, shown, tableRows, textOf } from "../helpers/html";
import { apply, csvOf, dryRun } from "./import-helpers";
import { pick, random, type Rand } from "../helpers/random";

const CASES = 10;
const STEPS = 7;
const ASSETS = 5;
const HX = { "HX-Request": "true" };

interface State {
  impact: string;
  group: string | null;
  agent: string | null;
  version: number;
}

/** The world of one case: its people, groups and who is in which, and the model of each asset. */
class World {
  members = new Set<string>();
  disabled = new Set<string>();
  model = new Map<string, State>();
  /** Each asset's values as seeded (no history rows): where its history replay starts. */
  initial = new Map<string, State>();
  /** The last bulk change or import: what Undo would put back, per record (its values before, and its version after). */
  lastBatch: { id: string; before: Map<string, { state: State; versionAfter: number }> } | null = null;
  constructor(
    readonly agents: { id: string; name: string }[],
    readonly groups: { id: string; name: string }[],
    readonly assets: { id: string; name: string; tag: string }[],
  ) {}

  /** Only an active agent may manage a group's records. */
  isMember(agent: string, group: string) {
    return this.members.has(`${agent}|${group}`) && !this.disabled.has(agent);
  }
  /** The rule, as a person reads it: a group change that leaves the agent outside clears the agent. */
  moveToGroup(state: State, group: string | null): State {
    const agent = state.agent && group && !this.isMember(state.agent, group) ? null : state.agent;
    return { ...state, group, agent, version: state.version + 1 };
  }
  nameOfAgent = (id: string | null) => (id ? this.agents.find((a) => a.id === id)!.name : "—");
  nameOfGroup = (id: string | null) => (id ? this.groups.find((g) => g.id === id)!.name : "—");
}

async function setUp(rand: Rand, n: number): Promise<World> {
  const agents = await Promise.all(
    Array.from({ length: 4 }, (_, i) => makeAgent({ name: `Rule${n} Agent ${String.fromCharCode(65 + i)}` })),
  );
  const groups: { id: string; name: string }[] = [];
  const members = new Set<string>();
  for (let g = 0; g < 3; g++) {
    const inGroup = agents.filter(() => rand() < 0.5);
    const name = `Rule${n} Group ${g + 1}`;
    groups.push({
      id: await makeGroup(
        inGroup.map((a) => a.id),
        name,
      ),
      name,
    });
    for (const a of inGroup) members.add(`${a.id}|${groups[g]!.id}`);
  }
  const world = new World(
    agents.map((a) => ({ id: a.id, name: a.name })),
    groups,
    [],
  );
  world.members = members;
  const prefix = `Rule${n}x`;
  for (let i = 0; i < ASSETS; i++) {
    // Some start consistent, some with an agent outside their group (who left it since).
    const group = rand() < 0.8 ? pick(rand, groups).id : null;
    const agent = rand() < 0.8 ? pick(rand, agents).id : null;
    const [id] = await seedAssets(1, { prefix: `${prefix}${i}`, group_id: group, agent_id: agent });
    world.assets.push({ id: id!, name: `${prefix}${i} 00001`, tag: `${prefix.toUpperCase()}${i}-00001` });
    world.model.set(id!, { impact: "low", group, agent, version: 1 });
    world.initial.set(id!, { impact: "low", group, agent, version: 1 });
  }
  return world;
}

/** The stored values the rule is about; every other editable field must stay as seeded (location none). */
async function stored(id: string): Promise<State> {
  const others = await env.DB.prepare("SELECT location_id FROM assets WHERE id = ?").bind(id).first<{ location_id: string | null }>();
  expect(others!.location_id, "a field nobody asked for changed").toBeNull();
  const row = (await env.DB.prepare("SELECT impact, group_id, agent_id, version FROM assets WHERE id = ?")
    .bind(id)
    .first<{ impact: string; group_id: string | null; agent_id: string | null; version: number }>())!;
  return { impact: row.impact, group: row.group_id, agent: row.agent_id, version: row.version };
}

/** The row an inline dropdown change posts: the whole row, one value changed, as htmx sends it. */
function rowForm(state: State, change: Partial<Record<"impact" | "group" | "agent", string | null>>) {
  const next = { impact: state.impact, group: state.group, agent: state.agent, ...change };
  return { version: String(state.version), impact: next.impact!, location: "", group: next.group ?? "", agent: next.agent ?? "" };
}

type Step = (client: Browser, world: World, rand: Rand) => Promise<string>;

const inlineStep: Step = async (client, world, rand) => {
  const asset = pick(rand, world.assets);
  const before = world.model.get(asset.id)!;
  const field = pick(rand, ["impact", "group", "agent"] as const);
  const value =
    field === "impact"
      ? pick(
          rand,
          ["low", "medium", "high"].filter((v) => v !== before.impact),
        )
      : field === "group"
        ? pick(rand, [...world.groups.map((g) => g.id), null])
        : pick(rand, [...world.agents.map((a) => a.id), null]);
  const response = await client.post(`/agent/assets/${asset.id}/inline`, rowForm(before, { [field]: value }), { headers: HX });
  const html = await response.text();
  const body = cellText(html);
  // The row's own status line, as the person reads it beside the row.
  const statusLine = textOf(html, 'span[role="status"]') ?? "";
  let expected: State = before;
  if (field === "impact") expected = { ...before, impact: value!, version: before.version + 1 };
  else if (field === "group" && value !== before.group) expected = world.moveToGroup(before, value);
  else if (field === "agent" && value !== before.agent) {
    const gone = value !== null && world.disabled.has(value);
    const fits = !gone && (value === null || before.group === null || world.isMember(value, before.group));
    expected = fits ? { ...before, agent: value, version: before.version + 1 } : before;
    if (!fits) {
      expect(response.status).toBe(400);
      expect(body).toContain(gone ? "That agent does not exist or is disabled." : "That agent is not in the record's Managed By Group.");
    }
  }
  if (expected !== before && response.status === 200) {
    // The answer names exactly what changed: the field asked for, and an agent the rule cleared.
    const cleared = field === "group" && before.agent !== null && expected.agent === null;
    const label = { impact: "Impact", group: "Managed By Group", agent: "Managed By Agent" }[field];
    expect(statusLine).toBe(
      cleared ? `Saved ${label}; cleared Managed By Agent, who is not in ${world.nameOfGroup(expected.group)}` : `Saved ${label}`,
    );
  }
  world.model.set(asset.id, expected);
  return `inline ${field} of ${asset.name} → ${field === "impact" ? value : field === "group" ? world.nameOfGroup(value) : world.nameOfAgent(value)}`;
};

/** A bulk change, confirmed then applied, over some selected rows or every row of the case's filter. */
const bulkStep: Step = async (client, world, rand) => {
  const action = pick(rand, ["group", "agent"] as const);
  // The bulk bar offers active agents only.
  const value =
    action === "group"
      ? pick(rand, [...world.groups.map((g) => g.id), null])
      : pick(rand, [...world.agents.filter((a) => !world.disabled.has(a.id)).map((a) => a.id), null]);
  const all = rand() < 0.4;
  const selected = all ? world.assets : world.assets.filter(() => rand() < 0.5);
  if (selected.length === 0) selected.push(world.assets[0]!);
  const prefix = world.assets[0]!.name.replace(/\d+ 00001$/, "");
  const form = new URLSearchParams({ scope: all ? "all" : "selected", action, [`value_${action}`]: value ?? "", f_q: prefix });
  if (!all) for (const a of selected) form.append("ids", a.id);
  const before = new Map(selected.map((a) => [a.id, world.model.get(a.id)!]));
  const next = new Map<string, State>();
  for (const [id, state] of before) {
    if (action === "group" && state.group !== value) next.set(id, world.moveToGroup(state, value));
    if (action === "agent" && state.agent !== value && (value === null || state.group === null || world.isMember(value, state.group)))
      next.set(id, { ...state, agent: value, version: state.version + 1 });
  }
  const clears = [...next].filter(([id, s]) => before.get(id)!.agent !== null && s.agent === null && action === "group").length;
  const confirm = cellText(await (await client.request("/agent/assets/bulk", { method: "POST", body: form })).text());
  if (next.size === 0) {
    expect(confirm).toContain(`on 0 of ${selected.length}`);
    return `bulk ${action} (nothing to change)`;
  }
  expect(confirm).toContain(
    `will be set to ${action === "group" ? world.nameOfGroup(value).replace("—", "none") : world.nameOfAgent(value).replace("—", "none")} on ${next.size} of ${selected.length}`,
  );
  if (clears)
    expect(confirm).toContain(
      `It also clears Managed By Agent on ${clears} ${clears === 1 ? "asset" : "assets"} whose ${clears === 1 ? "agent is" : "agents are"} not in ${world.nameOfGroup(value)}.`,
    );
  else expect(confirm).not.toContain("clears Managed By Agent");
  const done = await client.request("/agent/assets/bulk/apply", { method: "POST", body: form });
  const page = await shown(done);
  expect(done.status).toBe(200);
  expect(cellText(page)).toContain(`Changed ${next.size} of ${selected.length}`);
  if (clears) expect(page).toContain(`Managed By Agent was cleared on ${clears} ${clears === 1 ? "asset" : "assets"}`);
  const batchId = (await env.DB.prepare("SELECT id FROM bulk_operations WHERE record_type = 'asset' ORDER BY rowid DESC LIMIT 1").first<{
    id: string;
  }>())!.id;
  world.lastBatch = { id: batchId, before: new Map([...next].map(([id, s]) => [id, { state: before.get(id)!, versionAfter: s.version }])) };
  for (const [id, state] of next) world.model.set(id, state);
  return `bulk ${action} ${all ? "all" : "selected"} → ${action === "group" ? world.nameOfGroup(value) : world.nameOfAgent(value)} (${next.size} changed, ${clears} agents cleared)`;
};

/** An import naming a new group for some records (and no agent column): the rule clears agents outside it. */
const importStep: Step = async (client, world, rand) => {
  const lines = world.assets.filter(() => rand() < 0.6);
  if (lines.length === 0) lines.push(world.assets[0]!);
  const groups = new Map(lines.map((a) => [a.id, pick(rand, world.groups).id]));
  const csv = csvOf([["Asset tag", "Managed By Group"], ...lines.map((a) => [a.tag, world.nameOfGroup(groups.get(a.id)!)])]);
  const next = new Map<string, State>();
  for (const a of lines) {
    const state = world.model.get(a.id)!;
    if (state.group !== groups.get(a.id)) next.set(a.id, world.moveToGroup(state, groups.get(a.id)!));
  }
  const checked = await dryRun(client, csv);
  if (next.size === 0) return "import (nothing to change)";
  const clears = [...next].filter(([id, state]) => world.model.get(id)!.agent !== null && state.agent === null).length;
  expect(cellText(checked.html).split("— (not in the new group)").length - 1, "agents the dry run says it clears").toBe(clears);
  const applied = await apply(client, checked.html);
  expect(applied.status, cellText(applied.html)).toBeLessThan(400);
  const batchId = (await env.DB.prepare("SELECT id FROM bulk_operations WHERE record_type = 'asset' ORDER BY rowid DESC LIMIT 1").first<{
    id: string;
  }>())!.id;
  world.lastBatch = {
    id: batchId,
    before: new Map([...next].map(([id, s]) => [id, { state: world.model.get(id)!, versionAfter: s.version }])),
  };
  for (const [id, state] of next) world.model.set(id, state);
  return `import of ${lines.length} lines (${next.size} changed)`;
};

/** The edit form, its group changed and every other field (the agent among them) sent as it showed them. */
const formStep: Step = async (client, world, rand) => {
  const asset = pick(rand, world.assets);
  const state = world.model.get(asset.id)!;
  const group = pick(
    rand,
    world.groups.map((g) => g.id),
  );
  // The agent as the edit page shows it chosen: what a browser sends back for a field nobody touched.
  const editPage = await (await client.get(`/agent/assets/${asset.id}/edit`)).text();
  const agentSelect = labelled(editPage, "Managed By Agent");
  expect(agentSelect?.getAttribute("id")).toBe("field-agent");
  const shownAgent = new Map(formFields(agentSelect!.closest("form")!)).get("agent") ?? "";
  const form = {
    rowVersion: String(state.version),
    name: asset.name,
    assetTag: asset.tag,
    assetType: "laptop",
    serialNumber: `SN-${asset.id}`,
    status: "in_use",
    impact: state.impact,
    location: "",
    group,
    agent: shownAgent,
    usedBy: "",
    description: "",
  };
  const response = await client.post(`/agent/assets/${asset.id}/edit`, form);
  await response.text();
  expect(response.status).toBe(303);
  const next = group === state.group ? state : world.moveToGroup(state, group);
  const cleared = state.agent !== null && next.agent === null;
  expect(response.headers.get("Location")).toBe(`/agent/assets/${asset.id}${cleared ? "?saved=agent-cleared" : ""}`);
  if (cleared)
    expect(cellText(await (await client.get(response.headers.get("Location")!)).text())).toContain(
      `Managed By Agent was cleared: the agent is not in ${world.nameOfGroup(group)}`,
    );
  world.model.set(asset.id, next);
  return `form group of ${asset.name} → ${world.nameOfGroup(group)}`;
};

/** Undo of the last bulk change or import: each record nobody changed since gets back its group and agent. */
const undoStep: Step = async (client, world) => {
  const batch = world.lastBatch;
  if (!batch) return "undo (nothing to undo)";
  world.lastBatch = null;
  const response = await client.post(`/agent/assets/bulk/${batch.id}/undo`, {});
  const page = await shown(response);
  expect(response.status, page).toBe(200);
  let restored = 0;
  for (const [id, { state, versionAfter }] of batch.before) {
    const now = world.model.get(id)!;
    if (now.version !== versionAfter) continue;
    world.model.set(id, { ...state, version: now.version + 1 });
    restored++;
  }
  expect(cellText(page)).toContain(`Undone: ${restored} restored`);
  return `undo (${restored} restored)`;
};

/** Someone leaves a group: no record changes, but its agent is now outside its group. */
const leaveStep: Step = async (_client, world, rand) => {
  const member = pick(rand, [...world.members]);
  if (!member) return "leave (nobody)";
  const [agent, group] = member.split("|") as [string, string];
  await env.DB.prepare("DELETE FROM group_members WHERE agent_id = ? AND group_id = ?").bind(agent, group).run();
  world.members.delete(member);
  return `${world.nameOfAgent(agent)} leaves ${world.nameOfGroup(group)}`;
};

/** An admin disables an agent: no record changes, the records they manage still name them. */
const disableStep: Step = async (_client, world, rand) => {
  const agent = pick(rand, world.agents);
  await env.DB.prepare("UPDATE users SET active = 0 WHERE id = ?").bind(agent.id).run();
  world.disabled.add(agent.id);
  return `${agent.name} is disabled`;
};

const STEPS_BY_WEIGHT: Step[] = [
  inlineStep,
  inlineStep,
  inlineStep,
  bulkStep,
  bulkStep,
  importStep,
  formStep,
  formStep,
  undoStep,
  leaveStep,
  disableStep,
];

/** Stored values, list, detail page, export and history all say the same, and what the model says. */
async function agree(client: Browser, world: World, log: string[]) {
  const why = () => log.join("\n");
  const prefix = world.assets[0]!.name.replace(/\d+ 00001$/, "");
  const list = new Map(tableRows(await (await client.get(`/agent/assets?q=${encodeURIComponent(prefix)}`)).text()).map((r) => [r.Name, r]));
  const exported = new Map(
    Papa.parse<Record<string, string>>(await (await client.get(`/agent/assets/export.csv?q=${encodeURIComponent(prefix)}`)).text(), {
      header: true,
      skipEmptyLines: true,
    }).data.map((r) => [r.Name!, r]),
  );
  for (const asset of world.assets) {
    const model = world.model.get(asset.id)!;
    expect(await stored(asset.id), `${asset.name}\n${why()}`).toEqual(model);
    const group = world.nameOfGroup(model.group);
    const agent = world.nameOfAgent(model.agent);
    expect(list.get(asset.name), why()).toMatchObject({
      "Managed By Group": group,
      "Managed By Agent": agent,
      Impact: model.impact[0]!.toUpperCase() + model.impact.slice(1),
    });
    const detail = await (await client.get(`/agent/assets/${asset.id}`)).text();
    const shownOnDetail = new Map(definitions(detail));
    expect(shownOnDetail.get("Managed By Group"), why()).toBe(group);
    expect(shownOnDetail.get("Managed By Agent"), why()).toBe(agent);
    expect(exported.get(asset.name), why()).toMatchObject({
      "Managed By Group": model.group ? group : "",
      "Managed By Agent": model.agent ? agent : "",
    });
    // The history, replayed from the first value, ends at what is stored.
    const { results } = await env.DB.prepare(
      "SELECT field, old_value, new_value, version_after FROM inventory_history WHERE record_type = 'asset' AND record_id = ? ORDER BY id",
    )
      .bind(asset.id)
      .all<{ field: string; old_value: string | null; new_value: string | null; version_after: number }>();
    // Each row starts where the one before it left the field.
    const seeded = world.initial.get(asset.id)!;
    const replayed = { group: seeded.group, agent: seeded.agent };
    for (const h of results) {
      if (h.field !== "group" && h.field !== "agent") continue;
      expect(h.old_value, `${asset.name}: a ${h.field} history row that does not start where the last one ended\n${why()}`).toBe(
        replayed[h.field],
      );
      replayed[h.field] = h.new_value;
    }
    expect(replayed, why()).toEqual({ group: model.group, agent: model.agent });
    // One history row per field a change made, all at the version it made.
    const versions = new Set(results.map((h) => h.version_after));
    expect(Math.max(1, ...versions), why()).toBe(model.version);
  }
}

describe("the group and agent rule, held over generated data and sequences of changes", () => {
  it(`holds across ${CASES} generated cases of ${STEPS} steps`, async () => {
    const { client } = await signedInAgent();
    const ran: string[] = [];
    for (let n = 0; n < CASES; n++) {
      const rand = random(4500 + n);
      const world = await setUp(rand, n);
      const log = [`case ${n} (seed ${4500 + n})`];
      await agree(client, world, log);
      for (let s = 0; s < STEPS; s++) {
        log.push(await pick(rand, STEPS_BY_WEIGHT)(client, world, rand));
        ran.push(log.at(-1)!);
        await agree(client, world, log);
      }
    }
    // The generated steps reached every path, and the rule had agents to clear on each that can.
    for (const path of [
      /^inline group .*→/,
      /^inline agent/,
      /^bulk group selected .*[1-9]\d* agents cleared/,
      /^bulk group all/,
      /^bulk agent/,
      /^import of .*\([1-9]/,
      /^form group/,
      /^undo \([1-9]/,
      / leaves /,
      / is disabled$/,
    ]) {
      expect(
        ran.some((step) => path.test(step)),
        `no step matched ${path}:\n${ran.join("\n")}`,
      ).toBe(true);
    }
  });
});
