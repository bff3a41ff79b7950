// Each route declares its input schemas where it is defined (reads(...)), and parsing
// with an undeclared schema fails loudly, so no route reads input the hostile-input tests miss.
import { Hono } from "hono";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { createDevelopmentApp } from "../../src/dev/app";
import { declaredInputs, parseForm, parseQuery, reads } from "../../src/lib/validation";

const nameForm = z.object({ name: z.string().max(10) });

function tinyApp() {
  const app = new Hono();
  app.onError((error, c) => c.text(error.message, 500));
  app.post("/declared", reads(nameForm), async (c) => {
    const form = await parseForm(c, nameForm);
    return form.ok ? c.text(`hello ${form.data.name}`) : c.text(form.message, 400);
  });
  app.post("/undeclared", reads(), async (c) => {
    const form = await parseForm(c, nameForm);
    return c.text(String(form.ok));
  });
  app.get("/query", async (c) => c.text(String(parseQuery(c, nameForm).ok)));
  return app;
}

const post = (app: Hono, path: string, body: string) => app.request(path, { method: "POST", body: new URLSearchParams({ name: body }) });

describe("route input declarations", () => {
  it("a declared schema parses; one the route did not declare is a loud error, never a quiet skip", async () => {
    const app = tinyApp();
    expect(await (await post(app, "/declared", "Ada")).text()).toBe("hello Ada");
    const undeclared = await post(app, "/undeclared", "Ada");
    expect(undeclared.status).toBe(500);
    expect(await undeclared.text()).toContain("POST /undeclared parses input with a schema its route does not declare");
    const query = await app.request("/query?name=x");
    expect(query.status).toBe(500);
  });

  it("are found in the router without a request", () => {
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
      ]),
    );
  });
});
