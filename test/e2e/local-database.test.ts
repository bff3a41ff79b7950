// The journeys' seeded state is made by applyMigrations' one-script path (a database not made
// yet). wrangler must read it as fully migrated: every file recorded under its own name, so
// `npm start` and `wrangler d1 migrations apply` never run a migration twice over it.
import { execFileSync } from "node:child_process";
import { cpSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { afterAll, describe, expect, inject, it } from "vitest";
import { QUIET, WRANGLER } from "../../scripts/local-app.mjs";

const copy = mkdtempSync(join(tmpdir(), "edgedesk-migrated-"));
cpSync(inject("templateState"), copy, { recursive: true });
afterAll(() => rmSync(copy, { recursive: true, force: true }));

describe("a local database made in one script", () => {
  it("records every migration file, in order, as wrangler's own table does", () => {
    const dir = join(copy, "v3", "d1", "miniflare-D1DatabaseObject");
    const file = readdirSync(dir).find((f) => f.endsWith(".sqlite") && f !== "metadata.sqlite")!;
    const db = new DatabaseSync(join(dir, file), { readOnly: true });
    const recorded = db.prepare("SELECT id, name FROM d1_migrations ORDER BY id").all();
    db.close();
    const files = readdirSync("migrations")
      .filter((f) => f.endsWith(".sql"))
      .sort();
    expect(recorded.map((r) => r.name)).toEqual(files);
    expect(recorded.map((r) => r.id)).toEqual(files.map((_, i) => i + 1));
  });

  it("leaves wrangler nothing to apply", () => {
    const out = execFileSync(WRANGLER[0], [WRANGLER[1], "d1", "migrations", "list", "DB", "--local", "--persist-to", copy], {
      env: { ...process.env, ...QUIET, CI: "1" },
      encoding: "utf8",
    });
    expect(out).toContain("No migrations to apply");
  });
});
