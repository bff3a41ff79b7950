// The tests read pages through a real HTML parser (test/helpers/html.ts): what they assert is what
// a browser builds from the markup, whatever the attributes' order, quoting or entities.
import { describe, expect, it } from "vitest";
import {
  button,
  cellText,
  columnHeadings,
  definitions,
  dropdownOptions,
  fieldErrors,
  find,
  findAll,
  formFields,
  forms,
  labelled,
  links,
  listItems,
  optionsOf,
  shown,
  tableRows,
  textIn,
  textOf,
} from "../helpers/html";

describe("reading a page as a person does", () => {
  it("reads a cell's text: entities decoded, a dropdown's chosen option, a text box's value, no hidden input", () => {
    expect(
      cellText(
        `<td>Tom &amp; Jerry&#39;s <select name=x><option>first</option><option value="2" selected>Chosen</option></select>` +
          `<input type=hidden value=secret><input value='typed'> <template><b>not shown</b></template></td>`,
      ),
    ).toBe("Tom & Jerry's Chosen typed");
    expect(cellText(`<select><option value="a">First shown</option><option>Second</option></select>`)).toBe("First shown");
  });

  it("runs words in a line on, as a browser's innerText does, and sets blocks apart", async () => {
    expect(cellText(`<p><strong>Version</strong>: 1 → 2, e<del>f</del>g <a href=/x>link</a>.</p><p>Next</p>`)).toBe(
      "Version: 1 → 2, efg link. Next",
    );
    expect(cellText(`<label><input type=radio name=r value=secret checked> Yes</label><img alt="QR code" src=x>`)).toBe("Yes QR code");
    const page = (body: string, type: string) => new Response(body, { headers: { "Content-Type": type } });
    const html = `<!doctype html><html><head><title>T</title></head><body><p>It&#39;s <b>here</b></p></body></html>`;
    expect(await shown(page(html, "text/html; charset=UTF-8"))).toBe("It's here");
    expect(await shown(page(`{"a":"<b>"}`, "application/json"))).toBe(`{"a":"<b>"}`);
    expect(links(`<a href="/a?x=1&amp;y=2">Go <b>on</b></a><a>no href</a>`)).toEqual([{ text: "Go on", href: "/a?x=1&y=2" }]);
  });

  it("puts each cell under its heading, with attributes in any order and unquoted", () => {
    const html = `<table class=x data-testid=people><thead><tr><th scope=col>Name ▲</th><th>Role</th></tr></thead>
      <tbody><tr data-id=1><td>Ada</td><td><span>Agent</span></td></tr><tr><td>Grace</td><td>Administrator</td></tr></tbody></table>`;
    expect(tableRows(html, "people")).toEqual([
      { Name: "Ada", Role: "Agent" },
      { Name: "Grace", Role: "Administrator" },
    ]);
    expect(() => tableRows("<table><tr><th>A</th><th>A</th></tr></table>")).toThrow(/share a heading/);
    // A row's own heading in the body heads no column.
    expect(
      columnHeadings(`<table><thead><tr><th>Name</th><th>Role ▼</th></tr></thead><tbody><tr><th>Ada</th><td>x</td></tr></tbody></table>`),
    ).toEqual(["Name", "Role"]);
  });

  it("finds a lean dropdown's options in the template it names, and each field's described error", () => {
    const page = `<select data-choices="g" aria-label="Managed By Group"></select>
      <template id="choices-g"><option value="">None</option><option value="grp_1">Tier &amp; 2</option></template>
      <input aria-describedby="field-email-hint field-email-error" id="field-email" aria-invalid="true" name="email">
      <p id="field-email-error" class="error">Enter a valid email address.</p>`;
    expect(dropdownOptions(page, "Managed By Group")).toEqual([
      { value: "", text: "None" },
      { value: "grp_1", text: "Tier & 2" },
    ]);
    expect(fieldErrors(page)).toEqual({ email: "Enter a valid email address." });
    expect(() => fieldErrors(`<input id="field-name" aria-invalid="true">`)).toThrow(/without an error/);
    expect(() => fieldErrors(`<input id="field-name" aria-invalid="true" aria-describedby="n-error"><p id="n-error"> </p>`)).toThrow(
      /without an error/,
    );
    expect(cellText("<td><textarea>a &lt;b&gt; &amp; c</textarea></td>")).toBe("a <b> & c");
    expect(dropdownOptions(`<select aria-label="Size"><option>Small</option></select>`, "Size")).toEqual([
      { value: "Small", text: "Small" },
    ]);
    expect(textOf(page, "p.error")).toBe("Enter a valid email address.");
    expect(textOf(page, "h1")).toBeNull();
  });

  it("finds the control a label names, by the label's words, and reads its attributes as a browser sets them", () => {
    const page = `<label for=code>Code <abbr>(6)</abbr></label><input readonly id=code name=code value="1&amp;2">
      <label>Wrapped <input type=checkbox name=w checked disabled></label><label for=gone>Nothing</label>
      <label for=h>Hidden</label><input type=hidden id=h>`;
    expect(labelled(page, "Code (6)")?.getAttribute("value")).toBe("1&2");
    expect(labelled(page, "Code (6)")?.hasAttribute("readonly")).toBe(true);
    expect(labelled(page, "Wrapped")?.getAttribute("name")).toBe("w");
    expect(labelled(page, "Nothing")).toBeNull();
    expect(labelled(page, "Hidden")).toBeNull();
    expect(labelled(page, "Code")).toBeNull();
    expect(find(page, "input[disabled]")?.getAttribute("name")).toBe("w");
    expect(findAll(page, "label").map(textIn)).toEqual(["Code (6)", "Wrapped", "Nothing", "Hidden"]);
    expect(find(page, "table")).toBeNull();
  });

  it("reads options, buttons, list items, description lists and forms as a person meets them", () => {
    const page = `<select id=s><option value=a disabled>A &amp; co</option><option selected>B</option><optgroup disabled><option value=c>C</option></optgroup></select>
      <ol data-testid=codes><li><code>x1</code> <span>used</span></li><li>x2<ol><li>inner</li></ol></li></ol>
      <dl><dt>Tenant ID</dt><dd>t-1</dd><div><dt>Object ID</dt><dd><b>o</b>-2</dd></div></dl>
      <form id=f method=POST action="/go?a=1&amp;b=2"><input type=hidden name=h value="&quot;q&quot;"><textarea name=t>
a &lt;b&gt;</textarea>
        <input type=checkbox name=c value=1 checked><input type=checkbox name=c value=2><input type=radio name=r>
        <input name=off value=x disabled><select name=s2><option disabled>no</option><option value=yes>Yes</option></select>
        <button aria-label="Send the form">Send</button><button type=button>Not a submit</button></form>
      <input name=outside form=f value=o><input name=elsewhere value=e>`;
    expect(optionsOf(find(page, "#s")!)).toEqual([
      { value: "a", text: "A & co", selected: false, disabled: true },
      { value: "B", text: "B", selected: true, disabled: false },
      { value: "c", text: "C", selected: false, disabled: true },
    ]);
    expect(listItems(page, "[data-testid=codes]")).toEqual(["x1 used", "x2 inner"]);
    expect(() => listItems(page, "ul")).toThrow(/no list/);
    expect(definitions(page)).toEqual([
      ["Tenant ID", "t-1"],
      ["Object ID", "o-2"],
    ]);
    expect(forms(page)).toEqual([{ action: "/go?a=1&b=2", method: "post", buttons: ["Send the form"] }]);
    expect(button(page, "Send the form")?.closest("form")?.getAttribute("id")).toBe("f");
    expect(button(page, "Send")).toBeNull();
    expect(button(page, "Not a submit")?.getAttribute("type")).toBe("button");
    // Of radio buttons marked checked in one group, a browser sends the last, in its place.
    const radios = `<form><input type=radio name=r value=a checked><input name=t value=1><input type=radio name=r value=b checked></form>`;
    expect(formFields(find(radios, "form")!)).toEqual([
      ["t", "1"],
      ["r", "b"],
    ]);
    expect(formFields(find(page, "form")!)).toEqual([
      ["h", '"q"'],
      ["t", "a <b>"],
      ["c", "1"],
      ["s2", "yes"],
      ["outside", "o"],
    ]);
  });
});
