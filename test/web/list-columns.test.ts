// Testing what is shown: every list page's values are read under their column
// headings (as a person reads the table), not found somewhere on the page. The Agents page has
// its own in test/db/column-names.test.ts; passkeys and devices in test/admin.
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { requestRecoveryCodes } from "../../src/factors/recovery-requests";
import { browser, type Browser, fakeClock } from "../helpers/app";
import { signIn } from "../helpers/auth";
import { db, makeAdmin, makeContact } from "../helpers/factories";
import { tableRows } from "../helpers/html";
import { makeGroup, makeLocation, seedAssets } from "../helpers/inventory";
import { setMfa } from "../helpers/mfa";
import { makeRole } from "../helpers/roles";

const clock = fakeClock();
let admin: Awaited<ReturnType<typeof makeAdmin>>;
let client: Browser;
const page = async (path: string, c: Browser = client) => (await c.get(path)).text();

beforeAll(async () => {
  await setMfa("agent", { authenticatorApp: false, emailOtp: false });
  await setMfa("support", { authenticatorApp: false, emailOtp: false });
  admin = await makeAdmin({ name: "Ada Admin" });
  client = browser({ clock, userAgent: "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_0) Firefox/140.0" });
  await signIn(client, "agent", admin);
});

describe("list pages show each value under its heading", () => {
  it("Contacts and Roles", async () => {
    const contact = await makeContact({ name: "Cora Contact" });
    expect(tableRows(await page("/agent/admin/contacts")).find((r) => r.Email === contact.email)).toEqual({
      Name: "Cora Contact",
      Email: contact.email,
      Status: "Active",
    });
    const role = await makeRole(["viewAssets", "manageAssets"]);
    const roles = tableRows(await page("/agent/admin/roles"));
    expect(roles.find((r) => r.Role === `Role ${role}`)).toMatchObject({ Permissions: "View Assets; Manage Assets", Agents: "0" });
    expect(roles.find((r) => r.Role?.startsWith("Administrator"))).toMatchObject({ Agents: expect.stringMatching(/^[1-9]\d*$/) });
  });

  it("Assets and Software, dropdowns included", async () => {
    const location = await makeLocation("Lisbon");
    const group = await makeGroup([admin.id], "Desk Lisbon");
    await seedAssets(1, {
      prefix: "Columnar Laptop",
      impact: "high",
      status: "in_use",
      type: "laptop",
      location_id: location,
      group_id: group,
      agent_id: admin.id,
    });
    const [asset] = tableRows(await page("/agent/assets?q=Columnar"));
    expect(asset).toMatchObject({
      Name: "Columnar Laptop 00001",
      Type: "Laptop",
      Status: "In use",
      Impact: "High",
      Location: "Lisbon",
      "Managed By Group": "Desk Lisbon",
      "Managed By Agent": "Ada Admin",
    });
    await env.DB.prepare(
      "INSERT INTO software (id, name, publisher, software_version, status, impact, row_version, created_at, updated_at) VALUES ('sw_columns001', " +
        "'Columnar Suite', 'Acme', '2.4.1', 'active', 'medium', 1, 0, 0)",
    ).run();
    const [software] = tableRows(await page("/agent/software?q=Columnar"));
    expect(software).toMatchObject({ Name: "Columnar Suite", Publisher: "Acme", Version: "2.4.1", Status: "Active", Impact: "Medium" });
  });

  it("Locations, Recovery code requests and the audit log", async () => {
    await makeLocation("Porto");
    expect(tableRows(await page("/agent/admin/locations")).find((r) => r.Name?.startsWith("Porto"))).toMatchObject({
      "In use by": expect.stringMatching(/^0\b/),
    });
    const asker = await makeContact({ name: "Rita Requester" });
    await requestRecoveryCodes(db(), asker.id, Date.UTC(2026, 10, 20, 8, 30));
    expect(tableRows(await page("/agent/admin/recovery-requests")).find((r) => r.Who?.startsWith("Rita"))).toMatchObject({
      Who: `Rita Requester (${asker.email}, contact)`,
      Asked: "2026-11-20 08:30 UTC",
    });
    const audit = tableRows(await page(`/agent/settings/security/audit?user=${encodeURIComponent(admin.email)}`));
    expect(audit.find((r) => r.Event === "Signed in")).toMatchObject({
      Actor: admin.email,
      Target: admin.email,
      Device: "Firefox on macOS",
    });
  });

  it("My account's sessions and the support portal's My assets", async () => {
    const sessions = tableRows(await page("/agent/account"));
    expect(sessions[0]).toMatchObject({ Device: "Firefox on macOS This device", "IP address": expect.stringMatching(/^198\.18\./) });
    const contact = await makeContact();
    await seedAssets(1, { prefix: "Borrowed Monitor", type: "monitor", status: "in_use" });
    await env.DB.prepare("UPDATE assets SET used_by_id = ? WHERE name = 'Borrowed Monitor 00001'").bind(contact.id).run();
    const support = browser({ clock });
    await signIn(support, "support", contact);
    const [mine] = tableRows(await page("/support/assets", support));
    expect(mine).toMatchObject({ Name: "Borrowed Monitor 00001", Type: "Monitor", Status: "In use" });
  });
});
