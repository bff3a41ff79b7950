// SECURITY.md 44: the heavy work one agent can start. One import or large bulk change (a job) at a
// time, and 20 an hour, each refused with a message that says why and when; others carry on.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { applyBulk, BULK_CHUNK } from "../../src/assets/bulk-job";
import { ASSET_KIND } from "../../src/assets/kinds";
import { HEAVY_WORK, startHeavyWork } from "../../src/assets/quota";
import { HOUR } from "../../src/lib/clock";
import { fakeClock } from "../helpers/app";
import { makeLocation, seedAssets, signedInAgent } from "../helpers/inventory";
import { apply, csvOf, dryRun } from "./import-helpers";
import { cellText, shown } from "../helpers/html";

describe("an agent's heavy work", () => {
  it("runs one at a time: while their job runs, their next job and import wait; another agent's do not", async () => {
    const clock = fakeClock();
    const { agent, client } = await signedInAgent({ clock });
    const other = await signedInAgent({ clock });
    await seedAssets(BULK_CHUNK + 10, { prefix: "Quota" });
    const [a, b] = [await makeLocation(), await makeLocation()];
    // A job started as the route starts one, but not stepped (no Durable Object): it stays running.
    const now = clock.now();
    const first = await applyBulk(
      env.DB,
      ASSET_KIND,
      { filter: { q: "Quota", enums: {}, sort: "name", dir: "asc", page: 1 } },
      "location",
      a,
      agent.id,
      now,
      () => startHeavyWork(env, agent.id, now),
    );
    expect(first).toMatchObject({ ok: true, job: true });
    const second = await client.post("/agent/assets/bulk/apply", { scope: "all", action: "location", value_location: b, f_q: "Quota" });
    expect(second.status).toBe(429);
    expect(second.headers.get("Retry-After")).toBeTruthy();
    expect(await shown(second)).toContain("Your earlier change is still running.");
    const { html } = await dryRun(
      client,
      csvOf([
        ["Name", "Asset tag", "Type"],
        ["Waiting", "QUOTA-WAIT-1", "laptop"],
      ]),
    );
    const imported = await apply(client, html);
    expect(imported.status).toBe(429);
    expect(cellText(imported.html)).toContain("Your earlier change is still running.");
    expect(await env.DB.prepare("SELECT count(*) AS n FROM assets WHERE asset_tag = 'QUOTA-WAIT-1'").first<{ n: number }>()).toEqual({
      n: 0,
    });
    // Someone else's import goes ahead.
    const theirs = await apply(
      other.client,
      (
        await dryRun(
          other.client,
          csvOf([
            ["Name", "Asset tag", "Type"],
            ["Theirs", "QUOTA-THEIRS-1", "laptop"],
          ]),
        )
      ).html,
    );
    expect(theirs.status).toBe(200);
  });

  it("starts one job of several large changes sent at once, and says so to the rest", async () => {
    const clock = fakeClock();
    const { agent, client } = await signedInAgent({ clock });
    await seedAssets(BULK_CHUNK + 10, { prefix: "Racing" });
    const places = await Promise.all([0, 1, 2, 3].map(() => makeLocation()));
    const responses = await Promise.all(
      places.map((place) =>
        client.post("/agent/assets/bulk/apply", { scope: "all", action: "location", value_location: place, f_q: "Racing" }),
      ),
    );
    const statuses = await Promise.all(
      responses.map(async (r) => {
        await r.text();
        return r.status;
      }),
    );
    expect(statuses.filter((s) => s === 429)).toHaveLength(3);
    expect(
      await env.DB.prepare("SELECT count(*) AS n FROM bulk_operations WHERE actor_id = ? AND job IS NOT NULL")
        .bind(agent.id)
        .first<{ n: number }>(),
    ).toEqual({ n: 1 });
  });

  it("starts at most 20 an hour, then says when the next may start", async () => {
    const clock = fakeClock();
    const { client } = await signedInAgent({ clock });
    const importOne = async (i: number) => {
      const { html } = await dryRun(
        client,
        csvOf([
          ["Name", "Asset tag", "Type"],
          [`Hourly ${i}`, `QUOTA-HOUR-${i}`, "laptop"],
        ]),
      );
      return apply(client, html);
    };
    for (let i = 0; i < HEAVY_WORK.perHour.limit; i++) expect((await importOne(i)).status).toBe(200);
    const refused = await importOne(99);
    expect(refused.status).toBe(429);
    expect(cellText(refused.html)).toMatch(
      /You have started 20 imports and large changes in the last hour, the most one person may\. You can start another in \d+ minutes\./,
    );
    expect(await env.DB.prepare("SELECT count(*) AS n FROM assets WHERE asset_tag = 'QUOTA-HOUR-99'").first<{ n: number }>()).toEqual({
      n: 0,
    });
    clock.advance(HOUR);
    expect((await importOne(100)).status).toBe(200);
  });
});
