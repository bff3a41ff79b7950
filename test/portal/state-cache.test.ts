// The portals' state (policy, session generation, role permissions) comes from each
// isolate's copy, so a signed-in request calls no portal object; and a change that takes access
// away answers only once no copy anywhere can still hold the state from before it. Each
// browser() here builds its own app, with its own copy: a separate isolate, as far as the cache
// can tell.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { portalStub } from "../../src/auth/sessions";
import { sessionCookieName } from "../../src/request/session-cookie";
import { countingEnv, noStorageCalls } from "../../src/dev/storage-calls";
import { portalChangeSettleMs, portalStateTtlMs } from "../../src/portal/state-cache";
import { browser, fakeClock } from "../helpers/app";
import { signIn } from "../helpers/auth";
import { makeAdmin, makeAgent, makeContact } from "../helpers/factories";
import { makeRole } from "../helpers/roles";

const TTL = portalStateTtlMs(env);

async function status(client: ReturnType<typeof browser>, path: string) {
  const response = await client.get(path);
  await response.text();
  return { status: response.status, location: response.headers.get("Location") };
}

describe("each isolate's copy of the portal state", () => {
  it("is 5 seconds by default, and a change waits 6", () => {
    expect(portalStateTtlMs({ PORTAL_STATE_TTL_SECONDS: "5" })).toBe(5_000);
    expect(portalChangeSettleMs({ PORTAL_STATE_TTL_SECONDS: "5" })).toBe(6_000);
    expect(portalStateTtlMs({ PORTAL_STATE_TTL_SECONDS: "sixty" })).toBe(5_000);
    expect(portalStateTtlMs({ PORTAL_STATE_TTL_SECONDS: "61" })).toBe(5_000);
    expect(portalChangeSettleMs({ PORTAL_STATE_TTL_SECONDS: "0" })).toBe(0);
    expect(TTL).toBe(5_000);
  });

  it("serves a signed-in request with no portal-object call and one user-object call", async () => {
    const clock = fakeClock();
    const calls = noStorageCalls();
    const contact = await makeContact();
    const client = browser({ clock, env: countingEnv(env, calls) });
    await signIn(client, "support", contact);
    expect((await status(client, "/support")).status).toBe(200);
    for (let i = 0; i < 10; i++) {
      clock.advance(400);
      const before = { ...calls };
      expect((await status(client, "/support")).status).toBe(200);
      expect({ portal: calls.portal - before.portal, user: calls.user - before.user }).toEqual({ portal: 0, user: 1 });
    }
    // Past T it asks the portal's object again, once.
    clock.advance(TTL);
    const before = calls.portal;
    await status(client, "/support");
    expect(calls.portal - before).toBe(1);
  });

  it("can be up to T old: which is why a change waits T before it answers", async () => {
    const clock = fakeClock();
    const contact = await makeContact();
    const client = browser({ clock });
    await signIn(client, "support", contact);
    expect((await status(client, "/support")).status).toBe(200); // filled at this instant
    // A write straight to the portal's object, without the wait: this isolate does not know yet.
    await portalStub(env, "support").updatePolicy({}, true);
    clock.advance(TTL - 1);
    expect((await status(client, "/support")).status).toBe(200);
    clock.advance(1);
    expect((await status(client, "/support")).location).toBe("/support/login?next=%2Fsupport&policy_applied=1");
  });

  it("takes a session made after a change it has not seen yet as current, not as ended", async () => {
    const clock = fakeClock();
    const contact = await makeContact();
    const stale = browser({ clock });
    await signIn(stale, "support", contact);
    expect((await status(stale, "/support")).status).toBe(200); // its copy: this generation
    await portalStub(env, "support").updatePolicy({}, true); // "Immediately", not yet seen by `stale`
    const fresh = browser({ clock });
    await signIn(fresh, "support", contact); // another isolate: a session of the new generation
    stale.cookies.set(sessionCookieName("support"), fresh.cookie(sessionCookieName("support"))!);
    expect((await status(stale, "/support")).status).toBe(200);
    expect((await status(fresh, "/support")).status).toBe(200);
  });
});

describe("a change that takes access away", () => {
  it("“Immediately” ends every earlier session for every request after its response, including one whose isolate filled its copy just before", async () => {
    const clock = fakeClock();
    const contact = await makeContact();
    const elsewhere = browser({ clock }); // the contact's requests land on another isolate
    await signIn(elsewhere, "support", contact);
    expect((await status(elsewhere, "/support")).status).toBe(200); // that isolate's copy, filled now

    const admin = browser({ clock });
    await signIn(admin, "agent", await makeAdmin());
    const asked = clock.now();
    const apply = await admin.post("/agent/settings/security/contacts/sessions/apply", {
      idleMinutes: "480",
      absoluteHours: "168",
      apply: "immediately",
    });
    await apply.text();
    expect(apply.status).toBe(303);
    expect(clock.now() - asked).toBeGreaterThanOrEqual(portalChangeSettleMs(env));

    expect((await status(elsewhere, "/support")).location).toBe("/support/login?next=%2Fsupport&policy_applied=1");
  });

  it("a role losing a permission is refused on the next request after the save, and signs nobody out", async () => {
    const clock = fakeClock();
    const roleId = await makeRole(["viewAssets"]);
    const agent = await makeAgent({ roleId });
    const elsewhere = browser({ clock });
    await signIn(elsewhere, "agent", agent);
    expect((await status(elsewhere, "/agent/assets")).status).toBe(200);

    const admin = browser({ clock });
    await signIn(admin, "agent", await makeAdmin());
    const save = await admin.post(`/agent/admin/roles/${roleId}`, { name: `Viewers ${roleId}` });
    await save.text();
    expect(save.status).toBe(303);

    expect((await status(elsewhere, "/agent/assets")).status).toBe(403);
    expect((await status(elsewhere, "/agent")).status).toBe(200);
  });
});
