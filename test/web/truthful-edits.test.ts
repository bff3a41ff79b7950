// A storage failure at any step of an inline edit: before its write, after the write committed
// but before its answer came back, and while the row is read back. What the person is told must
// match what is stored: "saved" only with the change stored (and its history), never a claim that
// nothing changed when it did; and a retry of the same edit finds its own change and answers as
// saved, never as "changed by someone else", with the change stored once.
import { env } from "cloudflare:workers";
import { beforeEach, describe, expect, it } from "vitest";
import { browser } from "../helpers/app";
import { signIn } from "../helpers/auth";
import { makeAdmin, makeAgent } from "../helpers/factories";
import { faultyD1 } from "../helpers/faults";
import { shown } from "../helpers/html";
import { makeGroup, seedAssets } from "../helpers/inventory";
import { setMfa } from "../helpers/mfa";

const HX = { "HX-Request": "true" };

beforeEach(async () => {
  await setMfa("agent", { authenticatorApp: false, emailOtp: false });
});

async function stored(id: string) {
  const row = await env.DB.prepare("SELECT impact, group_id, agent_id, version FROM assets WHERE id = ?")
    .bind(id)
    .first<{ impact: string; group_id: string | null; agent_id: string | null; version: number }>();
  const history = await env.DB.prepare(
    "SELECT field, old_value, new_value, version_after FROM inventory_history WHERE record_id = ? ORDER BY id",
  )
    .bind(id)
    .all<{ field: string; old_value: string | null; new_value: string | null; version_after: number }>();
  return { ...row!, history: history.results };
}

describe("an inline edit when D1 fails at each step", () => {
  for (const when of ["before", "after"] as const) {
    it(`failing each D1 call ${when} it runs: the answer matches what is stored, and a retry is saved once`, async () => {
      const faults: Partial<Env> = {};
      const client = browser({ env: faults });
      await signIn(client, "agent", await makeAdmin());
      const keeper = await makeAgent();
      const [from, to] = [await makeGroup([keeper.id]), await makeGroup([], `Truthful target ${when}`)];
      // A group change that also clears the agent: two fields, two history rows, one version.
      const form = { version: "1", impact: "low", location: "", group: to, agent: keeper.id };
      const edit = (id: string) => client.post(`/agent/assets/${id}/inline`, form, { headers: HX });

      // A healthy run (after one that fills the isolate's caches) counts the edit's D1 calls.
      const [warm, counted] = await seedAssets(2, { group_id: from, agent_id: keeper.id });
      await (await edit(warm!)).text();
      const healthy = faultyD1(env.DB, () => false);
      faults.DB = healthy.db;
      expect((await edit(counted!)).status).toBe(200);
      const calls = healthy.calls();
      expect(calls).toBeGreaterThanOrEqual(3);

      for (let k = 1; k <= calls; k++) {
        const [id] = await seedAssets(1, { group_id: from, agent_id: keeper.id });
        faults.DB = faultyD1(env.DB, (n) => n === k, when).db;
        const response = await edit(id!);
        const said = await shown(response);
        const after = await stored(id!);
        const saved = after.version === 2;
        const step = `D1 call ${k} of ${calls} failing ${when} it runs`;
        // Stored whole or not at all.
        if (saved)
          expect(after, step).toMatchObject({
            group_id: to,
            agent_id: null,
            history: [
              { field: "group", new_value: to, version_after: 2 },
              { field: "agent", old_value: keeper.id, new_value: null, version_after: 2 },
            ],
          });
        else expect(after, step).toMatchObject({ group_id: from, agent_id: keeper.id, version: 1, history: [] });
        // Told what is stored: saved only when it was; never "nothing was changed" over a stored change.
        if (response.status === 200) {
          expect(saved, step).toBe(true);
          expect(said, step).toContain(`Saved Managed By Group; cleared Managed By Agent, who is not in Truthful target ${when}`);
          // The row the answer shows is the row as stored (read back, or built from what was written).
          expect(said, step).toContain(`Truthful target ${when}`);
        } else {
          expect(response.status, step).toBe(503);
          expect(said, step).not.toMatch(/nothing was changed/i);
        }

        // The person tries again, D1 healthy: saved, and stored once.
        faults.DB = env.DB;
        const retry = await edit(id!);
        expect(retry.status, step).toBe(200);
        expect(await shown(retry), step).toContain("Saved Managed By Group; cleared Managed By Agent");
        const final = await stored(id!);
        expect(final, step).toMatchObject({ group_id: to, agent_id: null, version: 2 });
        expect(final.history, step).toHaveLength(2);
      }
    });
  }

  it("a different edit by the same person over the same version is a conflict, not taken as the first one's retry", async () => {
    const client = browser();
    await signIn(client, "agent", await makeAdmin());
    const [id] = await seedAssets(1);
    const first = { version: "1", impact: "high", location: "", group: "", agent: "" };
    expect((await client.post(`/agent/assets/${id}/inline`, first, { headers: HX })).status).toBe(200);
    const second = await client.post(`/agent/assets/${id}/inline`, { ...first, impact: "medium" }, { headers: HX });
    expect(second.status).toBe(409);
    expect(await shown(second)).toContain("Changed by someone else");
    expect(await stored(id!)).toMatchObject({ impact: "high", version: 2 });
  });

  it("a retry of someone else's edit over the same version is still a conflict", async () => {
    const [a, b] = [browser(), browser()];
    await signIn(a, "agent", await makeAdmin());
    await signIn(b, "agent", await makeAdmin());
    const [id] = await seedAssets(1);
    const form = { version: "1", impact: "high", location: "", group: "", agent: "" };
    expect((await a.post(`/agent/assets/${id}/inline`, form, { headers: HX })).status).toBe(200);
    const other = await b.post(`/agent/assets/${id}/inline`, form, { headers: HX });
    expect(other.status).toBe(409);
    expect(await shown(other)).toContain("Changed by someone else");
  });
});
