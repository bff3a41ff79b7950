// The asset workbench in Chromium: the bulk bar that appears with a selection and keeps it after a change,
// the reasons records were left alone, columns an agent chooses (kept after signing out), the CSV
// export read back with Papa Parse, and an import: dry run with an error, applied, undone.
import Papa from "papaparse";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, expect, test } from "vitest";
import { type Journey, readDownload, screenshot, shown, signInWithPassword, signOut, startJourney } from "./harness";

// AST-00010, -11 and -12 of the demo data: in stock, in repair and retired; in Remote, London HQ and New York.
const LIST = "/agent/assets?q=AST-0001&sort=tag";
const FIRST_THREE = ["AST-00010", "AST-00011", "AST-00012"];

let journey: Journey;
let page: Page;
beforeAll(async () => {
  journey = await startJourney();
  page = await journey.newPage();
  await signInWithPassword(page, "agent", "admin@edgedesk.test", journey.password);
});
afterAll(async () => {
  await journey?.stop();
});

const bulk = () => page.getByRole("form", { name: "Bulk change" });
const headings = async () =>
  (await page.locator("table.inventory-table thead th").allInnerTexts()).map((h) => h.replace(/\s*[▲▼]$/, "").trim());
const rowOfTag = (tag: string) => page.getByTestId("inventory-row").filter({ has: page.getByRole("cell", { name: tag, exact: true }) });

test("the bulk bar appears with a selection, shows only the chosen action's field, and keeps the rows selected after a change", async () => {
  await page.goto(LIST);
  await shown(page.getByText("Select rows to change them together"));
  expect(await bulk().isVisible()).toBe(false);

  for (const tag of FIRST_THREE) await rowOfTag(tag).getByRole("checkbox").check();
  await shown(bulk().getByText("3 selected", { exact: true }));
  expect(await bulk().getByLabel("Group", { exact: true }).isVisible()).toBe(true);
  expect(await bulk().getByLabel("Location", { exact: true }).isVisible()).toBe(false);
  await bulk().getByLabel("Action").selectOption({ label: "Update Location" });
  expect(await bulk().getByLabel("Group", { exact: true }).isVisible()).toBe(false);
  await bulk().getByLabel("Location", { exact: true }).selectOption({ label: "Berlin" });
  await screenshot(page, "asset-list-bulk-bar", { fullPage: false });
  await bulk().getByRole("button", { name: "Review change" }).click();

  expect(await page.getByTestId("bulk-summary").innerText()).toBe("Location will be set to Berlin on 2 of 3 assets.");
  expect(await page.getByTestId("bulk-unchanged").innerText()).toBe("1 will be left as it is: 1 is retired (read-only).");
  await page.getByRole("button", { name: "Change 2 records" }).click();
  expect(await page.getByTestId("bulk-result").innerText()).toBe("Changed 2 of 3 assets. 1 was left as it was: 1 is retired (read-only).");

  // Back to the list: the same three are selected, ready for the next change.
  await page.getByRole("link", { name: "Back to Assets, same rows selected" }).click();
  await shown(bulk().getByText("3 selected", { exact: true }));
  for (const tag of FIRST_THREE) expect(await rowOfTag(tag).getByRole("checkbox").isChecked()).toBe(true);
  await bulk().getByLabel("Action").selectOption({ label: "Update Location" });
  await bulk().getByLabel("Location", { exact: true }).selectOption({ label: "Berlin" });
  await bulk().getByRole("button", { name: "Review change" }).click();
  expect(await page.getByTestId("bulk-summary").innerText()).toBe("Location will be set to Berlin on 0 of 3 assets.");
  expect(await page.getByTestId("bulk-unchanged").innerText()).toBe(
    "3 will be left as they are: 2 already had that value, 1 is retired (read-only).",
  );
  expect(await page.getByRole("button", { name: /^Change/ }).count()).toBe(0);

  // Clear empties the selection and hides the bar.
  await page.goto(LIST);
  await rowOfTag("AST-00013").getByRole("checkbox").check();
  await bulk().getByRole("button", { name: "Clear" }).click();
  expect(await bulk().isVisible()).toBe(false);
  expect(await rowOfTag("AST-00013").getByRole("checkbox").isChecked()).toBe(false);
});

test("an agent chooses columns and their order, and finds them again after signing out", async () => {
  await page.goto(LIST);
  await page.getByRole("link", { name: "Columns" }).click();
  await page.getByLabel("Type", { exact: true }).uncheck();
  await page.getByLabel("Serial number", { exact: true }).check();
  await page.getByLabel("Position of Serial number").selectOption("1");
  await page.getByRole("button", { name: "Save columns" }).click();
  await page.waitForURL((url) => url.pathname === "/agent/assets" && url.searchParams.get("q") === "AST-0001");
  const chosen = [
    "",
    "Name",
    "Serial number",
    "Asset tag",
    "Status",
    "Impact",
    "Location",
    "Managed By Group",
    "Managed By Agent",
    "Save note",
  ];
  expect(await headings()).toEqual(chosen);

  await signOut(page);
  await signInWithPassword(page, "agent", "admin@edgedesk.test", journey.password);
  await page.goto(LIST);
  expect(await headings()).toEqual(chosen);
  // Values stay under their headings: AST-00010's serial number, in its column.
  const cells = await rowOfTag("AST-00010").locator("td").allInnerTexts();
  expect(cells[chosen.indexOf("Asset tag")]).toBe("AST-00010");
  expect(cells[chosen.indexOf("Serial number")]).toMatch(/^SN[0-9A-Z]+$/);
});

test("the export holds every match with the chosen columns, read back by Papa Parse", async () => {
  await page.goto(LIST);
  const [download] = await Promise.all([page.waitForEvent("download"), page.getByRole("link", { name: "Export CSV" }).click()]);
  expect(download.suggestedFilename()).toMatch(/^assets-\d{4}-\d{2}-\d{2}\.csv$/);
  const csv = Papa.parse<Record<string, string>>((await readDownload(download)).replace(/^\uFEFF/, ""), {
    header: true,
    skipEmptyLines: true,
  });
  expect(csv.errors).toEqual([]);
  expect(csv.meta.fields).toEqual([
    "Name",
    "Serial number",
    "Asset tag",
    "Status",
    "Impact",
    "Location",
    "Managed By Group",
    "Managed By Agent",
  ]);
  expect(csv.data.map((r) => r["Asset tag"])).toEqual(Array.from({ length: 10 }, (_, i) => `AST-000${10 + i}`));
  expect(csv.data.slice(0, 3).map((r) => [r.Status, r.Location])).toEqual([
    ["In stock", "Berlin"],
    ["In repair", "Berlin"],
    ["Retired", "New York"],
  ]);
});

test("an import is checked first (an error on its line), then applied whole, then undone", async () => {
  await page.goto("/agent/assets");
  await page.getByRole("link", { name: "Import CSV" }).click();
  await shown(page.getByText("At most 1,000 lines and 512 KB a file."));
  const file = (lines: string[][]) => ({ name: "assets.csv", mimeType: "text/csv", buffer: Buffer.from(Papa.unparse(lines)) });
  const header = ["Name", "Asset tag", "Type", "Location", "Impact"];
  await page
    .getByLabel("CSV file")
    .setInputFiles(
      file([
        header,
        ["Journey laptop", "JRN-00001", "Laptop", "Berlin", "Medium"],
        ["ThinkPad X1 00001", "AST-00001", "Laptop", "London HQ", "High"],
        ["Lost one", "JRN-00002", "Laptop", "Atlantis", "Low"],
      ]),
    );
  await page.getByRole("button", { name: "Check the file (dry run)" }).click();
  expect(await page.getByTestId("import-summary").innerText()).toBe("1 to create, 1 to update, 0 unchanged, 1 with errors.");
  const errorRow = page.getByTestId("import-rows").getByRole("row").filter({ hasText: "JRN-00002" });
  expect(await errorRow.locator("td").allInnerTexts()).toEqual([
    "4",
    "JRN-00002",
    "Error",
    'Location: No location is named "Atlantis" (imports never create one).',
  ]);
  expect(await page.getByRole("button", { name: /^Apply/ }).count()).toBe(0);
  await screenshot(page, "asset-import-dry-run");

  await page.getByRole("link", { name: "Import" }).click();
  await page
    .getByLabel("CSV file")
    .setInputFiles(
      file([
        header,
        ["Journey laptop", "JRN-00001", "Laptop", "Berlin", "Medium"],
        ["ThinkPad X1 00001", "AST-00001", "Laptop", "London HQ", "High"],
      ]),
    );
  await page.getByRole("button", { name: "Check the file (dry run)" }).click();
  expect(await page.getByTestId("import-summary").innerText()).toBe("1 to create, 1 to update, 0 unchanged, 0 with errors.");
  await page.getByRole("button", { name: "Apply: create 1, update 1" }).click();
  expect(await page.getByTestId("import-result").innerText()).toBe("Created 1 and updated 1 assets.");

  const listed = await journey.newPage();
  await signInWithPassword(listed, "agent", "admin@edgedesk.test", journey.password);
  await listed.goto("/agent/assets?q=JRN-00001");
  await shown(listed.getByRole("link", { name: "Journey laptop", exact: true }));
  await listed.close();

  await page.getByRole("button", { name: "Undo the import" }).click();
  expect(await page.getByTestId("undo-result").innerText()).toBe("Undone: 2 restored.");
  await page.goto("/agent/assets?q=JRN-00001");
  await shown(page.getByText("No assets match this filter."));
  await page.goto("/agent/assets?q=AST-00001&sort=tag");
  expect(await rowOfTag("AST-00001").getByLabel("Impact of ThinkPad X1 00001").locator("option:checked").innerText()).toBe("Low");
});
