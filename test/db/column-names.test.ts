// drizzle-orm's D1 batch maps rows by column name, and D1's `.all()` keeps the last of
// two equal names, so two output columns with one name (users.name, roles.name) shift or vanish
// silently. Every SELECT the app prepares while its pages are visited is asked of SQLite itself
// (`raw({ columnNames: true })`) for its output names, and none may repeat. Also: the Agents page
// shows each value under its own heading.
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { createDevelopmentApp } from "../../src/dev/app";
import { browser, type Browser } from "../helpers/app";
import { signIn } from "../helpers/auth";
import { makeAdmin, makeAgent, makeContact } from "../helpers/factories";
import { tableRows } from "../helpers/html";
import { fillPath } from "../helpers/hostile";
import { makeGroup, makeLocation, seedAssets } from "../helpers/inventory";
import { setMfa } from "../helpers/mfa";
import { makeRole } from "../helpers/roles";

/** env.DB, recording the SQL of every statement the app prepares (in the D1 session each request opens too). */
function recordingDb<T extends D1Database | D1DatabaseSession>(real: T, seen: Set<string>): T {
  return new Proxy(real, {
    get(target, prop) {
      if (prop === "withSession")
        return (...args: Parameters<D1Database["withSession"]>) => recordingDb((target as D1Database).withSession(...args), seen);
      if (prop === "prepare")
        return (sql: string) => {
          seen.add(sql);
          return target.prepare(sql);
        };
      const value = Reflect.get(target, prop, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

/** SQLite's own names for a SELECT's output columns (parameters bound to 0: only the shape matters). */
async function outputColumns(sql: string): Promise<string[]> {
  const params = (sql.match(/\?/g) ?? []).map(() => 0);
  const [names] = await env.DB.prepare(sql)
    .bind(...params)
    .raw<string>({ columnNames: true });
  return names as unknown as string[];
}

let admin: Awaited<ReturnType<typeof makeAdmin>>;
beforeAll(async () => {
  await setMfa("agent", { authenticatorApp: false, emailOtp: false });
  admin = await makeAdmin({ name: "Ada Admin" });
});

describe("output column names", () => {
  it("no SELECT the pages run has two output columns with the same name", async () => {
    const seen = new Set<string>();
    const group = await makeGroup([admin.id], "Service Desk");
    await makeLocation("Berlin");
    await seedAssets(3, { group_id: group, agent_id: admin.id });
    const role = await makeRole(["viewAssets"]);
    const agent = await makeAgent({ roleId: role, name: "Grace Hopper" });
    const contact = await makeContact();
    const client: Browser = browser({ env: { DB: recordingDb(env.DB, seen) } });
    await signIn(client, "agent", admin);
    const support: Browser = browser({ env: { DB: recordingDb(env.DB, seen) } });
    await signIn(support, "support", contact);
    const ids: Record<string, string> = { agents: agent.id, contacts: contact.id, people: agent.id, roles: role, groups: group };
    for (const route of createDevelopmentApp().routes.filter((r) => r.method === "GET")) {
      const kind = /\/admin\/([a-z]+)\/:id/.exec(route.path)?.[1] ?? "";
      const response = await (route.path.startsWith("/support") ? support : client).get(
        fillPath(route.path, ids[kind] ?? "x").replace(":audience", "agents"),
      );
      await response.text();
    }
    const selects = [...seen].filter((sql) => /^\s*select\b/i.test(sql));
    expect(selects.length).toBeGreaterThan(20);
    // Among them the Agents list (a batch joining users and roles) and the asset list (raw SQL, t.* plus joins).
    expect(selects.some((sql) => sql.includes('"role_name"'))).toBe(true);
    expect(selects.some((sql) => sql.includes("SELECT t.*"))).toBe(true);
    const duplicates: string[] = [];
    for (const sql of selects) {
      const names = await outputColumns(sql);
      const repeated = names.filter((n, i) => names.indexOf(n) !== i);
      if (repeated.length) duplicates.push(`${[...new Set(repeated)].join(", ")} in: ${sql}`);
    }
    expect(duplicates).toEqual([]);
  });

  it("the Agents page shows each agent's name, email, role and groups under their headings", async () => {
    const role = await makeRole(["viewAssets"]);
    const agent = await makeAgent({ roleId: role, name: "Linus Torvalds" });
    await makeGroup([agent.id], "Network Team");
    const client = browser();
    await signIn(client, "agent", admin);
    const rows = tableRows(await (await client.get("/agent/admin/agents")).text());
    expect(rows.find((r) => r.Name === "Linus Torvalds")).toEqual({
      Name: "Linus Torvalds",
      Email: agent.email,
      Role: `Role ${role}`,
      Groups: "Network Team",
      Status: "Active",
    });
    expect(rows.find((r) => r.Email === admin.email)).toMatchObject({ Name: "Ada Admin", Role: "Administrator" });
  });
});
