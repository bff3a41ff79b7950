// Every path that sets a password records it, so a reuse restriction refuses A→B→A
// whichever way A was set: the demo seed (scripts/seed.mjs, run here against this D1), an admin
// creating an agent, an admin setting a password, and a person changing their own.
import { env } from "cloudflare:workers";
import { count, eq } from "drizzle-orm";
import { beforeAll, describe, expect, it } from "vitest";
import { buildSeed } from "../../scripts/seed.mjs";
import { portalStub } from "../../src/auth/sessions";
import { passwordHistory, users } from "../../src/db/schema";
import { DAY } from "../../src/lib/clock";
import { browser, type Browser, fakeClock } from "../helpers/app";
import { mailedConfirmationCode, signIn } from "../helpers/auth";
import { db, makeAdmin, makeAgent } from "../helpers/factories";
import { cellText } from "../helpers/html";
import { setMfa } from "../helpers/mfa";
import { writePortalPolicy } from "../helpers/portal";

const A = "amber lanterns at noon";
const B = "basalt rivers in spring";
const C = "cinnamon clocktowers hum";

async function change(client: Browser, portal: "agent" | "support", current: string, next: string, code = "") {
  const response = await client.post(`/${portal}/account/password`, { current, password: next, confirm: next, code });
  return { status: response.status, text: await response.text() };
}

/** Changing to another password and back is refused: the first one is in the history. */
async function expectReuseRefused(portal: "agent" | "support", email: string, password: string) {
  const client = browser();
  await signIn(client, portal, { email, password });
  const other = `${B} after ${password}`;
  // A browser new to the person, signed in with just a password, confirms the change with a mailed code, as its form asks.
  const asksForCode = (await (await client.get(`/${portal}/account`)).text()).includes("Code from your email");
  const code = asksForCode ? await mailedConfirmationCode(client, portal, email) : "";
  expect((await change(client, portal, password, other, code)).status).toBe(303);
  const back = await change(client, portal, other, password);
  expect(back.status).toBe(400);
  expect(cellText(back.text)).toContain("You used this password recently");
}

beforeAll(async () => {
  for (const portal of ["agent", "support"] as const) {
    await setMfa(portal, { authenticatorApp: false, emailOtp: false });
    const { password } = await portalStub(env, portal).getPolicy();
    await writePortalPolicy(portal, { password: { ...password, reuseCount: 5 } }, false);
  }
});

describe("password history on every path that sets a password", () => {
  it("the demo seed records each user's password", async () => {
    const seed = buildSeed({
      password: A,
      hmacKey: env.HMAC_KEY,
      hashParams: { N: 1024, r: 1, p: 1 },
      assetCount: 0,
      softwareCount: 0,
      agentCount: 1,
      contactCount: 1,
    });
    const statements = (seed.sql as string)
      .split(/;\n/)
      .map((s) => s.replace(/^--.*\n/, "").trim())
      .filter(Boolean);
    await env.DB.batch(statements.map((s) => env.DB.prepare(s)));
    const [rows] = await db().select({ n: count() }).from(passwordHistory);
    expect(rows!.n).toBe(seed.agents.length + seed.contacts.length);
    await expectReuseRefused("support", seed.contacts[0]!.email, A);
    await expectReuseRefused("agent", seed.agents[1]!.email, A);
  });

  it("the forced change of an expired password records it", async () => {
    const { password } = await portalStub(env, "agent").getPolicy();
    await writePortalPolicy("agent", { password: { ...password, expiryDays: 90 } }, false);
    const agent = await makeAgent();
    // The factory set the password on 2026-01-01; 91 days later it has expired.
    const client = browser({ clock: fakeClock(Date.UTC(2026, 0, 1) + 91 * DAY) });
    const login = await client.post("/agent/login", { email: agent.email, password: agent.password });
    await login.text();
    expect(login.headers.get("Location")).toBe("/agent/login/change-password");
    const changed = await client.post("/agent/login/change-password", { password: C, confirm: C });
    await changed.text();
    expect(changed.headers.get("Location")).toBe("/agent");
    await writePortalPolicy("agent", { password: { ...password, expiryDays: 0 } }, false);
    await expectReuseRefused("agent", agent.email, C);
  });

  it("an admin creating an agent, and an admin setting a password, record them", async () => {
    const admin = await makeAdmin();
    const client = browser();
    await signIn(client, "agent", admin);
    const email = `made-${crypto.randomUUID().slice(0, 8)}@example.com`;
    const made = await client.post("/agent/admin/agents/new", { name: "Made Agent", email, roleId: "role_agent", password: A });
    await made.text();
    expect(made.status).toBe(303);
    await expectReuseRefused("agent", email, A);

    const agent = (await db().select().from(users).where(eq(users.email, email)).get())!;
    const set = await client.post(`/agent/admin/agents/${agent.id}/password`, { password: "cobalt harbours at dusk" });
    const setText = await set.text();
    expect(set.status, cellText(setText).slice(0, 600)).toBe(303);
    await expectReuseRefused("agent", email, "cobalt harbours at dusk");
  });
});
