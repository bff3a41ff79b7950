import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { portalStub } from "../../src/auth/sessions";
import { DAY, MINUTE } from "../../src/lib/clock";
import { browser } from "../helpers/app";
import { signIn } from "../helpers/auth";
import { makeAdmin, makeContact } from "../helpers/factories";
import { writePortalPolicy } from "../helpers/portal";
import { fieldErrors, labelled, shown } from "../helpers/html";

const ROOT = "/agent/settings/security/contacts";

describe("Password Requirements and Session Configuration tabs", () => {
  it("saves password rules, and every new-password form then lists and enforces them", async () => {
    const admin = await makeAdmin();
    const client = browser();
    await signIn(client, "agent", admin);
    const tab = await (await client.get(`${ROOT}/password`)).text();
    expect(tab).toContain("NIST SP 800-63B");
    const fields = { minLength: "12", requireUppercase: "on", requireDigit: "on", expiryDays: "365", reuseCount: "5" };
    const confirm = await (await client.post(`${ROOT}/password`, fields)).text();
    for (const line of [
      "Minimum length: 8 → 12",
      "Upper-case letter: not required → required",
      "Expiration period: never → 365 days",
      "Reuse restriction: last 0 → last 5",
    ]) {
      expect(confirm).toContain(line);
    }
    const apply = await client.post(`${ROOT}/password/apply`, { ...fields, apply: "next_login" });
    await apply.text();
    expect((await portalStub(env, "support").getPolicy()).password).toEqual({
      minLength: 12,
      requireUppercase: true,
      requireLowercase: false,
      requireDigit: true,
      requireSymbol: false,
      expiryDays: 365,
      reuseCount: 5,
    });

    const contact = await makeContact();
    const contactClient = browser();
    await signIn(contactClient, "support", contact);
    const account = await (await contactClient.get("/support/account")).text();
    for (const rule of ["At least 12 characters", "An upper-case letter", "A digit", "Not one of the most commonly used passwords"])
      expect(account).toContain(rule);
    const refused = await contactClient.post("/support/account/password", {
      current: contact.password,
      password: "all lower case words",
      confirm: "all lower case words",
    });
    expect(refused.status).toBe(400);
    expect(await shown(refused)).toContain("does not meet these rules: an upper-case letter; a digit.");
    await writePortalPolicy(
      "support",
      {
        password: {
          minLength: 8,
          requireUppercase: false,
          requireLowercase: false,
          requireDigit: false,
          requireSymbol: false,
          expiryDays: 0,
          reuseCount: 0,
        },
      },
      false,
    );
  });

  it("refuses out-of-range values with a message naming the field, changing nothing", async () => {
    const admin = await makeAdmin();
    const client = browser();
    await signIn(client, "agent", admin);
    const before = await portalStub(env, "support").getPolicy();
    const cases: [string, Record<string, string>, string][] = [
      ["password", { minLength: "7", expiryDays: "0", reuseCount: "0" }, "Minimum length must be a whole number from 8 to 128."],
      ["password", { minLength: "200", expiryDays: "0", reuseCount: "0" }, "from 8 to 128"],
      ["password", { minLength: "10", expiryDays: "-1", reuseCount: "0" }, "Expiration period must be a whole number"],
      ["password", { minLength: "10", expiryDays: "0", reuseCount: "25" }, "Reuse restriction must be a whole number from 0 to 24."],
      ["password", { minLength: "1e3", expiryDays: "0", reuseCount: "0" }, "Minimum length must be"],
      ["sessions", { idleMinutes: "10", absoluteHours: "24" }, "Inactivity timeout must be a whole number from 15 to 43200."],
      ["sessions", { idleMinutes: "600", absoluteHours: "5" }, "cannot be shorter than the inactivity timeout"],
      ["sessions", { idleMinutes: "60", absoluteHours: "9999" }, "Session lifetime must be a whole number from 1 to 2160."],
    ];
    for (const [tab, form, message] of cases) {
      const response = await client.post(`${ROOT}/${tab}/apply`, { ...form, apply: "immediately" });
      expect(response.status, JSON.stringify(form)).toBe(400);
      expect(await shown(response)).toContain(message);
    }
    expect(await portalStub(env, "support").getPolicy()).toEqual(before);
  });

  it("Save names every field's problem beside it and keeps the values it accepted", async () => {
    const admin = await makeAdmin();
    const client = browser();
    await signIn(client, "agent", admin);
    const response = await client.post(`${ROOT}/password`, { minLength: "7", requireDigit: "on", expiryDays: "30", reuseCount: "25" });
    expect(response.status).toBe(400);
    const html = await response.text();
    expect(fieldErrors(html)).toEqual({
      minLength: "Minimum length must be a whole number from 8 to 128.",
      reuseCount: "Reuse restriction must be a whole number from 0 to 24.",
    });
    const expiry = labelled(html, "Expiration period (days)");
    expect(expiry?.getAttribute("id")).toBe("field-expiryDays");
    expect(expiry?.getAttribute("value")).toBe("30");
    const digit = labelled(html, "At least one digit");
    expect(digit?.getAttribute("id")).toBe("field-requireDigit");
    expect(digit?.hasAttribute("checked")).toBe(true);
  });

  it("saves session timeouts in minutes and hours", async () => {
    const admin = await makeAdmin();
    const client = browser();
    await signIn(client, "agent", admin);
    const confirm = await (await client.post(`${ROOT}/sessions`, { idleMinutes: "30", absoluteHours: "48" })).text();
    expect(confirm).toContain("Inactivity timeout: 8 hours → 30 minutes");
    expect(confirm).toContain("Session lifetime: 7 days → 2 days");
    await (await client.post(`${ROOT}/sessions/apply`, { idleMinutes: "30", absoluteHours: "48", apply: "next_login" })).text();
    expect((await portalStub(env, "support").getPolicy()).session).toEqual({ idleTimeoutMs: 30 * MINUTE, absoluteLifetimeMs: 2 * DAY });
  });
});
