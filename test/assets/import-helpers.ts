// The import's two steps as a browser takes them: the dry run, then its Apply form posted with
// every field the page put in it (the file, and whatever the page says about when it was checked).
import Papa from "papaparse";
import type { Browser } from "../helpers/app";

export const csvOf = (rows: (string | null)[][]) => Papa.unparse(rows, { newline: "\r\n" });

export async function dryRun(client: Browser, csv: string, path = "/agent/assets") {
  const form = new FormData();
  form.set("file", new File([csv], "assets.csv", { type: "text/csv" }));
  const response = await client.request(`${path}/import`, { method: "POST", body: form });
  return { status: response.status, html: await response.text() };
}

const decoded = (text: string) =>
  text.replaceAll("&quot;", '"').replaceAll("&#39;", "'").replaceAll("&lt;", "<").replaceAll("&gt;", ">").replaceAll("&amp;", "&");

/** The fields of the dry run's Apply form, as a browser would send them. */
export function applyFields(html: string): Record<string, string> {
  const form = /<form[^>]*action="[^"]*\/import\/apply"[^>]*>([\s\S]*?)<\/form>/.exec(html);
  if (!form) throw new Error("the page has no Apply form");
  const fields: Record<string, string> = {};
  for (const m of form[1]!.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)"/g)) fields[m[1]!] = decoded(m[2]!);
  fields.csv = decoded(/<textarea name="csv"[^>]*>([\s\S]*?)<\/textarea>/.exec(form[1]!)![1]!);
  return fields;
}

/** Posts the Apply form, with `change` replacing (or, when undefined, leaving out) some of its fields. */
export async function apply(client: Browser, html: string, path = "/agent/assets", change: Record<string, string | undefined> = {}) {
  const form = new FormData();
  for (const [name, value] of Object.entries({ ...applyFields(html), ...change })) if (value !== undefined) form.set(name, value);
  const response = await client.request(`${path}/import/apply`, { method: "POST", body: form });
  return { status: response.status, html: await response.text() };
}
