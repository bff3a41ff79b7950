import { env } from "cloudflare:workers";
import { groupMembers, groups, locations } from "../../src/db/schema";
import { db, makeAgent } from "./factories";
import type { Clock } from "../../src/lib/clock";
import { expect } from "vitest";
import { browser, type Browser } from "./app";
import { signIn } from "./auth";
import { setMfa } from "./mfa";

let seq = 0;
const uid = (p: string) =>
  `${p}_${(++seq).toString(36).padStart(4, "0")}${crypto
    .randomUUID()
    .replace(/[^a-z]/g, "")
    .slice(0, 8)}`;

export async function makeLocation(name = `Location ${++seq}`) {
  const id = uid("loc");
  await db().insert(locations).values({ id, name, createdAt: 0 });
  return id;
}

export async function makeGroup(agentIds: string[] = [], name = `Group ${++seq}`) {
  const id = uid("grp");
  await db().insert(groups).values({ id, name, createdAt: 0 });
  if (agentIds.length)
    await db()
      .insert(groupMembers)
      .values(agentIds.map((agentId) => ({ groupId: id, agentId })));
  return id;
}

/**
 * Insert `count` assets in one statement (rows built by SQLite from one JSON parameter), named
 * "<prefix> 00001"…, all with these column values. Returns their ids in order.
 */
export async function seedAssets(
  count: number,
  values: {
    prefix?: string;
    impact?: string;
    status?: string;
    location_id?: string | null;
    group_id?: string | null;
    agent_id?: string | null;
    type?: string;
  } = {},
) {
  const prefix = values.prefix ?? `Batch${++seq}`;
  const rows = Array.from({ length: count }, (_, i) => ({ id: uid("ast"), n: String(i + 1).padStart(5, "0") }));
  await env.DB.prepare(
    `INSERT INTO assets (id, name, asset_tag, asset_type, serial_number, status, impact, location_id, group_id, agent_id, version, created_at, updated_at)
     SELECT json_extract(value, '$.id'), ? || ' ' || json_extract(value, '$.n'), ? || '-' || json_extract(value, '$.n'), ?, 'SN-' || json_extract(value, '$.id'),
            ?, ?, ?, ?, ?, 1, 0, 0 FROM json_each(?)`,
  )
    .bind(
      prefix,
      prefix.toUpperCase(),
      values.type ?? "laptop",
      values.status ?? "in_use",
      values.impact ?? "low",
      values.location_id ?? null,
      values.group_id ?? null,
      values.agent_id ?? null,
      JSON.stringify(rows),
    )
    .run();
  return rows.map((r) => r.id);
}

/** An agent (of a role, default the built-in Agent) signed in to the agent portal with MFA off, and their browser. */
export async function signedInAgent(options: { roleId?: string; clock?: Clock } = {}) {
  await setMfa("agent", { authenticatorApp: false, emailOtp: false });
  const agent = await makeAgent(options.roleId ? { roleId: options.roleId } : {});
  const client = browser(options.clock ? { clock: options.clock } : {});
  await signIn(client, "agent", agent);
  return { agent, client };
}

/**
 * A bulk change big enough to be a job answers 303 to its progress page: wait for its Durable
 * Object to finish (the same run its alarm makes), then read that page.
 */
export async function followJob(client: Browser, response: Response): Promise<{ batchId: string; page: string; status: number }> {
  expect(response.status).toBe(303);
  await response.text();
  const location = response.headers.get("Location")!;
  const batchId = /\/bulk\/(bulk_[a-z0-9]+)/.exec(location)![1]!;
  await env.BULK_JOB_DO.get(env.BULK_JOB_DO.idFromName(batchId)).finished();
  const page = await client.get(location);
  return { batchId, status: page.status, page: await page.text() };
}
