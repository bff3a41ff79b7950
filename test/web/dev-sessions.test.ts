import { describe, expect, it } from "vitest";
import { browser, deployedEnv } from "../helpers/app";
import { makeAgent, makeContact } from "../helpers/factories";
import { setMfa } from "../helpers/mfa";
import { shown } from "../helpers/html";

const json = (body: unknown) => ({ body: JSON.stringify(body), headers: { "Content-Type": "application/json" } });

describe("/dev/sessions (development only, for the bench)", () => {
  it("mints full sessions whose tokens open the portal, and each is its own session", async () => {
    await setMfa("support", { authenticatorApp: false, emailOtp: false });
    const contact = await makeContact();
    const r = await browser().request("/dev/sessions", {
      method: "POST",
      ...json({ portal: "support", userIds: [contact.id], perUser: 3 }),
    });
    expect(r.status).toBe(200);
    const { cookieName, tokens } = (await r.json()) as { cookieName: string; tokens: string[] };
    expect(new Set(tokens).size).toBe(3);
    for (const token of tokens) {
      const page = await browser().get("/support", { headers: { Cookie: `${cookieName}=${token}` } });
      expect(page.status).toBe(200);
      expect(await shown(page)).toContain(`Hello, ${contact.name}`);
    }
  });

  it("is a 404 outside development", async () => {
    const contact = await makeContact();
    const r = await browser({ env: deployedEnv() }).request("/dev/sessions", {
      method: "POST",
      ...json({ portal: "support", userIds: [contact.id], perUser: 1 }),
    });
    expect(r.status).toBe(404);
    await r.text();
  });

  it("refuses bad JSON, another portal's users and unknown ids with a message", async () => {
    const agent = await makeAgent();
    for (const [init, message] of [
      [{ body: "portal=support", headers: { "Content-Type": "application/json" } }, "Send JSON like"],
      [json({ portal: "support", userIds: [agent.id], perUser: 1 }), "not active users of the support portal"],
      [json({ portal: "support", userIds: ["cnt_nobody"], perUser: 1 }), "not active users"],
      [json({ portal: "support", userIds: [agent.id], perUser: 11 }), "At most 10 sessions"],
      [json({ portal: "admin", userIds: [agent.id], perUser: 1 }), "portal is agent or support"],
    ] as const) {
      const r = await browser().request("/dev/sessions", { method: "POST", ...init });
      expect(r.status).toBe(400);
      expect(await shown(r)).toContain(message);
    }
  });
});
