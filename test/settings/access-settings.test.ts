import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { portalStub } from "../../src/auth/sessions";
import { browser, fakeClock } from "../helpers/app";
import { signIn } from "../helpers/auth";
import { makeAdmin, makeContact } from "../helpers/factories";
import { openSession } from "../helpers/sessions";
import { shown } from "../helpers/html";

const PAGE = "/agent/settings/security/contacts/access";

describe("the Portal Access settings tab", () => {
  it("offers the contact portal's three modes and applies one immediately", async () => {
    const clock = fakeClock();
    const admin = await makeAdmin();
    const contact = await makeContact();
    const contactCookie = await openSession("support", contact.id, clock.now());
    const client = browser({ clock });
    await signIn(client, "agent", admin);
    const page = await (await client.get(PAGE)).text();
    for (const label of ["Both Microsoft 365 and email login", "Microsoft Entra SSO only", "Email and password only"])
      expect(page).toContain(label);

    const confirm = await (await client.post(PAGE, { access: "sso" })).text();
    expect(confirm).toContain("Portal access: Email and password only → Microsoft Entra SSO only");
    const apply = await client.post(`${PAGE}/apply`, { access: "sso", apply: "immediately" });
    await apply.text();
    expect(apply.headers.get("Location")).toBe(`${PAGE}?saved=immediately`);
    expect((await portalStub(env, "support").getPolicy()).access).toBe("sso");
    const old = await browser({ clock }).get("/support", { headers: { Cookie: contactCookie } });
    await old.text();
    expect(old.status).toBe(303);
    // The admin, on the other portal, is still signed in.
    expect((await client.get(PAGE)).status).toBe(200);
  });

  it("refuses an unknown mode, and SSO modes while SSO is not set up, changing nothing", async () => {
    const admin = await makeAdmin();
    const client = browser({ env: { ENTRA_CLIENT_ID: "" } });
    await signIn(client, "agent", admin);
    const before = (await portalStub(env, "agent").getPolicy()).access;
    const unknown = await client.post("/agent/settings/security/agents/access/apply", { access: "everyone", apply: "immediately" });
    expect(unknown.status).toBe(400);
    expect(await shown(unknown)).toContain("Choose how people sign in.");
    const sso = await client.post("/agent/settings/security/agents/access/apply", { access: "both", apply: "immediately" });
    expect(sso.status).toBe(400);
    expect(await shown(sso)).toContain("Microsoft Entra SSO is not set up yet");
    expect((await portalStub(env, "agent").getPolicy()).access).toBe(before);
    expect((await client.get("/agent")).status).toBe(200);
  });
});
