import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { BULK_FIELDS, EDITABLE } from "../../src/assets/kinds";
import { browser } from "../helpers/app";
import { signIn } from "../helpers/auth";
import { makeAgent } from "../helpers/factories";
import { makeGroup, makeLocation, seedAssets } from "../helpers/inventory";
import { setMfa } from "../helpers/mfa";
import { shown } from "../helpers/html";

describe("every bulk action on both scopes", () => {
  it.each(BULK_FIELDS.flatMap((action) => (["selected", "all"] as const).map((scope) => [action, scope] as const)))(
    "%s on %s",
    async (action, scope) => {
      await setMfa("agent", { authenticatorApp: false, emailOtp: false });
      const agent = await makeAgent();
      const client = browser();
      await signIn(client, "agent", agent);
      const group = await makeGroup([agent.id]);
      const value = action === "group" ? group : action === "agent" ? agent.id : await makeLocation();
      const prefix = `Matrix ${action} ${scope}`;
      // Records already in the agent's group, so Assign Agent is allowed on every one of them.
      const ids = await seedAssets(4, { prefix, group_id: action === "agent" ? group : null });
      const pairs: [string, string][] = [
        ["scope", scope],
        ["action", action],
        [`value_${action}`, value],
      ];
      if (scope === "selected") pairs.push(...ids.slice(0, 2).map((id) => ["ids", id] as [string, string]));
      else pairs.push(["f_q", prefix]);
      const response = await client.request("/agent/assets/bulk/apply", { method: "POST", body: new URLSearchParams(pairs) });
      const expected = scope === "selected" ? 2 : 4;
      expect(await shown(response)).toContain(`Changed ${expected} of ${expected} assets.`);
      const { results } = await env.DB.prepare(`SELECT id, ${EDITABLE[action]} AS v, version FROM assets WHERE name LIKE ? ORDER BY name`)
        .bind(`${prefix} %`)
        .all<{ v: string | null; version: number }>();
      expect(results.map((r) => r.v)).toEqual(results.map((_, i) => (i < expected ? value : null)));
      expect(results.map((r) => r.version)).toEqual(results.map((_, i) => (i < expected ? 2 : 1)));
    },
  );
});
