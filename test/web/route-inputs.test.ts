// Every route reads its input through Hono's validator (src/request/validation.ts: readsForm,
// readsFormLists, readsJson, readsQuery), which declares its schemas where the route is defined,
// so the hostile-input tests find them, and hands the handler a parse, never an exception.
import { Hono } from "hono";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { createDevelopmentApp } from "../../src/dev/app";
import { declaredInputs, readsForm, readsFormLists, readsJson, readsNothing, readsQuery } from "../../src/request/validation";

const nameForm = z.object({ name: z.string().max(10, "Names are at most 10 characters.") });
const tagsForm = z.object({ tags: z.union([z.string(), z.array(z.string())]) });

function tinyApp() {
  const app = new Hono();
  app.onError((error, c) => c.text(error.message, 500));
  app.post("/form", readsForm(nameForm), (c) => {
    const read = c.req.valid("form");
    return read.ok ? c.text(`hello ${read.data.name}`) : c.text(read.message, 400);
  });
  app.post("/lists", readsFormLists(tagsForm), (c) => {
    const read = c.req.valid("form");
    return c.json(read.ok ? read.data.tags : read.message);
  });
  app.post("/json", readsJson(nameForm), (c) => {
    const read = c.req.valid("json");
    return read.ok ? c.text(`hello ${read.data.name}`) : c.text(read.message, read.status ?? 400);
  });
  app.get("/query", readsQuery(nameForm), (c) => {
    const read = c.req.valid("query");
    return read.ok ? c.text(`hello ${read.data.name}`) : c.text(read.message, 400);
  });
  return app;
}

const post = (app: Hono, path: string, body: BodyInit, type?: string) =>
  app.request(path, { method: "POST", body, headers: type ? { "Content-Type": type } : {} });

describe("reading a route's input", () => {
  it("hands the handler the parse: the data, or the schema's own message", async () => {
    const app = tinyApp();
    expect(await (await post(app, "/form", new URLSearchParams({ name: "Ada" }))).text()).toBe("hello Ada");
    const long = await post(app, "/form", new URLSearchParams({ name: "Augusta Ada King" }));
    expect([long.status, await long.text()]).toEqual([400, "Names are at most 10 characters."]);
  });

  it("reads a field sent twice as its last value, or as a list where the route reads lists", async () => {
    const app = tinyApp();
    const twice = new URLSearchParams([
      ["name", "Grace"],
      ["name", "Ada"],
    ]);
    expect(await (await post(app, "/form", twice)).text()).toBe("hello Ada");
    const tags = new URLSearchParams([
      ["tags", "a"],
      ["tags", "b"],
    ]);
    expect(await (await post(app, "/lists", tags)).json()).toEqual(["a", "b"]);
    expect(await (await post(app, "/lists", new URLSearchParams({ tags: "a" }))).json()).toBe("a");
    expect(await (await app.request("/query?name=Ada&name=Grace")).text()).toBe("hello Ada");
  });

  it("refuses a body it cannot read with the route's own 400, never a 500", async () => {
    const app = tinyApp();
    const broken = await post(app, "/form", "--x\r\nnot multipart at all", "multipart/form-data; boundary=x");
    expect([broken.status, await broken.text()]).toEqual([400, "The form could not be read. Reload the page and try again."]);
    const badJson = await post(app, "/json", "{nope", "application/json");
    expect([badJson.status, await badJson.text()]).toEqual([400, "The request's JSON could not be read."]);
  });

  it("takes no field a request sends for its own refusal, and refuses JSON that is not an object with a 400", async () => {
    const app = tinyApp();
    const forged = await post(app, "/form", new URLSearchParams({ name: "Ada", refused: "Session expired", status: "999" }));
    expect([forged.status, await forged.text()]).toEqual([200, "hello Ada"]);
    expect(await (await app.request("/query?name=Ada&refused=Sign+in+again")).text()).toBe("hello Ada");
    for (const body of ["null", "42", '"Ada"', "[]"]) {
      const odd = await post(app, "/json", body, "application/json");
      expect(odd.status, body).toBe(400);
      await odd.text();
    }
  });

  it("reads JSON only as application/json: a form posted to a JSON route is 415", async () => {
    const app = tinyApp();
    expect(await (await post(app, "/json", JSON.stringify({ name: "Ada" }), "application/json")).text()).toBe("hello Ada");
    const asForm = await post(app, "/json", new URLSearchParams({ name: "Ada" }));
    expect([asForm.status, await asForm.text()]).toEqual([415, "Send the request as JSON."]);
  });

  it("declares the schemas where the route is defined, found in the router without a request", () => {
    const declared = createDevelopmentApp()
      .routes.filter((r) => declaredInputs(r.handler))
      .map((r) => `${r.method} ${r.path}`);
    expect(declared).toEqual(
      expect.arrayContaining([
        "POST /agent/login",
        "POST /support/login",
        "GET /agent/assets",
        "GET /agent/software/count",
        "POST /agent/admin/roles/:id",
        "GET /agent/settings/security/audit",
        "POST /agent/assets/bulk",
      ]),
    );
    expect(declaredInputs(readsForm(nameForm))).toEqual([nameForm]);
    expect(declaredInputs(readsNothing())).toEqual([]);
  });
});
