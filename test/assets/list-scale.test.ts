// Lists whose cost does not grow with the number of records. Search goes through an FTS5
// trigram index (short terms still work), pages are keyset (Next and Previous by sort value and id,
// shareable, steady across edits), and the count stops at 1,000 while a bulk change still states
// the exact number it will change.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { ASSET_KIND, SOFTWARE_KIND } from "../../src/assets/kinds";
import { filterWhere } from "../../src/assets/listing";
import { browser, deployedEnv } from "../helpers/app";
import { signIn } from "../helpers/auth";
import { makeAgent } from "../helpers/factories";
import { makeGroup, makeLocation, seedAssets } from "../helpers/inventory";
import { dropdownOptions, find, findAll, formFields, labelled, links, optionsOf, shown, tableRows, textIn } from "../helpers/html";
import { makeRole } from "../helpers/roles";

/** The records a list page shows, by the name a person clicks in each row to open it. */
const names = (html: string) =>
  findAll(html, "td > a[href]")
    .filter((a) => /^\/agent\/(?:assets|software)\/[^/?#]+$/.test(a.getAttribute("href")!))
    .map(textIn);
/** Where the page's Next or Previous link leads, as a browser follows it; undefined when there is none. */
const link = (html: string, rel: "next" | "prev") => find(html, `a[rel="${rel}"]`)?.getAttribute("href") ?? undefined;

async function signedIn() {
  const agent = await makeAgent({ roleId: await makeRole(["viewAssets", "manageAssets"]) });
  const client = browser();
  await signIn(client, "agent", agent);
  return client;
}

describe("search", () => {
  it("finds substrings of name, tag and serial through the trigram index, in any case", async () => {
    const client = await signedIn();
    const ids = await seedAssets(3, { prefix: "Quokka" });
    await env.DB.prepare("UPDATE assets SET serial_number = 'ZX-SERIAL-777' WHERE id = ?").bind(ids[1]).run();
    expect(names(await (await client.get("/agent/assets?q=okk")).text())).toEqual(["Quokka 00001", "Quokka 00002", "Quokka 00003"]);
    expect(names(await (await client.get("/agent/assets?q=QUOKKA-00003")).text())).toEqual(["Quokka 00003"]); // tag
    expect(names(await (await client.get("/agent/assets?q=serial-77")).text())).toEqual(["Quokka 00002"]); // serial
    // The index is the search: the query names the FTS table, not LIKE.
    expect(filterWhere(ASSET_KIND, { q: "okk", enums: {}, sort: "name", dir: "asc", page: 1 }).sql).toContain("assets_fts MATCH ?");
    expect(filterWhere(SOFTWARE_KIND, { q: "Micro", enums: {}, sort: "name", dir: "asc", page: 1 }).sql).toContain("software_fts MATCH ?");
  });

  it("keeps the index in step with renames and deletions", async () => {
    const client = await signedIn();
    const [id] = await seedAssets(1, { prefix: "Wombat" });
    // (Searched by "Wombat 0", which only the name holds: the tag is WOMBAT-00001.)
    expect(names(await (await client.get("/agent/assets?q=Wombat 0")).text())).toEqual(["Wombat 00001"]);
    await env.DB.prepare("UPDATE assets SET name = 'Numbat 1' WHERE id = ?").bind(id).run();
    expect(names(await (await client.get("/agent/assets?q=Wombat 0")).text())).toEqual([]);
    expect(names(await (await client.get("/agent/assets?q=umbat 1")).text())).toEqual(["Numbat 1"]);
    // Changing a field that is not searched leaves the index alone and the row findable.
    await env.DB.prepare("UPDATE assets SET impact = 'high' WHERE id = ?").bind(id).run();
    expect(names(await (await client.get("/agent/assets?q=Numbat")).text())).toEqual(["Numbat 1"]);
    await env.DB.prepare("DELETE FROM assets WHERE id = ?").bind(id).run();
    expect(names(await (await client.get("/agent/assets?q=Numbat")).text())).toEqual([]);
  });

  it("still finds terms shorter than three characters", async () => {
    const client = await signedIn();
    await seedAssets(2, { prefix: "Qz" });
    const found = names(await (await client.get("/agent/assets?q=Qz")).text());
    expect(found).toEqual(expect.arrayContaining(["Qz 00001", "Qz 00002"]));
    expect(filterWhere(ASSET_KIND, { q: "Qz", enums: {}, sort: "name", dir: "asc", page: 1 }).sql).toContain("LIKE ?");
  });

  it("takes FTS syntax in a search as plain text, never a 5xx", async () => {
    const client = await signedIn();
    await seedAssets(1, { prefix: 'Odd "quote" NEAR(x) OR' });
    for (const q of ['"', '""', "a*", "NEAR(a b)", "x OR y", "-minus", "col:umn", "^start", "AND", '"quote"', "(((", "\u0000abc"]) {
      const response = await client.get(`/agent/assets?q=${encodeURIComponent(q)}`);
      expect(response.status, q).toBeLessThan(500);
      await response.text();
    }
    expect(names(await (await client.get(`/agent/assets?q=${encodeURIComponent('"quote" NEAR(x)')}`)).text())).toEqual([
      'Odd "quote" NEAR(x) OR 00001',
    ]);
  });
});

describe("keyset pages", () => {
  it("go forward and back by cursor, with shareable URLs, across an edit", async () => {
    const client = await signedIn();
    await seedAssets(130, { prefix: "Keyset" });
    const first = await (await client.get("/agent/assets?q=Keyset")).text();
    expect(names(first)).toEqual(Array.from({ length: 50 }, (_, i) => `Keyset ${String(i + 1).padStart(5, "0")}`));
    expect(link(first, "prev")).toBeUndefined();
    const secondUrl = link(first, "next")!;
    expect(secondUrl).toMatch(/^\/agent\/assets\?q=Keyset&after=[A-Za-z0-9_-]+&page=2$/);
    const second = await (await client.get(secondUrl)).text();
    expect(names(second)[0]).toBe("Keyset 00051");
    expect(second).toContain("Page 2");

    // An edit meanwhile: a record renamed to sort before page 2 moves to page 1 and shifts it, yet
    // page 2's URL still starts after the same row, and Previous shows the 50 just before it.
    await env.DB.prepare("UPDATE assets SET name = 'Keyset 00000 (renamed)' WHERE name = 'Keyset 00120'").run();
    const again = await (await client.get(secondUrl)).text();
    expect(names(again)).toEqual(names(second));
    const back = await (await client.get(link(again, "prev")!)).text();
    expect(names(back)).toEqual([
      "Keyset 00000 (renamed)",
      ...Array.from({ length: 49 }, (_, i) => `Keyset ${String(i + 1).padStart(5, "0")}`),
    ]);

    // Onward to the end: 130 rows in pages of 50, no row twice, none missed.
    const third = await (await client.get(link(second, "next")!)).text();
    const seen = [...names(first), ...names(second), ...names(third)];
    expect(names(third).at(-1)).toBe("Keyset 00130");
    expect(link(third, "next")).toBeUndefined();
    expect(new Set(seen).size).toBe(seen.length);
  });

  it("page backwards from deep in a descending sort, and for a column with empty values", async () => {
    const client = await signedIn();
    await seedAssets(120, { prefix: "Desc" });
    const first = await (await client.get("/agent/assets?q=Desc&sort=name&dir=desc")).text();
    expect(names(first)[0]).toBe("Desc 00120");
    const second = await (await client.get(link(first, "next")!)).text();
    expect(names(second)[0]).toBe("Desc 00070");
    const back = await (await client.get(link(second, "prev")!)).text();
    expect(names(back)).toEqual(names(first));
    // Software sorted by publisher, which may be empty (NULL sorts first): every record once.
    await env.DB.prepare(
      `INSERT INTO software (id, name, publisher, status, impact, row_version, created_at, updated_at)
       SELECT 'sw_pub' || value, 'Pubsort ' || printf('%03d', value), CASE WHEN value % 3 = 0 THEN NULL ELSE 'Vendor ' || (value % 5) END, 'active', 'low', 1, 0, 0
       FROM json_each(?)`,
    )
      .bind(JSON.stringify(Array.from({ length: 110 }, (_, i) => i + 1)))
      .run();
    for (const dir of ["asc", "desc"]) {
      let html = await (await client.get(`/agent/software?q=Pubsort&sort=publisher&dir=${dir}`)).text();
      const all = [...names(html)];
      for (let next = link(html, "next"); next; next = link(html, "next")) {
        html = await (await client.get(next)).text();
        all.push(...names(html));
      }
      expect(all.length, dir).toBe(110);
      expect(new Set(all).size, dir).toBe(110);
    }
  });
});

describe("the count", () => {
  /** The count as a person (and a screen reader, told of it as a status) reads it. */
  const matchCount = (html: string) => {
    const count = find(html, 'p[data-testid="match-count"]');
    return count && { role: count.getAttribute("role"), text: textIn(count) };
  };
  /** The words of the bulk bar's "all matching" choice: the label, the choice it names, and whether htmx swaps it in out of band. */
  const scopeLabel = (html: string) => {
    const label = find(html, "label#scope-all-label");
    return label && { for: label.getAttribute("for"), swap: label.getAttribute("hx-swap-oob"), text: textIn(label) };
  };

  it("comes after the rows, stops at 1,000, while a bulk change on all matching states the exact number first", async () => {
    const client = await signedIn();
    await seedAssets(1100, { prefix: "Capped" });
    const list = await (await client.get("/agent/assets?q=Capped")).text();
    const scopeAll = labelled(list, "All matching this filter");
    expect([scopeAll?.getAttribute("id"), scopeAll?.getAttribute("name"), scopeAll?.getAttribute("value")]).toEqual([
      "scope-all",
      "scope",
      "all",
    ]);
    expect(scopeLabel(list)).toEqual({ for: "scope-all", swap: null, text: "All matching this filter" });
    const count = await (await client.get("/agent/assets/count?q=Capped", { headers: { "HX-Request": "true" } })).text();
    expect(matchCount(count)).toEqual({ role: "status", text: "More than 1,000 records match." });
    // The count also puts the words of the bulk bar's "all matching" choice in place of the page's.
    expect(scopeLabel(count)).toEqual({
      for: "scope-all",
      swap: "true",
      text: "All matching this filter (more than 1,000: the next step shows how many)",
    });
    const review = await client.post("/agent/assets/bulk", {
      scope: "all",
      action: "location",
      value_location: await makeLocation(),
      f_q: "Capped",
    });
    expect(await shown(review)).toContain("on 1100 of 1100 assets");
    const exact = await (await client.get("/agent/assets/count?q=Capped 0000", { headers: { "HX-Request": "true" } })).text();
    expect(matchCount(exact)).toEqual({ role: "status", text: "9 records match." });
    expect(scopeLabel(exact)).toEqual({ for: "scope-all", swap: "true", text: "All 9 matching this filter" });
    // Without JavaScript the count is a page of its own, linked from the list.
    expect(links(list)).toContainEqual({ text: "Count them", href: "/agent/assets/count?q=Capped" });
    expect(await shown(await client.get("/agent/assets/count?q=Capped"))).toContain("Back to the list");
  });
});

describe("the page's dropdowns", () => {
  /** Each row's dropdown for one field, found by its screen-reader name ("Location of …"). */
  const selects = (html: string, label: string) => findAll(html, `select[aria-label^="${label} of "]`);
  const NO_SCRIPT = "__Host-edgedesk_no_script";

  it("carry only their chosen option, each list once a page however many locations there are", async () => {
    const client = await signedIn();
    const member = await makeAgent({ name: "Lena Lean" });
    const group = await makeGroup([member.id], "Lean Crew");
    // 300 locations, as a company with many sites has: 50 rows must not repeat them 50 times.
    const { results } = await env.DB.prepare(
      "INSERT INTO locations (id, name, created_at) SELECT 'loc_lean' || value, 'Site ' || printf('%03d', value), 0 FROM json_each(?) RETURNING id",
    )
      .bind(JSON.stringify(Array.from({ length: 300 }, (_, i) => i + 1)))
      .all<{ id: string }>();
    const chosen = results[41]!.id; // Site 042
    await seedAssets(30, { prefix: "Lean", location_id: chosen, group_id: group, agent_id: member.id });
    await seedAssets(25, { prefix: "Lean none" });
    const html = await (await client.get("/agent/assets?q=Lean")).text();

    // What a person reads in each row is unchanged.
    const rows = tableRows(html);
    expect(rows).toHaveLength(50);
    expect(
      rows.filter((r) => r.Location === "Site 042" && r["Managed By Group"] === "Lean Crew" && r["Managed By Agent"] === "Lena Lean"),
    ).toHaveLength(30);
    expect(rows.filter((r) => r.Location === "—" && r["Managed By Group"] === "—" && r["Managed By Agent"] === "—")).toHaveLength(20);
    // With ASCII names the page is ASCII (its dashes and the title's dot are character references),
    // which workerd writes out as it is rather than character by character.
    // biome-ignore lint/suspicious/noControlCharactersInRegex: the whole ASCII range, control characters included.
    expect(html).toMatch(/^[\x00-\x7f]*$/);
    // Each row's dropdown holds the one option it shows closed, chosen.
    const leanSelects = selects(html, "Location");
    expect(leanSelects).toHaveLength(50);
    for (const select of leanSelects) {
      expect(select.getAttribute("data-choices")).toBe("location");
      expect(select.childNodes.length, "the dropdown holds its one option and nothing else").toBe(1);
      expect([
        [{ value: "loc_lean42", text: "Site 042", selected: true, disabled: false }],
        [{ value: "", text: "—", selected: false, disabled: false }],
      ]).toContainEqual(optionsOf(select));
    }
    // The lists are each sent once: a location no row has is on the page three times, in the
    // list the rows are filled from, the filter and the bulk bar.
    expect(html.split(">Site 299</option>")).toHaveLength(4);
    const every = (
      await env.DB.prepare("SELECT id AS value, name AS text FROM locations ORDER BY name").all<{ value: string; text: string }>()
    ).results;
    expect(every.length).toBeGreaterThanOrEqual(300);
    expect(dropdownOptions(html, "Location of Lean 00001")).toEqual([{ value: "", text: "—" }, ...every]);
    // The agent list of a row is its group's.
    expect(dropdownOptions(html, "Managed By Agent of Lean 00001")).toEqual([
      { value: "", text: "—" },
      { value: member.id, text: "Lena Lean" },
    ]);
    expect(dropdownOptions(html, "Managed By Agent of Lean none 00001").map((o) => o.text)).toContain("Lena Lean");
    // Whole dropdowns (as a browser without JavaScript gets them) repeat the 300 sites in 50 rows.
    client.cookies.set(NO_SCRIPT, "1");
    const whole = await (await client.get("/agent/assets?q=Lean")).text();
    // (The same cells, but for the Save button a browser without JavaScript shows in the last one.)
    const withoutSave = (list: Record<string, string>[]) => list.map(({ "Save note": _note, ...cells }) => cells);
    expect(tableRows(whole).map((r) => r["Save note"])).toEqual(Array(50).fill("Save"));
    expect(withoutSave(tableRows(whole))).toEqual(withoutSave(rows));
    expect(whole.split(">Site 299</option>")).toHaveLength(53);
    expect(html.length).toBeLessThan(whole.length / 3);
  });

  it("are whole for a browser without JavaScript, which the page sends once to be remembered", async () => {
    const client = await signedIn();
    const location = await makeLocation("Whole Site");
    await seedAssets(2, { prefix: "Noscript", location_id: location });
    const lean = await (await client.get("/agent/assets?q=Noscript")).text();
    const way = "/agent/assets/without-script?return=%2Fagent%2Fassets%3Fq%3DNoscript";
    // A browser without JavaScript follows the refresh in the page's <noscript>.
    expect(find(lean, 'noscript > meta[http-equiv="refresh"]')?.getAttribute("content")).toBe(`0; url=${way}`);

    const sent = await client.get(way);
    expect(sent.status).toBe(303);
    expect(sent.headers.get("Location")).toBe("/agent/assets?q=Noscript");
    const cookie = sent.headers.getSetCookie().find((c) => c.startsWith(`${NO_SCRIPT}=`))!;
    expect(cookie.split("; ").slice(1).sort()).toEqual(["HttpOnly", "Max-Age=34560000", "Path=/", "SameSite=Lax", "Secure"]);
    const whole = await (await client.get("/agent/assets?q=Noscript")).text();
    expect(find(whole, "noscript > meta")).toBeNull();
    expect(whole).not.toContain("<template");
    const [row] = selects(whole, "Location");
    expect(textIn(row!)).toBe("Whole Site");
    expect(row!.hasAttribute("data-choices")).toBe(false);
    expect(dropdownOptions(whole, "Location of Noscript 00001")).toEqual(dropdownOptions(lean, "Location of Noscript 00001"));
    // The row's Save posts the form its dropdowns belong to, as before.
    const dropdown = find(whole, 'select[aria-label="Location of Noscript 00001"]');
    expect(dropdown?.getAttribute("name")).toBe("location");
    const rowId = /^inline-(ast_[a-z0-9]+)$/.exec(dropdown?.getAttribute("form") ?? "")?.[1];
    expect(rowId, "the dropdown names the form it belongs to").toBeTruthy();
    const inline = find(whole, `form[id="inline-${rowId}"]`);
    expect([inline?.getAttribute("method"), inline?.getAttribute("action")]).toEqual(["post", `/agent/assets/${rowId}/inline`]);
    expect(new Map(formFields(inline!)).get("location")).toBe(location);

    // It only ever leads back into the list.
    for (const away of ["https://evil.example/agent/assets", "//evil.example", "/agent/software", "/agent/assets//evil.example"]) {
      const r = await client.get(`/agent/assets/without-script?return=${encodeURIComponent(away)}`);
      expect(r.headers.get("Location"), away).toBe("/agent/assets");
      await r.text();
    }
  });

  it("come whole in the row an inline save answers with, for the row's new group", async () => {
    const client = await signedIn();
    const member = await makeAgent({ name: "Gus Group" });
    const group = await makeGroup([member.id], "Swap Crew");
    const [id] = await seedAssets(1, { prefix: "Swap" });
    const r = await client.post(`/agent/assets/${id}/inline`, { version: "1", group }, { headers: { "HX-Request": "true" } });
    const row = await r.text();
    expect(r.status).toBe(200);
    expect(row).not.toContain("data-choices");
    expect(dropdownOptions(row, "Managed By Agent of Swap 00001")).toEqual([
      { value: "", text: "—" },
      { value: member.id, text: "Gus Group" },
    ]);
  });
});

describe("the bench's floor route", () => {
  it("runs the list's own page query (the same rows), and does not exist outside development", async () => {
    const client = await signedIn();
    await seedAssets(60, { prefix: "Floorcheck", impact: "high" });
    const query = "q=Floorcheck&impact=high&sort=name&dir=desc";
    const app = names(await (await client.get(`/agent/assets?${query}`)).text());
    const floor = await (await browser().get(`/dev/floor/assets?${query}`)).text();
    expect(findAll(floor, "tr").map((row) => textIn(row.querySelector("td")!))).toEqual(app);
    expect(app).toHaveLength(50);
    for (const ENVIRONMENT of ["production", "staging"]) {
      const response = await browser({ env: deployedEnv(ENVIRONMENT) }).get(`/dev/floor/assets?${query}`);
      expect(response.status).toBe(404);
      await response.text();
    }
  });
});
