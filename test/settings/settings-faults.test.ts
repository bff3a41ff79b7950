// A settings save when storage fails: what the admin is told matches what is stored, and no change
// is stored without its audit rows. The policy and its audit rows are stored together in the
// portal's object; D1 then receives the rows, and when it cannot, the object's alarm writes them.
import { env, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { and, eq } from "drizzle-orm";
import { beforeEach, describe, expect, it } from "vitest";
import { portalStub } from "../../src/auth/sessions";
import { auditEvents } from "../../src/db/schema";
import { browser, type Browser, fakeClock } from "../helpers/app";
import { signIn } from "../helpers/auth";
import { db, makeAdmin } from "../helpers/factories";
import { failingBatches, faultyD1, faultyNamespace } from "../helpers/faults";
import { setMfa } from "../helpers/mfa";
import { shown, cellText } from "../helpers/html";

const APPLY = "/agent/settings/security/contacts/mfa/apply";

/** The D1 the support portal's object writes through, replaced (null: the real one). */
async function portalObjectD1(database: D1Database | null) {
  await runInDurableObject(portalStub(env, "support"), (instance) => {
    (instance as unknown as { env: Env }).env = { ...env, DB: database ?? env.DB } as Env;
  });
}

const auditOfSave = (actorId: string, at: number) =>
  db()
    .select()
    .from(auditEvents)
    .where(and(eq(auditEvents.event, "settings.changed"), eq(auditEvents.actorId, actorId), eq(auditEvents.at, at)));

async function apply(client: Browser, emailOtp: boolean) {
  const response = await client.post(APPLY, { ...(emailOtp ? { emailOtp: "on" } : {}), issuerName: "Acme Support", apply: "next_login" });
  return { status: response.status, location: response.headers.get("Location"), text: await shown(response) };
}

beforeEach(async () => {
  await setMfa("support", { authenticatorApp: false, emailOtp: false });
  await portalObjectD1(null);
});

describe("a settings save while D1 fails", () => {
  for (const when of ["before", "after"] as const) {
    it(`is saved, answered as saved, and audited once, when D1 refuses its audit rows (${when} the write)`, async () => {
      const clock = fakeClock();
      const admin = await makeAdmin();
      const client = browser({ clock });
      await signIn(client, "agent", admin);
      await portalObjectD1(failingBatches(env.DB, when));
      // The save's moment (it answers once every isolate's copy of the policy has expired, later).
      const at = clock.now();
      const saved = await apply(client, true);
      expect(saved).toMatchObject({ status: 303, location: "/agent/settings/security/contacts/mfa?saved=next_login" });
      expect((await portalStub(env, "support").getPolicy()).mfa.emailOtp).toBe(true);
      // A write whose answer was lost did commit; one refused before it did not.
      expect(await auditOfSave(admin.id, at)).toHaveLength(when === "after" ? 1 : 0);

      // D1 comes back: the portal's alarm writes what is owed, and nothing twice.
      await portalObjectD1(null);
      expect(await runDurableObjectAlarm(portalStub(env, "support"))).toBe(true);
      const rows = await auditOfSave(admin.id, at);
      expect(rows).toHaveLength(1);
      expect(rows[0]!.details).toMatchObject({ audience: "contacts", tab: "mfa", apply: "next_login" });
      expect(await runDurableObjectAlarm(portalStub(env, "support"))).toBe(false);
      expect(await auditOfSave(admin.id, at)).toHaveLength(1);
    });
  }

  it("writes the audit rows at once when D1 answers: no alarm is left", async () => {
    const clock = fakeClock();
    const admin = await makeAdmin();
    const client = browser({ clock });
    await signIn(client, "agent", admin);
    const at = clock.now();
    expect((await apply(client, true)).status).toBe(303);
    expect(await auditOfSave(admin.id, at)).toHaveLength(1);
    expect(await runDurableObjectAlarm(portalStub(env, "support"))).toBe(false);
  });
});

describe("a change whose storage fails", () => {
  it("is answered 503 with what is known: a page to try again, a change to reload and look, a sign-in step to try again", async () => {
    const clock = fakeClock();
    const admin = await makeAdmin();
    const client = browser({ clock });
    await signIn(client, "agent", admin);
    // The portal's object overloaded: nothing can be saved, and the admin is not told it was.
    const down = browser({ clock, env: { PORTAL_DO: faultyNamespace(env.PORTAL_DO) }, cookiesOf: client });
    const at = clock.now();
    const change = await apply(down, true);
    expect(change.status).toBe(503);
    expect(cellText(change.text)).toContain("we cannot tell whether this change was saved. Reload the page to see");
    expect((await portalStub(env, "support").getPolicy()).mfa.emailOtp).toBe(false);
    expect(await auditOfSave(admin.id, at)).toHaveLength(0);

    const page = await down.get("/agent/settings/security/contacts/mfa");
    expect(page.status).toBe(503);
    expect(await shown(page)).toContain("Part of EdgeDesk did not answer. Try again in a moment.");

    const signingIn = await browser({ clock, env: { DB: faultyD1(env.DB).db } }).post("/agent/login", {
      email: admin.email,
      password: admin.password,
    });
    expect(signingIn.status).toBe(503);
    expect(await shown(signingIn)).toContain("so this step did not finish. Try again in a moment.");
  });
});
