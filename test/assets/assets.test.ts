import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { ASSET_KIND } from "../../src/assets/kinds";
import { getRecord } from "../../src/assets/listing";
import { browser, type Browser } from "../helpers/app";
import { signIn } from "../helpers/auth";
import { makeAgent, makeContact } from "../helpers/factories";
import { followJob, makeGroup, makeLocation, seedAssets, signedInAgent } from "../helpers/inventory";
import { makeRole } from "../helpers/roles";
import { cellText, dropdownOptions, find, findAll, optionsOf, shown, tableRows, textIn, textOf } from "../helpers/html";

const HX = { "HX-Request": "true" };

async function inline(client: Browser, id: string, form: Record<string, string>, htmx = true) {
  const response = await client.post(`/agent/assets/${id}/inline`, form, htmx ? { headers: HX } : {});
  return { status: response.status, body: await response.text(), location: response.headers.get("Location") };
}

/** The Next link of a list page, as a browser would follow it. */
const nextHref = (html: string) => find(html, 'a[rel="next"]')!.getAttribute("href")!;
const rowCount = (html: string) => findAll(html, '[data-testid="inventory-row"]').length;
const asset = async (id: string) => (await getRecord(env.DB, ASSET_KIND, id))!;

describe("the asset list", () => {
  it("pages by 50, searches name, tag and serial, filters and sorts, with the filter in the URL", async () => {
    const { client } = await signedInAgent();
    const loc = await makeLocation("Lisbon");
    await seedAssets(120, { prefix: "Paging", location_id: loc });
    await seedAssets(3, { prefix: "Needle", impact: "high" });
    const first = await (await client.get("/agent/assets?q=Paging")).text();
    expect(rowCount(first)).toBe(50);
    // The count comes after the rows (htmx asks for it on load).
    expect(find(first, '[hx-get="/agent/assets/count?q=Paging"]')?.getAttribute("hx-trigger")).toBe("load");
    expect(await shown(await client.get("/agent/assets/count?q=Paging", { headers: { "HX-Request": "true" } }))).toContain(
      "120 records match.",
    );
    const third = await (await client.get(nextHref(await (await client.get(nextHref(first))).text()))).text();
    expect(rowCount(third)).toBe(20);
    expect(find(third, '[rel="next"]')).toBeNull();
    expect(rowCount(await (await client.get("/agent/assets?q=NEEDLE-00002")).text())).toBe(1); // asset tag
    expect(rowCount(await (await client.get(`/agent/assets?impact=high&q=Needle`)).text())).toBe(3);
    expect(await shown(await client.get(`/agent/assets/count?location=${loc}&q=Pag`))).toContain("120 records match");
    const sorted = await (await client.get("/agent/assets?q=Needle&sort=name&dir=desc")).text();
    expect(sorted.indexOf("Needle 00003")).toBeLessThan(sorted.indexOf("Needle 00001"));
    // Paging links keep the filter.
    expect(nextHref(first)).toMatch(/^\/agent\/assets\?q=Paging&after=[A-Za-z0-9_-]+&page=2$/);
    // LIKE wildcards in a search are literal.
    expect(await shown(await client.get("/agent/assets/count?q=%25"))).toContain("0 records match");
  });

  it("refuses a bad filter with a message, not a 500", async () => {
    const { client } = await signedInAgent();
    for (const [query, message] of [
      ["impact=extreme", "Impact: choose one from the list."],
      ["sort=password_hash", "That column cannot be sorted."],
      ["page=abc", "The page is a number."],
      ["after=bm90LWEtY3Vyc29y", "That page link is not one of ours"],
      [`q=${"x".repeat(101)}`, "at most 100 characters"],
    ]) {
      const r = await client.get(`/agent/assets?${query}`);
      expect(r.status, query).toBe(400);
      expect(await shown(r)).toContain(message);
    }
  });
});

describe("inline editing", () => {
  it("saves each of the four fields without a reload and records history", async () => {
    const { agent, client } = await signedInAgent();
    const [loc, group] = [await makeLocation(), await makeGroup([agent.id])];
    const [id] = await seedAssets(1);
    const steps: [Record<string, string>, string][] = [
      [{ impact: "high" }, "Saved Impact"],
      [{ location: loc }, "Saved Location"],
      [{ group }, "Saved Managed By Group"],
      [{ agent: agent.id }, "Saved Managed By Agent"],
    ];
    for (const [i, [change, text]] of steps.entries()) {
      const r = await inline(client, id!, { version: String(i + 1), ...change });
      expect(r.status).toBe(200);
      expect(r.body).toContain(text);
      expect(r.body).toMatch(/^<tr id="row-/);
    }
    expect(await asset(id!)).toMatchObject({ impact: "high", location_id: loc, group_id: group, agent_id: agent.id, version: 5 });
    const detail = await (await client.get(`/agent/assets/${id}`)).text();
    // Each change is in the history, the field it changed in bold.
    const changed = findAll(detail, '[data-testid="history"] > li > strong').map(textIn);
    for (const field of ["Impact", "Location", "Managed By Group", "Managed By Agent"]) expect(changed).toContain(field);
    expect(detail).toContain(agent.name);
  });

  it("refuses a stale version with 409 and shows the current value", async () => {
    const { client } = await signedInAgent();
    const [id] = await seedAssets(1);
    expect((await inline(client, id!, { version: "1", impact: "medium" })).status).toBe(200);
    const stale = await inline(client, id!, { version: "1", impact: "high" });
    expect(stale.status).toBe(409);
    expect(cellText(stale.body)).toContain("Changed by someone else");
    expect(optionsOf(find(stale.body, 'select[name="impact"]')!)).toContainEqual({
      value: "medium",
      text: "Medium",
      selected: true,
      disabled: false,
    });
    expect((await asset(id!)).impact).toBe("medium");
  });

  it("of 50 parallel edits on one version, exactly one applies and the rest get 409", async () => {
    const { client } = await signedInAgent();
    const [id] = await seedAssets(1);
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) => inline(client, id!, { version: "1", impact: i % 2 ? "high" : "medium" })),
    );
    expect(results.filter((r) => r.status === 200)).toHaveLength(1);
    expect(results.filter((r) => r.status === 409)).toHaveLength(49);
    expect((await asset(id!)).version).toBe(2);
  });

  it("works without JavaScript as a plain form post", async () => {
    const { client } = await signedInAgent();
    const [id] = await seedAssets(1);
    const r = await inline(
      client,
      id!,
      { version: "1", impact: "high", location: "", group: "", agent: "", return: "/agent/assets?q=x" },
      false,
    );
    expect(r.status).toBe(303);
    expect(r.location).toBe("/agent/assets?q=x");
    expect((await asset(id!)).impact).toBe("high");
  });

  it("a group change sent with the whole row (as htmx sends it) clears an agent outside the new group", async () => {
    const { agent, client } = await signedInAgent();
    const other = await makeAgent();
    const [oldGroup, newGroup] = [await makeGroup([other.id]), await makeGroup([agent.id])];
    const [id] = await seedAssets(1, { group_id: oldGroup, agent_id: other.id });
    const row = { version: "1", impact: "low", location: "", group: newGroup, agent: other.id };
    const r = await inline(client, id!, row);
    expect(r.status).toBe(200);
    expect(cellText(r.body)).toContain("Saved Managed By Group; cleared Managed By Agent, who is not in ");
    expect(await asset(id!)).toMatchObject({ version: 2, group_id: newGroup, agent_id: null });
    // Choosing an outside agent on purpose is still refused.
    const refused = await inline(client, id!, { ...row, version: "2", agent: other.id });
    expect(refused.status).toBe(400);
    expect(cellText(refused.body)).toContain("is not in the record's Managed By Group");
  });

  it("an Impact change keeps an agent who has left the row's group, and the row shows that agent", async () => {
    const { client } = await signedInAgent();
    const alan = await makeAgent({ name: "Alan Ritchie" });
    const security = await makeGroup([], "Security Ritchie");
    const [id] = await seedAssets(1, { group_id: security, agent_id: alan.id });
    const list = await (await client.get(`/agent/assets?group=${security}`)).text();
    expect(tableRows(list)[0]).toMatchObject({ "Managed By Group": "Security Ritchie", "Managed By Agent": "Alan Ritchie" });
    const r = await inline(client, id!, { version: "1", impact: "high", location: "", group: security, agent: alan.id });
    expect(r.status).toBe(200);
    expect(cellText(r.body)).toContain("Saved Impact");
    expect(r.body).not.toContain("Managed By Agent,");
    expect(await asset(id!)).toMatchObject({ version: 2, impact: "high", group_id: security, agent_id: alan.id });
    const history = await env.DB.prepare("SELECT field FROM inventory_history WHERE record_id = ?").bind(id).all<{ field: string }>();
    expect(history.results.map((h) => h.field)).toEqual(["impact"]);
    // The row the save answers with still shows the agent chosen (a dropdown reads as its selected option).
    expect(cellText(r.body)).toContain("Alan Ritchie");
  });

  it("refuses bad input with 400 and changes nothing", async () => {
    const { agent, client } = await signedInAgent();
    const other = await makeAgent();
    const group = await makeGroup([agent.id]);
    const [id] = await seedAssets(1, { group_id: group });
    for (const [form, message] of [
      [{ version: "1", location: "loc_doesnotexist" }, "That location does not exist."],
      [{ version: "1", impact: "extreme" }, "Choose an impact"],
      [{ version: "1", status: "retired" }, "Only Impact, Location, Managed By Group and Managed By Agent can be edited here."],
      [{ version: "1", agent: other.id }, "is not in the record&#39;s Managed By Group"],
      [{ impact: "high" }, "version is missing"],
    ] as const) {
      const r = await inline(client, id!, form);
      expect(r.status, JSON.stringify(form)).toBe(400);
      expect(r.body).toContain(message);
    }
    expect(await asset(id!)).toMatchObject({ version: 1, impact: "low", location_id: null });
    const name = (await asset(id!)).name;
    const page = await (await client.get(`/agent/assets?q=${encodeURIComponent(name)}`)).text();
    // The row's agent dropdown offers only agents of the row's group.
    expect(dropdownOptions(page, `Managed By Agent of ${name}`)).toEqual([
      { value: "", text: "—" },
      { value: agent.id, text: agent.name },
    ]);
  });
});

describe("bulk actions", () => {
  it("assigns a group to a page selection, says how many, and Undo restores them", async () => {
    const { agent, client } = await signedInAgent();
    const group = await makeGroup([agent.id]);
    const ids = await seedAssets(5, { prefix: "Pick" });
    const review = await client.post("/agent/assets/bulk", {
      scope: "selected",
      action: "group",
      value_group: group,
      ids: ids[0]!,
      f_q: "Pick",
    });
    const reviewPage = await review.text();
    expect(textOf(reviewPage, '[data-testid="bulk-summary"]')).toMatch(/ on 1 of 1 asset\.$/);
    // The value set and how many records change are in bold.
    expect(findAll(reviewPage, '[data-testid="bulk-summary"] strong').map(textIn)[1]).toBe("1");
    const form = new URLSearchParams([
      ["scope", "selected"],
      ["action", "group"],
      ["value_group", group],
      ...ids.slice(0, 3).map((id) => ["ids", id] as [string, string]),
    ]);
    const applied = await client.request("/agent/assets/bulk/apply", { method: "POST", body: form });
    const page = await applied.text();
    expect(cellText(page)).toContain("Changed 3 of 3 assets.");
    for (const id of ids.slice(0, 3)) expect((await asset(id)).group_id).toBe(group);
    expect((await asset(ids[3]!)).group_id).toBeNull();

    // Someone edits one of them; Undo leaves that one alone.
    expect((await inline(client, ids[0]!, { version: "2", impact: "high" })).status).toBe(200);
    const batchId = /bulk\/(bulk_[a-z2-7]+)\/undo/.exec(page)![1]!;
    const undo = await client.post(`/agent/assets/bulk/${batchId}/undo`, { return: "/agent/assets" });
    expect(await shown(undo)).toContain("Undone: 2 restored, 1 left as they were");
    expect((await asset(ids[1]!)).group_id).toBeNull();
    expect((await asset(ids[0]!)).group_id).toBe(group);
    const again = await client.post(`/agent/assets/bulk/${batchId}/undo`);
    expect(again.status).toBe(400);
    expect(await shown(again)).toContain("already undone");
  });

  it("changes all 5,000 matching a filter (a job of three steps), and leaves a retired one, saying why", async () => {
    const { agent, client } = await signedInAgent();
    const loc = await makeLocation();
    await seedAssets(5000, { prefix: "Fleet" });
    const applied = await followJob(
      client,
      await client.post("/agent/assets/bulk/apply", { scope: "all", action: "location", value_location: loc, f_q: "Fleet" }),
    );
    expect(applied.page).toContain("Changed 5,000 of 5,000 assets.");
    const count = await env.DB.prepare("SELECT count(*) AS n FROM assets WHERE location_id = ? AND name LIKE 'Fleet %'")
      .bind(loc)
      .first<{ n: number }>();
    expect(count!.n).toBe(5000);
    const history = await env.DB.prepare("SELECT count(*) AS n FROM inventory_history WHERE new_value = ?")
      .bind(loc)
      .first<{ n: number }>();
    expect(history!.n).toBe(5000);

    // One retired asset among the matches: the others change, and the result says why it did not.
    const [retired] = await seedAssets(1, { prefix: "Fleet retired", status: "retired" });
    const group = await makeGroup([agent.id]);
    const grouped = await followJob(
      client,
      await client.post("/agent/assets/bulk/apply", { scope: "all", action: "group", value_group: group, f_q: "Fleet" }),
    );
    expect(grouped.status).toBe(200);
    expect(grouped.page).toContain("Changed 5,000 of 5,001 assets. 1 was left as it was: 1 is retired (read-only).");
    const inGroup = await env.DB.prepare("SELECT count(*) AS n FROM assets WHERE group_id = ?").bind(group).first<{ n: number }>();
    expect(inGroup!.n).toBe(5000);
    expect((await asset(retired!)).group_id).toBeNull();
  });

  it("refuses unknown ids, unknown values and agents outside a record's group, changing nothing", async () => {
    const { agent, client } = await signedInAgent();
    const group = await makeGroup([agent.id]);
    const ids = await seedAssets(2, { group_id: group });
    const cases: [string[][], string][] = [
      [
        [
          ["scope", "selected"],
          ["action", "location"],
          ["value_location", "loc_nope"],
          ["ids", ids[0]!],
        ],
        "That location does not exist.",
      ],
      [
        [
          ["scope", "selected"],
          ["action", "group"],
          ["value_group", group],
          ["ids", ids[0]!],
          ["ids", "ast_unknown1"],
        ],
        "1 of the selected records no longer exist",
      ],
      [
        [
          ["scope", "selected"],
          ["action", "status"],
          ["ids", ids[0]!],
        ],
        "Choose Assign Group, Assign Agent or Update Location.",
      ],
      [
        [
          ["scope", "selected"],
          ["action", "group"],
          ["value_group", group],
        ],
        "Select at least one row",
      ],
    ];
    for (const [pairs, message] of cases) {
      const r = await client.request("/agent/assets/bulk/apply", {
        method: "POST",
        body: new URLSearchParams(pairs as [string, string][]),
      });
      expect(r.status, message).toBe(400);
      expect(await shown(r)).toContain(message);
    }
    for (const id of ids) expect(await asset(id)).toMatchObject({ version: 1, agent_id: null, location_id: null });
  });
});

describe("permissions and the support portal", () => {
  it("View Assets alone shows a read-only list and refuses every edit with 403", async () => {
    const { client } = await signedInAgent({ roleId: await makeRole(["viewAssets"]) });
    const [id] = await seedAssets(1, { prefix: "Readonly" });
    const page = await (await client.get("/agent/assets?q=Readonly")).text();
    expect(rowCount(page)).toBe(1);
    // The rows offer no dropdown to change (the filter bar's Impact still narrows the list).
    expect(find(page, "tbody select")).toBeNull();
    expect(find(page, '[id="bulk"]')).toBeNull();
    expect((await inline(client, id!, { version: "1", impact: "high" })).status).toBe(403);
    const bulk = await client.post("/agent/assets/bulk/apply", { scope: "all", action: "location", value_location: "", f_q: "Readonly" });
    expect(bulk.status).toBe(403);
    await bulk.text();
    expect((await asset(id!)).impact).toBe("low");

    const { client: none } = await signedInAgent({ roleId: await makeRole([]) });
    const refused = await none.get("/agent/assets");
    expect(refused.status).toBe(403);
    await refused.text();
  });

  it("shows a contact only the assets they use, read-only", async () => {
    const contact = await makeContact();
    const [mine] = await seedAssets(2, { prefix: "Loaner" });
    await env.DB.prepare("UPDATE assets SET used_by_id = ? WHERE id = ?").bind(contact.id, mine).run();
    const client = browser();
    await signIn(client, "support", contact);
    const page = await (await client.get("/support/assets")).text();
    expect(findAll(page, '[data-testid="my-asset"]')).toHaveLength(1);
    expect(cellText(page)).toContain("Loaner 00001");
    expect(find(page, "select")).toBeNull();
    const agentSide = await client.get("/agent/assets");
    expect(agentSide.status).toBe(303);
    await agentSide.text();
  });

  it("the software list has the same inline edits", async () => {
    const { client } = await signedInAgent();
    const id = "sw_testsoftware01";
    await env.DB.prepare(
      "INSERT INTO software (id, name, status, impact, row_version, created_at, updated_at) VALUES (?, 'Test Suite', 'active', 'low', 1, 0, 0)",
    )
      .bind(id)
      .run();
    const page = await (await client.get("/agent/software?q=Test%20Suite")).text();
    expect(rowCount(page)).toBe(1);
    const r = await client.post(`/agent/software/${id}/inline`, { version: "1", impact: "high" }, { headers: HX });
    expect(r.status).toBe(200);
    expect(await shown(r)).toContain("Saved Impact");
    const stale = await client.post(`/agent/software/${id}/inline`, { version: "1", impact: "medium" }, { headers: HX });
    expect(stale.status).toBe(409);
    await stale.text();
  });
});
