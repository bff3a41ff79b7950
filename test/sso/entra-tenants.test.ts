// Microsoft Entra ID as tenants really are. Tenant ids in any case, tenants named by
// domain, key rotations in quick succession (and a bound on refetches for made-up key ids), and
// Entra's errors told in words a person can act on.
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it, type MockInstance, vi } from "vitest";
import { sessionCookieName } from "../../src/request/session-cookie";
import { auditEvents } from "../../src/db/schema";
import { JWKS_REFETCH_BUDGET } from "../../src/sso/jwks";
import { browser, fakeClock } from "../helpers/app";
import { db, makeContact } from "../helpers/factories";
import { cellText, links } from "../helpers/html";
import { type Provider, setAccess, signInThrough, startProvider } from "../helpers/oidc-provider";

const CONTOSO = "9188040d-6c67-4c5b-b112-36a304b66dad";
let provider: Provider;
beforeAll(async () => {
  provider = await startProvider();
  provider.domains.set("contoso.onmicrosoft.com", CONTOSO);
  await setAccess("support", "both");
});
afterAll(() => provider.stop());

/** Silence one console method for a test, restoring only it (the provider's fetch spy stays). */
async function quiet<T>(method: "warn" | "error", run: (spy: MockInstance) => Promise<T>): Promise<T> {
  const spy = vi.spyOn(console, method).mockImplementation(() => {});
  try {
    return await run(spy);
  } finally {
    spy.mockRestore();
  }
}

async function contactSignsIn(clock: ReturnType<typeof fakeClock>, envOverrides: Partial<Env>, claims: Record<string, unknown>) {
  const contact = await makeContact();
  const client = browser({ clock, env: envOverrides });
  const result = await signInThrough(provider, client, "support", clock.now(), {
    oid: `oid-${contact.id}`,
    email: contact.email,
    xms_edov: true,
    ...claims,
  });
  return { ...result, contact, signedIn: client.cookie(sessionCookieName("support")) !== undefined };
}

describe("allowed tenants", () => {
  it("compares tenant ids without regard to case", async () => {
    const clock = fakeClock();
    const upper = { ENTRA_ALLOWED_TENANT_IDS: ` ${CONTOSO.toUpperCase()} ` };
    const result = await contactSignsIn(clock, upper, { tid: CONTOSO });
    expect(result.response.status).toBe(303);
    expect(result.signedIn).toBe(true);
    // The issuer check still uses the token's own tid, so a token claiming another tenant's issuer fails.
    const forged = await contactSignsIn(clock, upper, { tid: CONTOSO, iss: `https://login.test/${CONTOSO.toUpperCase()}/v2.0` });
    expect(forged.response.status).toBe(403);
  });

  it("resolves a tenant given as a domain through its discovery document", async () => {
    const clock = fakeClock();
    const result = await contactSignsIn(clock, { ENTRA_ALLOWED_TENANT_IDS: "Contoso.onmicrosoft.com" }, { tid: CONTOSO });
    expect(result.response.status).toBe(303);
    const other = await contactSignsIn(clock, { ENTRA_ALLOWED_TENANT_IDS: "contoso.onmicrosoft.com" }, { tid: "tenant-a" });
    expect(other.response.status).toBe(403);
    expect(cellText(other.body)).toContain("Your organisation is not allowed to sign in here.");
  });

  it("stops single sign-on with a message naming the setting when a domain does not resolve", () =>
    quiet("error", async (errors) => {
      for (const [overrides, setting] of [
        [{ ENTRA_ALLOWED_TENANT_IDS: "tenant-a,nobody.onmicrosoft.com" }, "ENTRA_ALLOWED_TENANT_IDS"],
        [{ ENTRA_TENANT_ID: "nobody.onmicrosoft.com", ENTRA_ALLOWED_TENANT_IDS: "" }, "ENTRA_TENANT_ID"],
      ] as const) {
        const start = await browser({ env: overrides }).get("/support/sso/start");
        expect(start.status).toBe(503);
        const page = await start.text();
        expect(page).toContain(
          `${setting} names the tenant &quot;nobody.onmicrosoft.com&quot;, which Microsoft did not resolve to a tenant id.`,
        );
      }
      expect(errors).toHaveBeenCalled();
    }));
});

describe("Microsoft's signing keys", () => {
  it("accepts tokens signed with a new key after two rotations in quick succession, fetching once per rotation", async () => {
    const clock = fakeClock(Date.UTC(2026, 10, 24, 9));
    expect((await contactSignsIn(clock, {}, {})).signedIn).toBe(true);
    for (let rotation = 0; rotation < 2; rotation++) {
      await provider.rotate();
      clock.advance(5_000);
      const before = provider.jwksFetches();
      const result = await contactSignsIn(clock, {}, {});
      expect(result.response.status).toBe(303);
      expect(result.signedIn).toBe(true);
      expect(provider.jwksFetches() - before).toBe(1);
    }
  });

  it("refetches for a stream of made-up key ids only within its budget, and a real rotation still works a minute later", () =>
    quiet("warn", async () => {
      const clock = fakeClock(Date.UTC(2026, 10, 25, 9));
      expect((await contactSignsIn(clock, {}, {})).signedIn).toBe(true);
      const before = provider.jwksFetches();
      // One after another, as a stream of forged callbacks would come (concurrent ones share a fetch anyway).
      const burst = [];
      for (let i = 0; i < 10; i++) {
        const contact = await makeContact();
        burst.push(
          await signInThrough(provider, browser({ clock }), "support", clock.now(), (nonce) =>
            provider.sign(provider.claims(nonce, clock.now(), { oid: `oid-${contact.id}` }), undefined, `made-up-${i}`),
          ),
        );
        clock.advance(1_000);
      }
      for (const { response, body } of burst) {
        expect(response.status).toBe(403);
        expect(cellText(body)).toContain("Microsoft's answer could not be verified.");
      }
      expect(provider.jwksFetches() - before).toBeGreaterThan(0);
      // The budget is 3 a minute: ten forged key ids cost at most three fetches.
      expect(JWKS_REFETCH_BUDGET).toBe(3);
      expect(provider.jwksFetches() - before).toBeLessThanOrEqual(3);

      clock.advance(60_000);
      await provider.rotate();
      expect((await contactSignsIn(clock, {}, {})).signedIn).toBe(true);
    }));
});

describe("Entra's errors", () => {
  const cases = [
    ["access_denied", "AADSTS50105: The signed in user 'x' is not assigned to a role for the application.", "not assigned to EdgeDesk"],
    [
      "consent_required",
      "AADSTS65001: The user or administrator has not consented to use the application.",
      "has not given EdgeDesk permission",
    ],
    ["access_denied", "AADSTS65004: User declined to consent to access the app.", "You declined the permissions"],
    [
      "interaction_required",
      "AADSTS50076: Due to a configuration change made by your administrator, you must use multi-factor authentication.",
      "Microsoft needs you to finish signing in there",
    ],
    ["access_denied", "The user cancelled.", "the sign-in was cancelled or refused"],
    ["server_error", "AADSTS90033: A transient error has occurred.", "Try again in a moment"],
  ] as const;

  it.each(cases)("%s (%s) is explained, offered again, and logged with its description", (error, description, message) =>
    quiet("warn", async (warn) => {
      const client = browser();
      const start = await client.get("/support/sso/start");
      await start.text();
      const state = new URL(start.headers.get("Location")!).searchParams.get("state")!;
      const response = await client.get(`/support/sso/callback?${new URLSearchParams({ error, error_description: description, state })}`);
      expect(response.status).toBe(400);
      const page = await response.text();
      expect(cellText(page)).toContain(message);
      expect(links(page)).toContainEqual({ text: "Sign in with Microsoft", href: "/support/sso/start" });
      expect(warn).toHaveBeenCalledWith(`SSO: Microsoft answered ${error}: ${description}`);
      const code = /AADSTS\d+/.exec(description)?.[0];
      const events = await db().select().from(auditEvents).where(eq(auditEvents.event, "sign_in.failed"));
      expect(events.map((e) => (e.details as { reason?: string }).reason)).toContain(code ? `${error} (${code})` : error);
    }),
  );
});
