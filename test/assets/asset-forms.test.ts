import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { browser } from "../helpers/app";
import { signIn } from "../helpers/auth";
import { makeAgent, makeContact } from "../helpers/factories";
import { makeGroup, makeLocation } from "../helpers/inventory";
import { setMfa } from "../helpers/mfa";
import { button, cellText, fieldErrors, findAll, formFields, labelled, optionsOf, shown, textIn } from "../helpers/html";

/** A record's history as a person reads it: each entry's words, and what it sets in bold (the field it changed). */
const history = (html: string) =>
  findAll(html, '[data-testid="history"] > li').map((entry) => ({
    bold: Array.from(entry.querySelectorAll("strong")).map(textIn),
    text: textIn(entry),
  }));

/** What the form a button sends would send as it stands, each name with its values in order. */
function sentBy(html: string, name: string): Record<string, string[]> {
  const form = button(html, name)?.closest("form");
  expect(form, `no form sent by ${name}`).toBeTruthy();
  const sent: Record<string, string[]> = {};
  for (const [field, value] of formFields(form!)) sent[field] = [...(sent[field] ?? []), value];
  return sent;
}

const base = {
  name: "MacBook Pro 14",
  assetTag: "MBP-0001",
  assetType: "laptop",
  serialNumber: "C02XYZ",
  status: "in_use",
  impact: "medium",
  location: "",
  group: "",
  agent: "",
  usedBy: "",
  description: "",
};

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
    expect(await shown(dup)).toContain("Another asset already has this tag.");
    expect((await env.DB.prepare("SELECT count(*) AS n FROM assets WHERE name = 'Another'").first<{ n: number }>())!.n).toBe(0);

    for (const [change, message] of [
      [{ assetType: "toaster" }, "Asset type: choose one from the list."],
      [{ usedBy: "nobody@example.com" }, "no contact has this email"],
      [{ name: "" }, "Enter a name."],
      [{ assetTag: "has spaces" }, "Asset tags use letters"],
    ] as const) {
      const r = await client.post(`/agent/assets/${id}/edit`, { ...base, rowVersion: "1", ...change });
      expect(r.status, JSON.stringify(change)).toBe(400);
      expect(await shown(r)).toContain(message);
    }
    const edited = await client.post(`/agent/assets/${id}/edit`, {
      ...base,
      rowVersion: "1",
      usedBy: contact.email,
      location: loc,
      status: "in_repair",
      name: "MacBook Pro 14 (2024)",
    });
    await edited.text();
    expect(edited.status).toBe(303);
    const stale = await client.post(`/agent/assets/${id}/edit`, {
      ...base,
      rowVersion: "1",
      usedBy: contact.email,
      location: loc,
      name: "Stale write",
    });
    expect(stale.status).toBe(409);
    expect(await shown(stale)).toContain("Changed by someone else");
    const detail = await (await client.get(url)).text();
    expect(cellText(detail)).toContain("MacBook Pro 14 (2024)");
    expect(history(detail)).toContainEqual({ bold: ["Status"], text: expect.stringMatching(/^Status: In use → In repair · /) });
    expect(history(detail).flatMap((entry) => entry.bold)).toContain("Created");

    const gone = await client.post(`/agent/assets/${id}/delete`, { rowVersion: "1" });
    expect(gone.status).toBe(409);
    await gone.text();
    const del = await client.post(`/agent/assets/${id}/delete`, { rowVersion: "2" });
    await del.text();
    expect(del.headers.get("Location")).toBe("/agent/assets");
    expect(await env.DB.prepare("SELECT id FROM assets WHERE id = ?").bind(id).first()).toBeNull();
    expect(
      (await env.DB.prepare("SELECT count(*) AS n FROM inventory_history WHERE record_id = ?").bind(id).first<{ n: number }>())!.n,
    ).toBe(0);
  });
});

describe("a form reports every field's problem at once", () => {
  it("an empty New asset form names both missing fields beside them; a bad one keeps what was typed", async () => {
    await setMfa("agent", { authenticatorApp: false, emailOtp: false });
    const agent = await makeAgent();
    const client = browser();
    await signIn(client, "agent", agent);
    const empty = await client.post("/agent/assets/new", { ...base, name: "", assetTag: "" });
    expect(empty.status).toBe(400);
    const html = await empty.text();
    expect(fieldErrors(html)).toEqual({ name: "Enter a name.", assetTag: "Enter the asset tag." });
    expect(cellText(html)).toContain("2 fields need attention: see the messages beside them.");

    const outsider = await makeAgent({ name: "Formrule Outsider" });
    const group = await makeGroup([], "Formrule Group");
    const typed = {
      ...base,
      name: "Typed name kept",
      assetTag: "bad tag",
      serialNumber: "SN-TYPED",
      description: "Typed description",
      group,
      agent: outsider.id,
      usedBy: "nobody@example.com",
    };
    const bad = await client.post("/agent/assets/new", typed);
    expect(bad.status).toBe(400);
    const badHtml = await bad.text();
    expect(fieldErrors(badHtml)).toEqual({
      assetTag: "Asset tags use letters, digits, dots, dashes and underscores.",
      agent: "That agent is not in the record's Managed By Group.",
      usedBy: "Used by: no contact has this email address.",
    });
    // What was typed is kept, the choices made too.
    expect(sentBy(badHtml, "Create asset")).toMatchObject({
      name: ["Typed name kept"],
      assetTag: ["bad tag"],
      usedBy: ["nobody@example.com"],
      description: ["Typed description"],
    });
    expect(optionsOf(labelled(badHtml, "Managed By Group")!)).toContainEqual({
      value: group,
      text: "Formrule Group",
      selected: true,
      disabled: false,
    });
    expect((await env.DB.prepare("SELECT count(*) AS n FROM assets WHERE name = 'Typed name kept'").first<{ n: number }>())!.n).toBe(0);
  });

  it("a refused edit keeps the version it was typed over, so a change made meanwhile is never overwritten", async () => {
    await setMfa("agent", { authenticatorApp: false, emailOtp: false });
    const [a, b] = [browser(), browser()];
    await signIn(a, "agent", await makeAgent());
    await signIn(b, "agent", await makeAgent());
    const made = await a.post("/agent/assets/new", { ...base, name: "Kept version", assetTag: "KEPT-0001" });
    await made.text();
    const id = made.headers.get("Location")!.split("/").pop()!;
    const edit = { ...base, name: "Kept version", assetTag: "KEPT-0001", rowVersion: "1" };
    // B saves a description first; then A's save (typed over version 1) is refused for its tag.
    expect((await b.post(`/agent/assets/${id}/edit`, { ...edit, description: "B's note" })).status).toBe(303);
    const refused = await a.post(`/agent/assets/${id}/edit`, { ...edit, assetTag: "bad tag", description: "A's note" });
    expect(refused.status).toBe(400);
    const page = await refused.text();
    expect(sentBy(page, "Save")).toMatchObject({ rowVersion: ["1"], description: ["A's note"] });
    // A fixes the tag and saves the page as it stands: B's change is not overwritten.
    const again = await a.post(`/agent/assets/${id}/edit`, { ...edit, description: "A's note" });
    expect(again.status).toBe(409);
    await again.text();
    expect(
      (await env.DB.prepare("SELECT description FROM assets WHERE id = ?").bind(id).first<{ description: string }>())!.description,
    ).toBe("B's note");
  });
});

describe("software create, edit and delete pages", () => {
  it("work like the asset pages", async () => {
    await setMfa("agent", { authenticatorApp: false, emailOtp: false });
    const agent = await makeAgent();
    const client = browser();
    await signIn(client, "agent", agent);
    const form = {
      name: "Figma",
      publisher: "Figma",
      category: "Design",
      version: "124.1",
      status: "active",
      impact: "low",
      location: "",
      group: "",
      agent: "",
    };
    const created = await client.post("/agent/software/new", form);
    await created.text();
    const id = created.headers.get("Location")!.split("/").pop()!;
    const bad = await client.post(`/agent/software/${id}/edit`, { ...form, rowVersion: "1", status: "deprecated" });
    expect(bad.status).toBe(400);
    expect(await shown(bad)).toContain("Status: choose one from the list.");
    const edited = await client.post(`/agent/software/${id}/edit`, { ...form, rowVersion: "1", version: "125.0" });
    await edited.text();
    expect(edited.status).toBe(303);
    expect(history(await (await client.get(`/agent/software/${id}`)).text())).toContainEqual({
      bold: ["Version"],
      text: expect.stringMatching(/^Version: 124\.1 → 125\.0 · /),
    });
    const del = await client.post(`/agent/software/${id}/delete`, { rowVersion: "2" });
    await del.text();
    expect(del.headers.get("Location")).toBe("/agent/software");
  });
});

describe("an asset tag belongs to one asset (the UNIQUE index decides)", () => {
  async function signedInManager() {
    await setMfa("agent", { authenticatorApp: false, emailOtp: false });
    const client = browser();
    await signIn(client, "agent", await makeAgent());
    return client;
  }
  async function create(client: ReturnType<typeof browser>, assetTag: string) {
    const response = await client.post("/agent/assets/new", { ...base, name: `Laptop ${assetTag}`, assetTag });
    await response.text();
    expect(response.status).toBe(303);
    return response.headers.get("Location")!.split("/").pop()!;
  }
  const holders = async (tag: string) =>
    (await env.DB.prepare("SELECT id FROM assets WHERE asset_tag = ?").bind(tag).all<{ id: string }>()).results.map((r) => r.id);

  it("two parallel edits giving two assets one tag: one is saved, the other is told why (409), nothing half-written", async () => {
    const client = await signedInManager();
    const [a, b] = [await create(client, "RACE-A"), await create(client, "RACE-B")];
    const responses = await Promise.all(
      [a, b].map((id, i) =>
        client.post(`/agent/assets/${id}/edit`, { ...base, name: `Renamed ${i}`, assetTag: "RACE-SAME", rowVersion: "1" }),
      ),
    );
    const bodies = await Promise.all(responses.map((r) => r.text()));
    expect(responses.map((r) => r.status).sort()).toEqual([303, 409]);
    expect(bodies[responses.findIndex((r) => r.status === 409)]).toContain("Another asset already has this tag.");
    const winner = (await holders("RACE-SAME"))[0];
    expect(await holders("RACE-SAME")).toHaveLength(1);
    // The refused edit wrote nothing at all: not its name, not a history row, not a version.
    const loser = winner === a ? b : a;
    const row = await env.DB.prepare("SELECT name, asset_tag, version FROM assets WHERE id = ?").bind(loser).first();
    expect(row).toEqual({ name: `Laptop ${loser === a ? "RACE-A" : "RACE-B"}`, asset_tag: loser === a ? "RACE-A" : "RACE-B", version: 1 });
    expect(
      (await env.DB.prepare("SELECT count(*) AS n FROM inventory_history WHERE record_id = ? AND field != 'created'")
        .bind(loser)
        .first<{ n: number }>())!.n,
    ).toBe(0);
  });

  it("an edit to a tag already taken answers 409, like a create", async () => {
    const client = await signedInManager();
    const [, b] = [await create(client, "TAKEN-1"), await create(client, "TAKEN-2")];
    const response = await client.post(`/agent/assets/${b}/edit`, { ...base, assetTag: "TAKEN-1", rowVersion: "1" });
    expect(response.status).toBe(409);
    expect(await shown(response)).toContain("Another asset already has this tag.");
  });

  it("of eight parallel creates with one tag exactly one is made", async () => {
    const client = await signedInManager();
    const responses = await Promise.all(
      Array.from({ length: 8 }, (_, i) => client.post("/agent/assets/new", { ...base, name: `Twin ${i}`, assetTag: "TWIN-1" })),
    );
    await Promise.all(responses.map((r) => r.text()));
    expect(responses.map((r) => r.status).sort()).toEqual([303, 409, 409, 409, 409, 409, 409, 409]);
    const [id] = await holders("TWIN-1");
    expect(
      (await env.DB.prepare("SELECT count(*) AS n FROM inventory_history WHERE field = 'created' AND new_value LIKE 'Twin %'").first<{
        n: number;
      }>())!.n,
    ).toBe(1);
    expect(id).toBeTruthy();
  });
});
