// Reading a page as a person does: the markup is parsed by a real HTML parser (linkedom's, on
// htmlparser2), so what a test reads is what a browser would build, entities decoded and
// attributes in any order, never a regular expression over raw markup.
import { DOMParser } from "linkedom";

type Node = { nodeType: number; textContent: string | null; childNodes: ArrayLike<Node> };
type Element = Node & {
  tagName: string;
  getAttribute(name: string): string | null;
  hasAttribute(name: string): boolean;
  querySelector(selector: string): Element | null;
  querySelectorAll(selector: string): ArrayLike<Element>;
  closest(selector: string): Element | null;
  cloneNode(deep: true): Element;
  remove(): void;
  ownerDocument: { querySelectorAll(selector: string): ArrayLike<Element> };
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

const INLINE = new Set(
  "a abbr b bdi bdo cite code data del dfn em i ins kbd mark q s samp small span strong sub sup time u var".split(" "),
);
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
    return ["hidden", "checkbox", "radio"].includes(type) ? "" : ` ${element.getAttribute("value") ?? ""} `;
  }
  // An image reads as its text alternative, as a screen reader says it.
  if (tag === "img") return ` ${element.getAttribute("alt") ?? ""} `;
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
  // linkedom builds no <body> for a document that leaves it out, as a browser would: say so, never read it wrong.
  const body = parsePage(html).querySelector("body");
  if (!body) throw new Error("a page without <body>");
  return squash(visibleText(body));
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
  // The column headings are the head's (a row's own heading in the body heads no column).
  const heads = table ? Array.from(table.querySelectorAll(table.querySelector("thead") ? "thead th" : "th")) : [];
  return heads.map((th) => squash(visibleText(th)).replace(/\s*[▲▼]$/, ""));
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

/** The first element matching `selector`, as a browser builds it; null when there is none. */
export function find(html: string, selector: string): Element | null {
  return parsePage(html).querySelector(selector);
}

/** Every element matching `selector`, in the order a person meets them on the page. */
export function findAll(html: string, selector: string): Element[] {
  return Array.from(parsePage(html).querySelectorAll(selector));
}

/** What a person reads in an element already found: tags dropped, entities decoded, a dropdown's chosen option. */
export function textIn(element: Element): string {
  return squash(visibleText(element));
}

/** An attribute value as a CSS selector's string, so an id or a label with quotes still finds its element. */
const quoted = (value: string) => `"${value.replace(/["\\]/g, "\\$&")}"`;

const CONTROLS = "input, select, textarea, button";
const LABELABLE = new Set(["button", "input", "meter", "output", "progress", "select", "textarea"]);

/** A label's words as a person reads them, without the value of a control it wraps. */
function labelWords(label: Element): string {
  const words = label.cloneNode(true);
  for (const control of Array.from(words.querySelectorAll(CONTROLS))) control.remove();
  return squash(visibleText(words));
}

/** The control a label names (its `for`, or the control it wraps), found by the label's words; null when none reads so. */
export function labelled(html: string, labelText: string): Element | null {
  const page = parsePage(html);
  const label = Array.from(page.querySelectorAll("label")).find((l) => labelWords(l) === labelText);
  if (!label) return null;
  const target = label.getAttribute("for");
  const control = target === null ? label.querySelector(CONTROLS) : page.querySelector(`[id=${quoted(target)}]`);
  if (!control || !LABELABLE.has(control.tagName.toLowerCase())) return null;
  return control.tagName.toLowerCase() === "input" && control.getAttribute("type")?.toLowerCase() === "hidden" ? null : control;
}

/** A button's name: its aria-label when it has one (what a screen reader says), else the words on it. */
const buttonName = (b: Element) =>
  squash(b.getAttribute("aria-label") ?? (b.tagName.toLowerCase() === "input" ? (b.getAttribute("value") ?? "") : visibleText(b)));

/** The button a person presses, found by its name (its words, or the aria-label a screen reader says); null when none. */
export function button(html: string, name: string): Element | null {
  return findAll(html, "button, input[type=submit], input[type=button], input[type=reset]").find((b) => buttonName(b) === name) ?? null;
}

/** A dropdown's options as a person meets them: the words, the value it sends, whether it is the chosen one, whether it can be chosen. */
export function optionsOf(select: Element): { value: string; text: string; selected: boolean; disabled: boolean }[] {
  return Array.from(select.querySelectorAll("option")).map((option) => ({
    value: option.getAttribute("value") ?? squash(option.textContent ?? ""),
    text: squash(option.textContent ?? ""),
    selected: option.hasAttribute("selected"),
    disabled: option.hasAttribute("disabled") || option.closest("optgroup[disabled]") !== null,
  }));
}

/** The items of the list `selector` finds, each as a person reads it, in order; a page without that list fails loudly. */
export function listItems(html: string, selector: string): string[] {
  const list = parsePage(html).querySelector(selector);
  if (!list) throw new Error(`no list ${selector}`);
  return Array.from(list.querySelectorAll(":scope > li")).map((li) => squash(visibleText(li)));
}

/** Each term of the description lists `selector` finds, with the definition a person reads beside it, in page order. */
export function definitions(html: string, selector = "dl"): [string, string][] {
  const pairs: [string, string][] = [];
  for (const list of Array.from(parsePage(html).querySelectorAll(selector))) {
    let term = "";
    for (const item of Array.from(list.querySelectorAll("dt, dd"))) {
      if (item.tagName.toLowerCase() === "dt") term = squash(visibleText(item));
      else pairs.push([term, squash(visibleText(item))]);
    }
  }
  return pairs;
}

/** Every form on the page: where it sends (its action and method) and the names of the buttons in it that send it. */
export function forms(html: string): { action: string; method: string; buttons: string[] }[] {
  return findAll(html, "form").map((form) => ({
    action: form.getAttribute("action") ?? "",
    method: (form.getAttribute("method") ?? "get").toLowerCase(),
    buttons: Array.from(form.querySelectorAll("button:not([type=button]):not([type=reset]), input[type=submit]")).map(buttonName),
  }));
}

/** What a browser sends for the form as it stands, no button pressed: each enabled named control of it (form= too), in order. */
export function formFields(form: Element): [string, string][] {
  const id = form.getAttribute("id");
  const owned = Array.from(form.ownerDocument.querySelectorAll("input, select, textarea")).filter((control) =>
    control.hasAttribute("form") ? id !== null && control.getAttribute("form") === id : control.closest("form") === form,
  );
  // Each sent pair, and whether a radio button sent it (a later checked one in its group replaces it).
  const fields: [string, string, boolean?][] = [];
  for (const control of owned) {
    const name = control.getAttribute("name");
    if (!name || control.hasAttribute("disabled") || control.closest("fieldset[disabled]")) continue;
    const tag = control.tagName.toLowerCase();
    if (tag === "select") {
      // A browser's choice: the options marked (the last, for a single choice), else the first it may choose; a disabled one is not sent.
      const options = optionsOf(control);
      const marked = options.filter((o) => o.selected);
      const multiple = control.hasAttribute("multiple");
      const chosen = multiple ? marked : marked.length ? marked.slice(-1) : options.filter((o) => !o.disabled).slice(0, 1);
      for (const o of chosen) if (!o.disabled) fields.push([name, o.value]);
    } else if (tag === "textarea") {
      // The parser drops a newline right after <textarea>; the rest is the text, its entities decoded.
      fields.push([name, decoded(control.textContent ?? "").replace(/^\n/, "")]);
    } else {
      const type = (control.getAttribute("type") ?? "text").toLowerCase();
      if (["submit", "image", "button", "reset", "file"].includes(type)) continue;
      if ((type === "checkbox" || type === "radio") && !control.hasAttribute("checked")) continue;
      // Of a group of radio buttons marked checked, a browser keeps the last one.
      if (type === "radio") {
        const earlier = fields.findIndex(([n, , radio]) => n === name && radio);
        if (earlier >= 0) fields.splice(earlier, 1);
      }
      fields.push([name, control.getAttribute("value") ?? (type === "checkbox" || type === "radio" ? "on" : ""), type === "radio"]);
    }
  }
  return fields.map(([name, value]) => [name, value]);
}
