// Reading a page as a person does: the markup is parsed by a real HTML parser (linkedom's, on
// htmlparser2), so what a test reads is what a browser would build, entities decoded and
// attributes in any order, never a regular expression over raw markup.
import { DOMParser } from "linkedom";

type Node = { nodeType: number; textContent: string | null; childNodes: ArrayLike<Node> };
type Element = Node & {
  tagName: string;
  getAttribute(name: string): string | null;
  querySelector(selector: string): Element | null;
  querySelectorAll(selector: string): ArrayLike<Element>;
  innerHTML: string;
  content?: Element;
};

/** The page (or a fragment of one) as a browser's parser builds it. */
export function parsePage(html: string): Element {
  const document = new DOMParser().parseFromString(
    /^\s*<(!doctype|html)/i.test(html) ? html : `<!doctype html><html><body>${html}</body></html>`,
    "text/html",
  );
  return document.documentElement as unknown as Element;
}

const INLINE = new Set("a abbr b bdi bdo cite code data dfn em i kbd mark q s samp small span strong sub sup time u var".split(" "));
const ELEMENT = 1;
const TEXT = 3;

/** What a person reads in an element: a dropdown's chosen option, a text box's value, the text. */
function visibleText(node: Node): string {
  if (node.nodeType === TEXT) return node.textContent ?? "";
  if (node.nodeType !== ELEMENT) return "";
  const element = node as Element;
  const tag = element.tagName.toLowerCase();
  if (tag === "select") {
    // A dropdown shows its selected option, or its first when none is marked, as a browser does.
    const chosen = element.querySelector("option[selected]") ?? element.querySelector("option");
    return chosen?.textContent ?? "";
  }
  if (tag === "input") {
    const type = (element.getAttribute("type") ?? "text").toLowerCase();
    return type === "hidden" || type === "checkbox" ? "" : ` ${element.getAttribute("value") ?? ""} `;
  }
  // A text area's text is raw to the parser here; a browser shows it with its entities decoded.
  if (tag === "textarea") return ` ${decoded(element.textContent ?? "")} `;
  if (tag === "template" || tag === "script" || tag === "style") return "";
  const inside = Array.from(element.childNodes).map(visibleText).join("");
  // Words in a line (a link, bold, a code) run on with the text around them; anything else is set apart.
  return INLINE.has(tag) ? inside : ` ${inside} `;
}

const squash = (text: string) => text.replace(/\s+/g, " ").trim();

function decoded(text: string): string {
  return parsePage(`<p>${text.replace(/</g, "&lt;")}</p>`).querySelector("p")?.textContent ?? text;
}

/** What a person reads in a piece of markup (a cell, a message): tags dropped, entities decoded. */
export function cellText(html: string): string {
  return squash(visibleText(parsePage(html).querySelector("body")!));
}

/**
 * What a person reads on the page a response carries (reading its body, as every test must):
 * an HTML page's text, tags dropped and entities decoded; any other body as it came.
 */
export async function shown(response: Response): Promise<string> {
  const body = await response.text();
  return /html/i.test(response.headers.get("Content-Type") ?? "") ? cellText(body) : body;
}

/** The text of the first element matching `selector`, as a person reads it; null when there is none. */
export function textOf(html: string, selector: string): string | null {
  const element = parsePage(html).querySelector(selector);
  return element ? squash(visibleText(element)) : null;
}

/** A table's column headings as a person reads them (a sort arrow dropped), in order. */
export function columnHeadings(html: string, testId?: string): string[] {
  const table = parsePage(html).querySelector(testId ? `table[data-testid="${testId}"]` : "table");
  return table ? Array.from(table.querySelectorAll("th")).map((th) => squash(visibleText(th)).replace(/\s*[▲▼]$/, "")) : [];
}

/** Every link on the page: the words a person clicks and where they go. */
export function links(html: string): { text: string; href: string }[] {
  return Array.from(parsePage(html).querySelectorAll("a[href]")).map((a) => ({
    text: squash(visibleText(a)),
    href: a.getAttribute("href") ?? "",
  }));
}

/**
 * The rows of a table (found by its data-testid, or the first table), each cell under its column
 * heading as a person reads it (a sort arrow dropped). Two headings with one name would make a
 * column unreadable here, so they fail loudly.
 */
export function tableRows(html: string, testId?: string): Record<string, string>[] {
  const table = parsePage(html).querySelector(testId ? `table[data-testid="${testId}"]` : "table");
  if (!table) return [];
  const heads = columnHeadings(html, testId);
  const named = heads.filter(Boolean);
  if (new Set(named).size !== named.length) throw new Error(`Two columns share a heading: ${heads.join(" | ")}`);
  return Array.from(table.querySelectorAll("tbody tr")).map((row) => {
    const cells = Array.from(row.querySelectorAll("td")).map((td) => squash(visibleText(td)));
    return Object.fromEntries(heads.map((h, i) => [h, cells[i] ?? ""]));
  });
}

/**
 * The options a dropdown offers, found by its accessible name: its own, or for a list row's lean
 * dropdown those of the <template> its data-choices names, as app.js fills it in.
 */
export function dropdownOptions(html: string, label: string): { value: string; text: string }[] {
  const page = parsePage(html);
  const select = page.querySelector(`select[aria-label="${label}"]`);
  if (!select) throw new Error(`no dropdown "${label}"`);
  const list = select.getAttribute("data-choices");
  const template = list ? page.querySelector(`template[id="choices-${list}"]`) : null;
  if (list && !template) throw new Error(`dropdown "${label}" names a list the page does not have`);
  const holder = template ? (template.content ?? template) : select;
  // An option without a value attribute submits its text, as a browser's does.
  return Array.from(holder.querySelectorAll("option")).map((option) => ({
    value: option.getAttribute("value") ?? squash(option.textContent ?? ""),
    text: squash(option.textContent ?? ""),
  }));
}

/**
 * Each field's error as a person (and a screen reader) meets it: for every control marked
 * aria-invalid, the text of the error its aria-describedby names, by the control's id (less
 * "field-"). A control marked invalid without a described error fails loudly.
 */
export function fieldErrors(html: string): Record<string, string> {
  const page = parsePage(html);
  const found: Record<string, string> = {};
  for (const control of Array.from(
    page.querySelectorAll('input[aria-invalid="true"], select[aria-invalid="true"], textarea[aria-invalid="true"]'),
  )) {
    const id = /^field-(.+)$/.exec(control.getAttribute("id") ?? "")?.[1];
    const errorId = (control.getAttribute("aria-describedby") ?? "").split(" ").find((ref) => ref.endsWith("-error"));
    const error = errorId ? page.querySelector(`[id="${errorId}"]`) : null;
    const text = error ? squash(visibleText(error)) : "";
    if (!id || !text) throw new Error(`a control is marked invalid without an error it is described by: ${control.getAttribute("name")}`);
    found[id] = text;
  }
  return found;
}
