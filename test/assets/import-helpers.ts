// The import's two steps as a browser takes them: the dry run, then its Apply form posted with
// every field the page put in it (the file, and whatever the page says about when it was checked).
import Papa from "papaparse";
import type { Browser } from "../helpers/app";
import { findAll, formFields } from "../helpers/html";

export const csvOf = (rows: (string | null)[][]) => Papa.unparse(rows, { newline: "\r\n" });

export async function dryRun(client: Browser, csv: string, path = "/agent/assets") {
  const form = new FormData();
  form.set("file", new File([csv], "assets.csv", { type: "text/csv" }));
  const response = await client.request(`${path}/import`, { method: "POST", body: form });
  return { status: response.status, html: await response.text() };
}

/** The fields of the dry run's Apply form, as a browser would send them. */
export function applyFields(html: string): Record<string, string> {
  const form = findAll(html, "form").find((f) => /\/import\/apply$/.test(f.getAttribute("action") ?? ""));
  if (!form) throw new Error("the page has no Apply form");
  const fields = Object.fromEntries(formFields(form));
  if (fields.csv === undefined) throw new Error("the Apply form carries no file");
  return fields;
}

/** Posts the Apply form, with `change` replacing (or, when undefined, leaving out) some of its fields. */
export async function apply(client: Browser, html: string, path = "/agent/assets", change: Record<string, string | undefined> = {}) {
  const form = new FormData();
  for (const [name, value] of Object.entries({ ...applyFields(html), ...change })) if (value !== undefined) form.set(name, value);
  const response = await client.request(`${path}/import/apply`, { method: "POST", body: form });
  return { status: response.status, html: await response.text() };
}
