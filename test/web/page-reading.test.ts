// The tests read pages through a real HTML parser (test/helpers/html.ts): what they assert is what
// a browser builds from the markup, whatever the attributes' order, quoting or entities.
import { describe, expect, it } from "vitest";
import { cellText, dropdownOptions, fieldErrors, tableRows, textOf } from "../helpers/html";

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

  it("puts each cell under its heading, with attributes in any order and unquoted", () => {
    const html = `<table class=x data-testid=people><thead><tr><th scope=col>Name ▲</th><th>Role</th></tr></thead>
      <tbody><tr data-id=1><td>Ada</td><td><span>Agent</span></td></tr><tr><td>Grace</td><td>Administrator</td></tr></tbody></table>`;
    expect(tableRows(html, "people")).toEqual([
      { Name: "Ada", Role: "Agent" },
      { Name: "Grace", Role: "Administrator" },
    ]);
    expect(() => tableRows("<table><tr><th>A</th><th>A</th></tr></table>")).toThrow(/share a heading/);
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
});
