// "Don't ask again on this device".
import { describe, expect, it } from "vitest";
import { DAY } from "../../src/lib/clock";
import { browser, type Browser, type FakeClock, fakeClock } from "../helpers/app";
import { signIn } from "../helpers/auth";
import { makeAdmin, makeAgent } from "../helpers/factories";
import { enrollThroughPages, postPassword, setMfa, totpCode } from "../helpers/mfa";
import { forms, labelled, tableRows } from "../helpers/html";

const DEVICE_COOKIE = "__Host-edgedesk_agent_device";

/** An enrolled agent and a browser that ticked "Don't ask again on this device". */
async function rememberedAgent(clock: FakeClock) {
  await setMfa("agent", { authenticatorApp: true, emailOtp: false, rememberDays: 30 });
  const agent = await makeAgent();
  const { manualKey } = await enrollThroughPages(browser({ clock }), "agent", agent, clock);
  const device = browser({ clock });
  await postPassword(device, "agent", agent);
  const page = await (await device.get("/agent/login/verify")).text();
  const remember = labelled(page, "Don't ask again on this device for 30 days");
  expect([remember?.getAttribute("type"), remember?.getAttribute("name")]).toEqual(["checkbox", "remember"]);
  clock.advance(30_000);
  const verified = await device.post("/agent/login/verify/app", { code: totpCode(manualKey, clock.now()), remember: "on" });
  await verified.text();
  expect(verified.headers.get("Location")).toBe("/agent");
  expect(device.cookie(DEVICE_COOKIE)).toMatch(new RegExp(`^${agent.id}\\.`));
  await (await device.post("/agent/logout")).text();
  return { agent, manualKey, device };
}

async function landing(client: Browser, user: { email: string; password: string }) {
  return (await postPassword(client, "agent", user)).headers.get("Location");
}

describe("remembered devices", () => {
  it("skip the second step on that device only, are listed on My account, and can be forgotten", async () => {
    const clock = fakeClock();
    const { agent, device } = await rememberedAgent(clock);
    expect(await landing(device, agent)).toBe("/agent");
    expect(await landing(browser({ clock }), agent)).toBe("/agent/login/verify");

    // Another person signing in on this browser is asked for their code as usual.
    const colleague = await makeAgent();
    await enrollThroughPages(browser({ clock }), "agent", colleague, clock);
    const shared = browser({ clock });
    shared.cookies.set(DEVICE_COOKIE, device.cookie(DEVICE_COOKIE)!);
    expect(await landing(shared, colleague)).toBe("/agent/login/verify");

    const account = await (await device.get("/agent/account")).text();
    const forget = forms(account).find((form) => form.buttons.some((name) => name.startsWith("Forget Chrome on Linux")));
    const id = /^\/agent\/account\/devices\/(dev_[a-z2-7]{16})\/forget$/.exec(forget?.action ?? "")?.[1];
    expect(tableRows(account, "remembered-devices").map((row) => row.Device)).toContain("Chrome on Linux");
    const forgot = await device.post(`/agent/account/devices/${id}/forget`);
    await forgot.text();
    expect(forgot.headers.get("Location")).toBe("/agent/account?done=device");
    await (await device.post("/agent/logout")).text();
    expect(await landing(device, agent)).toBe("/agent/login/verify");
  });

  it("expire after the days the admin set", async () => {
    const clock = fakeClock();
    const { agent, device } = await rememberedAgent(clock);
    clock.advance(29 * DAY);
    expect(await landing(device, agent)).toBe("/agent");
    await (await device.post("/agent/logout")).text();
    clock.advance(2 * DAY);
    expect(await landing(device, agent)).toBe("/agent/login/verify");
  });

  it("are all forgotten by an MFA reset, a password change and Immediately, and ignored when turned off", async () => {
    const clock = fakeClock();
    // MFA reset: the person sets the app up again, device or not.
    const reset = await rememberedAgent(clock);
    await setMfa("agent", { authenticatorApp: false, rememberDays: 30 });
    const admin = await makeAdmin();
    const adminClient = browser({ clock });
    await signIn(adminClient, "agent", admin);
    await (await adminClient.post(`/agent/admin/people/${reset.agent.id}/reset-mfa`)).text();
    await setMfa("agent", { authenticatorApp: true, rememberDays: 30 });
    expect(await landing(reset.device, reset.agent)).toBe("/agent/login/enroll");

    // A password change (by the person, from another browser).
    const changed = await rememberedAgent(clock);
    const other = browser({ clock });
    await postPassword(other, "agent", changed.agent);
    clock.advance(30_000);
    await (await other.post("/agent/login/verify/app", { code: totpCode(changed.manualKey, clock.now()) })).text();
    clock.advance(30_000);
    const next = "a brand new long passphrase";
    const r = await other.post("/agent/account/password", {
      current: changed.agent.password,
      code: totpCode(changed.manualKey, clock.now()),
      password: next,
      confirm: next,
    });
    await r.text();
    expect(r.headers.get("Location")).toBe("/agent/account?done=password");
    expect(await landing(changed.device, { email: changed.agent.email, password: next })).toBe("/agent/login/verify");

    // "Immediately": the portal's generation moves on, and devices from before it no longer count.
    const immediate = await rememberedAgent(clock);
    await setMfa("agent", { authenticatorApp: true, rememberDays: 30 }, true);
    expect(await landing(immediate.device, immediate.agent)).toBe("/agent/login/verify");

    // Turned off: a remembered device counts for nothing, and the box is gone.
    const off = await rememberedAgent(clock);
    await setMfa("agent", { authenticatorApp: true, rememberDays: 0 });
    expect(await landing(off.device, off.agent)).toBe("/agent/login/verify");
    expect(await (await off.device.get("/agent/login/verify")).text()).not.toContain("ask again on this device");
  });
});
