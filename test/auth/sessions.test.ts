import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { endAllSessionsOfUser } from "../../src/auth/sessions";
import { sessionCookieName } from "../../src/request/session-cookie";
import { DAY, HOUR, MINUTE } from "../../src/lib/clock";
import { browser, fakeClock, statusOf } from "../helpers/app";
import { signIn } from "../helpers/auth";
import { makeAgent, makeContact } from "../helpers/factories";
import { openSession } from "../helpers/sessions";
import { writePortalPolicy } from "../helpers/portal";

describe("session lifetime", () => {
  it("ends after 8 hours without activity, but not before", async () => {
    const clock = fakeClock();
    const agent = await makeAgent();
    const client = browser({ clock });
    await signIn(client, "agent", agent);
    clock.advance(8 * HOUR - MINUTE);
    expect(await statusOf(client, "/agent")).toBe(200);
    // Activity just now moves the idle deadline on.
    clock.advance(8 * HOUR - MINUTE);
    expect(await statusOf(client, "/agent")).toBe(200);
    clock.advance(8 * HOUR);
    expect(await statusOf(client, "/agent")).toBe(303);
    // And it stays ended even when the clock is turned back.
    clock.advance(-8 * HOUR);
    expect(await statusOf(client, "/agent")).toBe(303);
  });

  it("ends 7 days after sign-in however active it was", async () => {
    const clock = fakeClock();
    const contact = await makeContact();
    const client = browser({ clock });
    await signIn(client, "support", contact);
    for (let hours = 0; hours < 7 * 24 - 4; hours += 4) {
      clock.advance(4 * HOUR);
      expect(await statusOf(client, "/support")).toBe(200);
    }
    clock.set(fakeClock().now() + 7 * DAY);
    expect(await statusOf(client, "/support")).toBe(303);
  });

  it("revoke-all ends every session of one user and no one else's", async () => {
    const clock = fakeClock();
    const [alice, bob] = [await makeAgent(), await makeAgent()];
    const client = browser({ clock });
    const aliceSessions = await Promise.all([1, 2, 3].map(() => openSession("agent", alice.id, clock.now())));
    const bobSession = await openSession("agent", bob.id, clock.now());
    for (const cookie of aliceSessions) expect(await statusOf(client, "/agent", cookie)).toBe(200);

    expect(await endAllSessionsOfUser(env, alice.id)).toBe(3);
    for (const cookie of aliceSessions) expect(await statusOf(client, "/agent", cookie)).toBe(303);
    expect(await statusOf(client, "/agent", bobSession)).toBe(200);
  });

  it("a forged or malformed token is refused without an error", async () => {
    const agent = await makeAgent();
    const client = browser();
    for (const token of [
      `${agent.id}.${"a".repeat(32)}`,
      "garbage",
      `${agent.id}.`,
      "agt_aaaaaaaaaaaaaaaa.bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb",
      "x".repeat(5000),
    ]) {
      expect(await statusOf(client, "/agent", `${sessionCookieName("agent")}=${token}`)).toBe(303);
    }
  });
});

describe("ending every session of a portal", () => {
  it("ends all 1,000 sessions of 100 users on their next request, and only that portal's", async () => {
    const clock = fakeClock();
    const agents = await Promise.all(Array.from({ length: 100 }, () => makeAgent()));
    const cookies = (
      await Promise.all(agents.map((agent) => Promise.all(Array.from({ length: 10 }, () => openSession("agent", agent.id, clock.now())))))
    ).flat();
    expect(cookies).toHaveLength(1000);
    const contact = await makeContact();
    const contactCookie = await openSession("support", contact.id, clock.now());

    const client = browser({ clock });
    const sample = cookies.filter((_, i) => i % 50 === 0);
    for (const cookie of sample) expect(await statusOf(client, "/agent", cookie)).toBe(200);

    await writePortalPolicy("agent", {}, true);

    const after = await Promise.all(cookies.map((cookie) => statusOf(client, "/agent", cookie)));
    expect(after.filter((s) => s !== 303)).toEqual([]);
    expect(await statusOf(client, "/support", contactCookie)).toBe(200);

    // Signing in again afterwards works as usual.
    const fresh = await openSession("agent", agents[0]!.id, clock.now());
    expect(await statusOf(client, "/agent", fresh)).toBe(200);
  });
});
