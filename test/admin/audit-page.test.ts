import { describe, expect, it } from "vitest";
import { csvCell } from "../../src/audit/log";
import { DAY } from "../../src/lib/clock";
import { browser, fakeClock } from "../helpers/app";
import { signIn } from "../helpers/auth";
import { makeAdmin, makeAgent, makeContact } from "../helpers/factories";
import { postPassword } from "../helpers/mfa";
import { findAll, links, shown } from "../helpers/html";

describe("the audit log page", () => {
  it("filters by event, user and date, pages, and exports CSV with formulas neutralised", async () => {
    const clock = fakeClock();
    const admin = await makeAdmin();
    const contact = await makeContact();
    // 55 failures at six real accounts (a made-up email's failures are aggregated, SECURITY.md 44).
    const people = await Promise.all(Array.from({ length: 6 }, () => makeContact()));
    for (let i = 0; i < 55; i++)
      await postPassword(browser({ clock, ip: `192.0.2.${i}` }), "support", { email: people[i % 6]!.email, password: "wrong" });
    clock.advance(DAY);
    const client = browser({ clock });
    await signIn(client, "agent", admin);
    await signIn(browser({ clock }), "support", contact);

    const first = await (await client.get("/agent/settings/security/audit?event=sign_in.failed")).text();
    expect(findAll(first, '[data-testid="audit-row"]')).toHaveLength(50);
    // Older leads to the next page of the same filter.
    expect(
      links(first)
        .filter((link) => link.text === "Older")
        .map((link) => link.href),
    ).toEqual(["?event=sign_in.failed&page=2"]);
    const second = await (await client.get("/agent/settings/security/audit?event=sign_in.failed&page=2")).text();
    expect(findAll(second, '[data-testid="audit-row"]')).toHaveLength(5);

    const byUser = await (
      await client.get(`/agent/settings/security/audit?user=${encodeURIComponent(contact.email.toUpperCase())}`)
    ).text();
    expect(findAll(byUser, '[data-testid="audit-row"]')).toHaveLength(1);
    expect(byUser).toContain("Signed in");

    const today = new Date(clock.now()).toISOString().slice(0, 10);
    const dated = await (await client.get(`/agent/settings/security/audit?event=sign_in.failed&from=${today}`)).text();
    expect(dated).toContain("No events match.");

    const bad = await client.get("/agent/settings/security/audit.csv?from=2026-13-45");
    expect(bad.status).toBe(400);
    await bad.text();
    const csv = await client.get("/agent/settings/security/audit.csv?event=sign_in.failed");
    expect(csv.headers.get("Content-Type")).toContain("text/csv");
    const text = await csv.text();
    expect(text.split("\r\n")[0]).toBe("time_utc,event,portal,actor,target,ip,user_agent,details");
    expect(text.trim().split("\r\n")).toHaveLength(56);
    expect(csvCell("=1+1")).toBe("'=1+1");
    expect(csvCell('a,"b"')).toBe('"a,""b"""');
    expect(csvCell({ email: "@x" })).toBe('"{""email"":""@x""}"');
  });

  it("lets an admin set an agent's password under the policy, signing the agent out", async () => {
    const clock = fakeClock();
    const admin = await makeAdmin();
    const agent = await makeAgent();
    const agentClient = browser({ clock });
    await signIn(agentClient, "agent", agent);
    const client = browser({ clock });
    await signIn(client, "agent", admin);
    const weak = await client.post(`/agent/admin/agents/${agent.id}/password`, { password: "sunshine" });
    expect(weak.status).toBe(400);
    expect(await shown(weak)).toContain("most commonly used");
    const ok = await client.post(`/agent/admin/agents/${agent.id}/password`, { password: "granite harbour lights" });
    await ok.text();
    expect(ok.headers.get("Location")).toBe(`/agent/admin/agents/${agent.id}?done=password`);
    expect((await agentClient.get("/agent")).status).toBe(303);
    await signIn(browser({ clock }), "agent", { email: agent.email, password: "granite harbour lights" });
    // Six minutes later the admin must confirm again.
    clock.advance(6 * 60_000);
    const stale = await client.post(`/agent/admin/agents/${agent.id}/password`, { password: "another granite phrase" });
    expect(stale.status).toBe(401);
    await stale.text();
  });
});
