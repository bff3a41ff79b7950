/** What a person reads in a cell: a dropdown's chosen option, a text box's value, the text; tags dropped, entities decoded. */
export function cellText(html: string): string {
  return (
    html
      // A dropdown shows its selected option, or its first when none is marked, as a browser does.
      .replace(
        /<select[\s\S]*?<\/select>/g,
        (select) =>
          />([^<]*)<\/option>/.exec(
            select.match(/<option[^>]*selected[^>]*>[^<]*<\/option>/)?.[0] ?? select.match(/<option[^>]*>[^<]*<\/option>/)?.[0] ?? "",
          )?.[1] ?? "",
      )
      .replace(/<input(?![^>]*type="(?:hidden|checkbox)")[^>]*value="([^"]*)"[^>]*>/g, " $1 ")
      .replace(/<[^>]+>/g, " ")
      .replace(/&#(\d+);/g, (_, code: string) => String.fromCodePoint(Number(code)))
      .replace(/&quot;/g, '"')
      .replace(/&lt;/g, "<")
      .replace(/&gt;/g, ">")
      .replace(/&amp;/g, "&")
      .replace(/\s+/g, " ")
      .trim()
  );
}

/**
 * The rows of a table (found by its data-testid, or the first table), each cell under its column
 * heading as a person reads it (a sort arrow dropped). Two headings with one name would make a
 * column unreadable here, so they fail loudly.
 */
export function tableRows(html: string, testId?: string): Record<string, string>[] {
  const table =
    (testId ? new RegExp(`<table[^>]*data-testid="${testId}"[^>]*>([\\s\\S]*?)</table>`) : /<table[^>]*>([\s\S]*?)<\/table>/).exec(
      html,
    )?.[1] ?? "";
  const heads = [...table.matchAll(/<th[^>]*>([\s\S]*?)<\/th>/g)].map((m) => cellText(m[1]!).replace(/\s*[▲▼]$/, ""));
  const named = heads.filter(Boolean);
  if (new Set(named).size !== named.length) throw new Error(`Two columns share a heading: ${heads.join(" | ")}`);
  const body = /<tbody[^>]*>([\s\S]*?)<\/tbody>/.exec(table)?.[1] ?? "";
  return [...body.matchAll(/<tr[^>]*>([\s\S]*?)<\/tr>/g)].map((row) => {
    const cells = [...row[1]!.matchAll(/<td[^>]*>([\s\S]*?)<\/td>/g)].map((m) => cellText(m[1]!));
    return Object.fromEntries(heads.map((h, i) => [h, cells[i] ?? ""]));
  });
}

/**
 * The options a dropdown offers, found by its accessible name: its own, or for a list row's lean
 * dropdown those of the <template> its data-choices names, as app.js fills it in.
 */
export function dropdownOptions(html: string, label: string): { value: string; text: string }[] {
  const select = new RegExp(`<select[^>]*aria-label="${label}"[^>]*>([\\s\\S]*?)</select>`).exec(html);
  if (!select) throw new Error(`no dropdown "${label}"`);
  const list = /data-choices="([^"]+)"/.exec(select[0]);
  const options = list ? new RegExp(`<template id="choices-${list[1]}">([\\s\\S]*?)</template>`).exec(html)?.[1] : select[1];
  if (options === undefined) throw new Error(`dropdown "${label}" names a list the page does not have`);
  return [...options.matchAll(/<option value="([^"]*)"[^>]*>([^<]*)<\/option>/g)].map((m) => ({
    value: cellText(m[1]!),
    text: cellText(m[2]!),
  }));
}

/**
 * Each field's error as a person (and a screen reader) meets it: for every control marked
 * aria-invalid, the text of the error its aria-describedby names, by the control's id (less
 * "field-"). A control marked invalid without a described error fails loudly.
 */
export function fieldErrors(html: string): Record<string, string> {
  const found: Record<string, string> = {};
  for (const m of html.matchAll(/<(?:input|select|textarea)[^>]*\baria-invalid="true"[^>]*>/g)) {
    const id = /\bid="field-([^"]+)"/.exec(m[0])?.[1];
    const errorId = /aria-describedby="([^"]+)"/
      .exec(m[0])?.[1]
      ?.split(" ")
      .find((ref) => ref.endsWith("-error"));
    const text = errorId && new RegExp(`<p[^>]*id="${errorId}"[^>]*>([\\s\\S]*?)</p>`).exec(html)?.[1];
    if (!id || !text) throw new Error(`a control is marked invalid without an error it is described by: ${m[0]}`);
    found[id] = cellText(text);
  }
  return found;
}
