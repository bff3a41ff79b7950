// What follows each step of a password sign-in is decided by nextStage alone. Each row
// is a situation a person can be in; the routes' own tests walk the same paths through the pages.
import { env } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { nextStage, type PassedStep } from "../../src/sign-in/steps";
import { recoveryCodes, totpCredentials, users } from "../../src/db/schema";
import { DAY } from "../../src/lib/clock";
import { generateRecoveryCodes } from "../../src/factors/recovery-codes";
import { issueRequestedCodes, requestRecoveryCodes } from "../../src/factors/recovery-requests";
import { defaultPortalPolicy, type MfaPolicy, type PortalPolicy } from "../../src/portal/policy";
import { db, makeAgent } from "../helpers/factories";

const NOW = Date.UTC(2026, 10, 22, 9);
const password = (remembered = false): PassedStep => ({ passed: "password", rememberedDevice: async () => remembered });
const recovery: PassedStep = { passed: "second_factor", method: "recovery" };
const app: PassedStep = { passed: "second_factor", method: "app" };

interface Situation {
  mfa?: Partial<MfaPolicy>;
  enrolled?: boolean;
  passwordDaysOld?: number;
  expiryDays?: number;
  issuedCodes?: boolean;
  unusedCodes?: number;
}

async function personIn(situation: Situation): Promise<{ userId: string; policy: PortalPolicy }> {
  const agent = await makeAgent();
  const base = defaultPortalPolicy();
  const policy: PortalPolicy = {
    ...base,
    mfa: { ...base.mfa, ...situation.mfa },
    password: { ...base.password, expiryDays: situation.expiryDays ?? 0 },
  };
  await db()
    .update(users)
    .set({ passwordChangedAt: NOW - (situation.passwordDaysOld ?? 0) * DAY })
    .where(eq(users.id, agent.id));
  if (situation.enrolled)
    await db()
      .insert(totpCredentials)
      .values({ userId: agent.id, secretEncrypted: "unused-here", confirmedAt: NOW - DAY, createdAt: NOW - DAY });
  if (situation.unusedCodes !== undefined) {
    await generateRecoveryCodes(env, db(), agent.id, NOW);
    const all = await db().select({ id: recoveryCodes.id }).from(recoveryCodes).where(eq(recoveryCodes.userId, agent.id));
    for (const row of all.slice(situation.unusedCodes))
      await db().update(recoveryCodes).set({ usedAt: NOW }).where(eq(recoveryCodes.id, row.id));
  }
  if (situation.issuedCodes) {
    await requestRecoveryCodes(db(), agent.id, NOW);
    const [request] = await env.DB.prepare("SELECT id FROM recovery_code_requests WHERE user_id = ?").bind(agent.id).raw<[string]>();
    const record = { origin: { at: NOW, ip: null, userAgent: null }, build: async () => ({ entries: [], notices: [] }) };
    expect((await issueRequestedCodes(env, db(), request![0], "an-admin", NOW, record)).ok).toBe(true);
  }
  return { userId: agent.id, policy };
}

const cases: { name: string; situation: Situation; step: PassedStep; stage: string; location: string; secondStep?: string }[] = [
  { name: "no MFA: the portal", situation: {}, step: password(), stage: "full", location: "/agent/tickets", secondStep: "none" },
  {
    name: "no MFA, password past its expiry: change it first",
    situation: { expiryDays: 90, passwordDaysOld: 91 },
    step: password(),
    stage: "change_password",
    location: "/agent/login/change-password",
    secondStep: "none",
  },
  {
    name: "app required, not set up: enrollment",
    situation: { mfa: { authenticatorApp: true } },
    step: password(),
    stage: "enroll",
    location: "/agent/login/enroll",
    secondStep: "enroll",
  },
  {
    name: "app required, not set up, on a remembered device: still enrollment",
    situation: { mfa: { authenticatorApp: true, rememberDays: 30 } },
    step: password(true),
    stage: "enroll",
    location: "/agent/login/enroll",
    secondStep: "enroll",
  },
  {
    name: "app set up: the code",
    situation: { mfa: { authenticatorApp: true }, enrolled: true },
    step: password(),
    stage: "second_factor",
    location: "/agent/login/verify",
    secondStep: "app",
  },
  {
    name: "app set up, remembered device: the portal",
    situation: { mfa: { authenticatorApp: true, rememberDays: 30 }, enrolled: true },
    step: password(true),
    stage: "full",
    location: "/agent/tickets",
    secondStep: "none",
  },
  {
    name: "email codes: the code",
    situation: { mfa: { emailOtp: true } },
    step: password(),
    stage: "second_factor",
    location: "/agent/login/verify",
    secondStep: "email",
  },
  {
    name: "passkeys only, none registered: the portal",
    situation: { mfa: { passkeys: true } },
    step: password(),
    stage: "full",
    location: "/agent/tickets",
    secondStep: "none",
  },
  {
    name: "after the code: the portal",
    situation: { mfa: { authenticatorApp: true }, enrolled: true },
    step: app,
    stage: "full",
    location: "/agent",
  },
  {
    name: "after the code, password expired: change it",
    situation: { mfa: { authenticatorApp: true }, enrolled: true, expiryDays: 30, passwordDaysOld: 40 },
    step: app,
    stage: "change_password",
    location: "/agent/login/change-password",
  },
  {
    name: "after the code, codes an admin issued: shown first",
    situation: { mfa: { authenticatorApp: true }, enrolled: true, issuedCodes: true },
    step: app,
    stage: "recovery_codes",
    location: "/agent/login/recovery-codes",
  },
  {
    name: "a recovery code with 3 left: My account",
    situation: { mfa: { authenticatorApp: true }, enrolled: true, unusedCodes: 3 },
    step: recovery,
    stage: "full",
    location: "/agent/account?done=low_codes",
  },
  {
    name: "a recovery code with 4 left: the portal",
    situation: { mfa: { authenticatorApp: true }, enrolled: true, unusedCodes: 4 },
    step: recovery,
    stage: "full",
    location: "/agent",
  },
  {
    name: "the app just set up: the recovery codes",
    situation: { mfa: { authenticatorApp: true }, enrolled: true },
    step: { passed: "enrollment" },
    stage: "recovery_codes",
    location: "/agent/login/recovery-codes",
  },
  {
    name: "codes saved: the portal",
    situation: { mfa: { authenticatorApp: true }, enrolled: true },
    step: { passed: "recovery_codes_saved" },
    stage: "full",
    location: "/agent",
  },
  {
    name: "codes saved, password expired: change it",
    situation: { enrolled: true, expiryDays: 30, passwordDaysOld: 31 },
    step: { passed: "recovery_codes_saved" },
    stage: "change_password",
    location: "/agent/login/change-password",
  },
  {
    name: "set-up skipped in the grace period: the portal",
    situation: { mfa: { authenticatorApp: true } },
    step: { passed: "enrollment_skipped" },
    stage: "full",
    location: "/agent",
  },
];

describe("nextStage", () => {
  it.each(cases)("$name", async ({ situation, step, stage, location, secondStep }) => {
    const { userId, policy } = await personIn(situation);
    const next = step.passed === "password" ? "/agent/tickets" : undefined;
    const after = await nextStage(db(), "agent", userId, policy, NOW, step, next);
    expect({ stage: after.stage, location: after.location, secondStep: after.secondStep }).toEqual({ stage, location, secondStep });
  });

  it("asks about the remembered device only when a code would otherwise be asked", async () => {
    const asked: string[] = [];
    for (const mfa of [{}, { authenticatorApp: true }, { emailOtp: true }]) {
      const { userId, policy } = await personIn({ mfa });
      await nextStage(db(), "agent", userId, policy, NOW, {
        passed: "password",
        rememberedDevice: async () => {
          asked.push(JSON.stringify(mfa));
          return false;
        },
      });
    }
    expect(asked).toEqual([JSON.stringify({ emailOtp: true })]);
  });
});
