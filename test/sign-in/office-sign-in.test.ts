// SECURITY.md 37: an office behind one address signs in all morning, while guessing stays as hard
// as ever, per source (across accounts) and per account (across sources). Password, passkey
// alone and temporary access pass alike, driven with the injected clock.
import { afterEach, describe, expect, it } from "vitest";
import { MINUTE } from "../../src/lib/clock";
import { ACCOUNT_LIMITS, LIMITS } from "../../src/limits/limits";
import { browser, type Browser, type FakeClock, fakeClock } from "../helpers/app";
import { signIn } from "../helpers/auth";
import { makeAgent, makeContact } from "../helpers/factories";
import { setMfa } from "../helpers/mfa";
import { softwareAuthenticator } from "../helpers/webauthn";

const OFFICE = "203.0.113.40";

async function statusOf(response: Promise<Response>): Promise<number> {
  const r = await response;
  await r.text();
  return r.status;
}

/** Run `count` requests, `perBatch` at a time (people do not all press Sign in in the same millisecond). */
async function inBatches(count: number, perBatch: number, request: (i: number) => Promise<number>): Promise<number[]> {
  const statuses: number[] = [];
  for (let start = 0; start < count; start += perBatch) {
    statuses.push(...(await Promise.all(Array.from({ length: Math.min(perBatch, count - start) }, (_, j) => request(start + j)))));
  }
  return statuses;
}

const tally = (statuses: number[]) => {
  const counts: Record<number, number> = {};
  for (const s of statuses) counts[s] = (counts[s] ?? 0) + 1;
  return counts;
};

async function postJson(client: Browser, path: string, body: unknown = {}) {
  const r = await client.request(path, { method: "POST", body: JSON.stringify(body), headers: { "Content-Type": "application/json" } });
  return { status: r.status, body: (await r.json()) as Record<string, unknown> & { challenge: string } };
}

describe("password sign-in from one office address", () => {
  it("lets 150 right-password sign-ins by 30 people within 15 minutes through, none refused", async () => {
    const clock = fakeClock();
    const people = await Promise.all(Array.from({ length: 30 }, (_, i) => (i % 2 ? makeAgent() : makeContact())));
    const statuses = await inBatches(150, 10, async (i) => {
      const person = people[i % people.length]!;
      const portal = person.kind === "agent" ? "agent" : "support";
      if (i % 10 === 0) clock.advance(MINUTE);
      return statusOf(browser({ clock, ip: OFFICE }).post(`/${portal}/login`, { email: person.email, password: person.password }));
    });
    expect(tally(statuses)).toEqual({ 303: 150 });
  });

  it("still lets at most 50 wrong guesses through from that address, whatever the colleagues' sign-ins around them", async () => {
    const clock = fakeClock();
    const colleague = await makeContact();
    const ip = "203.0.113.41";
    const wrong: number[] = [];
    for (let i = 0; i < 80; i++) {
      wrong.push(
        await statusOf(browser({ clock, ip }).post("/support/login", { email: `made-up-${i}@example.com`, password: "Winter2026!" })),
      );
      // A right sign-in between guesses gives back only its own attempt.
      if (i % 4 === 0 && i < 40)
        expect(
          await statusOf(browser({ clock, ip }).post("/support/login", { email: colleague.email, password: colleague.password })),
        ).toBe(303);
    }
    expect(tally(wrong)).toEqual({ 401: LIMITS.passwordPerSource.limit, 429: 80 - LIMITS.passwordPerSource.limit });
  });

  it("lets at most 10 guesses at one account through from 20 addresses", async () => {
    const clock = fakeClock();
    const victim = await makeAgent();
    const statuses = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        statusOf(browser({ clock, ip: `198.51.100.${i + 1}` }).post("/agent/login", { email: victim.email, password: `guess ${i}` })),
      ),
    );
    expect(tally(statuses)).toEqual({ 401: ACCOUNT_LIMITS.unknown.limit, 429: 20 - ACCOUNT_LIMITS.unknown.limit });
  });
});

describe("passkey sign-in from one office address", () => {
  afterEach(() => setMfa("support", { passkeys: false, passwordlessPasskeys: false }));

  async function contactsWithPasskeys(clock: FakeClock, count: number) {
    return Promise.all(
      Array.from({ length: count }, async () => {
        const contact = await makeContact();
        const client = browser({ clock });
        await signIn(client, "support", contact);
        const key = await softwareAuthenticator();
        const options = await postJson(client, "/support/account/passkeys/options");
        expect(
          (
            await postJson(client, "/support/account/passkeys", {
              name: "Laptop",
              response: key.register(options.body, undefined, { discoverable: true }),
            })
          ).status,
        ).toBe(200);
        return { contact, key };
      }),
    );
  }

  async function passkeyAlone(client: Browser, answer: (options: { challenge: string }) => Promise<unknown>): Promise<number> {
    const options = await postJson(client, "/support/login/passkey/options");
    expect(options.status).toBe(200);
    return (await postJson(client, "/support/login/passkey", { response: await answer(options.body) })).status;
  }

  it("lets 150 passkey sign-ins by 15 people through, refuses unknown passkeys past 50, and guesses at one account past 10", async () => {
    await setMfa("support", { passkeys: true, passwordlessPasskeys: true });
    const clock = fakeClock();
    const people = await contactsWithPasskeys(clock, 15);

    const right = await inBatches(150, 10, (i) =>
      passkeyAlone(browser({ clock, ip: OFFICE }), (o) => people[i % people.length]!.key.assert(o)),
    );
    expect(tally(right)).toEqual({ 200: 150 });

    // Passkeys nobody registered: each is looked up, so each counts against the address.
    const strangers = await Promise.all(Array.from({ length: 8 }, () => softwareAuthenticator()));
    const ip = "203.0.113.42";
    const unknown = await inBatches(80, 10, (i) => passkeyAlone(browser({ clock, ip }), (o) => strangers[i % strangers.length]!.assert(o)));
    expect(tally(unknown)).toEqual({ 401: LIMITS.passwordPerSource.limit, 429: 80 - LIMITS.passwordPerSource.limit });

    // Answers naming one person's passkey but signed by another key, from 20 addresses.
    const victim = people[0]!;
    const forger = await softwareAuthenticator();
    const forged = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        passkeyAlone(browser({ clock, ip: `198.51.101.${i + 1}` }), async (o) => {
          const real = (await victim.key.assert(o)) as { id: string; rawId: string; response: Record<string, string> };
          const fake = (await forger.assert(o)) as { response: Record<string, string> };
          return { ...real, response: { ...real.response, signature: fake.response.signature } };
        }),
      ),
    );
    expect(tally(forged)).toEqual({ 401: ACCOUNT_LIMITS.unknown.limit, 429: 20 - ACCOUNT_LIMITS.unknown.limit });
  });
});

describe("temporary access pass sign-in from one address", () => {
  afterEach(() => setMfa("support", { passkeys: false, passwordlessPasskeys: false }));

  it("lets at most 50 wrong passes through across made-up accounts, and 10 at one account from 20 addresses", async () => {
    await setMfa("support", { passkeys: true, passwordlessPasskeys: true });
    const clock = fakeClock();
    const ip = "203.0.113.43";
    const spread = await inBatches(80, 10, (i) =>
      statusOf(browser({ clock, ip }).post("/support/login/pass", { email: `made-up-${i}@example.com`, code: "ABCD-EFGH-JKLM" })),
    );
    expect(tally(spread)).toEqual({ 401: LIMITS.passwordPerSource.limit, 429: 80 - LIMITS.passwordPerSource.limit });

    const victim = await makeContact();
    const focused = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        statusOf(
          browser({ clock, ip: `198.51.102.${i + 1}` }).post("/support/login/pass", { email: victim.email, code: `WRONG-PASS-${i}` }),
        ),
      ),
    );
    expect(tally(focused)).toEqual({ 401: ACCOUNT_LIMITS.unknown.limit, 429: 20 - ACCOUNT_LIMITS.unknown.limit });
  });
});
