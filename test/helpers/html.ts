/** What a person reads in a cell: a dropdown's chosen option, a text box's value, the text; tags dropped, entities decoded. */
export function cellText(html: string): string {
  return html
    .replace(/<select[\s\S]*?<\/select>/g, (select) => />([^<]*)<\/option>/.exec(select.match(/<option[^>]*selected[^>]*>[^<]*<\/option>/)?.[0] ?? "")?.[1] ?? "")
    .replace(/<input(?![^>]*type="(?:hidden|checkbox)")[^>]*value="([^"]*)"[^>]*>/g, " $1 ")
    .replace(/<[^>]+>/g, " ")
    .replace(/&#(\d+);/g, (_, code: string) => String.fromCodePoint(Number(code)))
    .replace(/&quot;/g, '"')
    .replace(/&lt;/g, "<")
    .replace(/&gt;/g, ">")
    .replace(/&amp;/g, "&")
    .replace(/\s+/g, " ")
    .trim();
}

/**
 * The rows of a table (found by its data-testid, or the first table), each cell under its column
 * heading as a person reads it (a sort arrow dropped). Two headings with one name would make a
 * column unreadable here, so they fail loudly.
 */
export function tableRows(html: string, testId?: string): Record<string, string>[] {
  const table = (testId ? new RegExp(`<table[^>]*data-testid="${testId}"[^>]*>([\\s\\S]*?)</table>`) : /<table[^>]*>([\s\S]*?)<\/table>/).exec(html)?.[1] ?? "";
  const heads = [...table.matchAll(/<th[^>]*>([\s\S]*?)<\/th>/g)].map((m) => cellText(m[1]!).replace(/\s*[▲▼]$/, ""));
  const named = heads.filter(Boolean);
  if (new Set(named).size !== named.length) throw new Error(`Two columns share a heading: ${heads.join(" | ")}`);
  const body = /<tbody[^>]*>([\s\S]*?)<\/tbody>/.exec(table)?.[1] ?? "";
  return [...body.matchAll(/<tr[^>]*>([\s\S]*?)<\/tr>/g)].map((row) => {
    const cells = [...row[1]!.matchAll(/<td[^>]*>([\s\S]*?)<\/td>/g)].map((m) => cellText(m[1]!));
    return Object.fromEntries(heads.map((h, i) => [h, cells[i] ?? ""]));
  });
}
