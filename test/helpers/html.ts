/** The rows of a table (found by its data-testid, or the first table), each cell under its column heading's text. */
export function tableRows(html: string, testId?: string): Record<string, string>[] {
  const table = (testId ? new RegExp(`<table[^>]*data-testid="${testId}"[^>]*>([\\s\\S]*?)</table>`) : /<table[^>]*>([\s\S]*?)<\/table>/).exec(html)?.[1] ?? "";
  const text = (cell: string) => cell.replace(/<[^>]+>/g, " ").replace(/&#39;/g, "'").replace(/&quot;/g, '"').replace(/&amp;/g, "&").replace(/\s+/g, " ").trim();
  const heads = [...table.matchAll(/<th[^>]*>([\s\S]*?)<\/th>/g)].map((m) => text(m[1]!));
  const body = /<tbody>([\s\S]*?)<\/tbody>/.exec(table)?.[1] ?? "";
  return [...body.matchAll(/<tr[^>]*>([\s\S]*?)<\/tr>/g)].map((row) => {
    const cells = [...row[1]!.matchAll(/<td[^>]*>([\s\S]*?)<\/td>/g)].map((m) => text(m[1]!));
    return Object.fromEntries(heads.map((h, i) => [h, cells[i] ?? ""]));
  });
}
