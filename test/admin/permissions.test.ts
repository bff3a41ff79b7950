import { describe, expect, it } from "vitest";
import type { Permission } from "../../src/access/permissions";
import { browser } from "../helpers/app";
import { signIn } from "../helpers/auth";
import { makeAgent, makeContact } from "../helpers/factories";
import { find, links } from "../helpers/html";
import { makeRole } from "../helpers/roles";

// Each permission, the pages it opens and where Settings links for it; every other permission's pages stay shut.
const PAGES: Record<Exclude<Permission, "viewAssets" | "manageAssets">, { paths: string[]; nav: string }> = {
  manageAuthentication: {
    paths: [
      "/agent/settings/security",
      "/agent/settings/security/agents/mfa",
      "/agent/settings/security/contacts/password",
      "/agent/settings/security/audit",
      "/agent/settings/security/audit.csv",
    ],
    nav: "/agent/settings/security",
  },
  manageAgents: {
    paths: ["/agent/admin/agents", "/agent/admin/agents/new", "/agent/admin/contacts", "/agent/admin/roles", "/agent/admin/roles/new"],
    nav: "/agent/admin/agents",
  },
  manageRecoveryAndMfaReset: { paths: ["/agent/admin/recovery-requests"], nav: "/agent/admin/recovery-requests" },
};

describe("each permission grants exactly its pages", () => {
  for (const [granted, { paths, nav }] of Object.entries(PAGES)) {
    it(`“${granted}” alone`, async () => {
      const agent = await makeAgent({ roleId: await makeRole([granted as Permission]) });
      const client = browser();
      await signIn(client, "agent", agent);
      const home = await (await client.get("/agent")).text();
      expect(links(home)).toContainEqual({ text: "Settings", href: "/agent/settings" });
      // Settings lists the section this permission opens (and, below, no other's).
      const hub = await (await client.get("/agent/settings")).text();
      expect(links(hub).map((link) => link.href)).toContain(nav);
      for (const path of paths) {
        const r = await client.get(path);
        await r.text();
        expect(r.status, path).toBe(200);
      }
      for (const [other, pages] of Object.entries(PAGES)) {
        if (other === granted) continue;
        expect(find(hub, `[href="${pages.nav}"]`)).toBeNull();
        for (const path of pages.paths) {
          const r = await client.get(path);
          await r.text();
          expect(r.status, `${granted} must not open ${path}`).toBe(403);
        }
      }
    });
  }

  it("the built-in Agent role opens none of them, and contacts never reach the agent portal", async () => {
    const agent = await makeAgent();
    const client = browser();
    await signIn(client, "agent", agent);
    for (const { paths } of Object.values(PAGES))
      for (const path of paths) {
        const r = await client.get(path);
        await r.text();
        expect(r.status, path).toBe(403);
      }
    const contact = await makeContact();
    const support = browser();
    await signIn(support, "support", contact);
    const r = await support.get("/agent/admin/agents");
    await r.text();
    expect(r.status).toBe(303);
    expect(r.headers.get("Location")).toContain("/agent/login");
  });
});
