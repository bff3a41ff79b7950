// README is the product's front page and docs/ holds the rest: README stays short, its tables of
// bindings and variables name everything wrangler.toml declares (read by wrangler's own parser),
// every link in README and docs/ reaches a file and heading that exist, and the latest-run part
// of docs/PERFORMANCE.md says exactly what bench/results.json recorded.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, normalize } from "node:path";
import { unstable_readConfig } from "wrangler";
import { describe, expect, it } from "vitest";
import { PERFORMANCE_DOC, withResults } from "../../bench/report.mjs";

const README = readFileSync("README.md", "utf8");
const PAGES = [
  "README.md",
  "SECURITY.md",
  ...readdirSync("docs")
    .filter((f) => f.endsWith(".md"))
    .map((f) => `docs/${f}`),
];

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces as hyphens. */
const slug = (heading: string) =>
  heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, "")
    .replace(/\s/g, "-");
const anchorsOf = (file: string) =>
  new Set([...readFileSync(file, "utf8").matchAll(/^#+ (.+)$/gm)].map((m) => slug(m[1]!.replace(/`/g, ""))));

describe("README and docs/", () => {
  it("prints the very signature check the tests' SIEM receiver runs", () => {
    const receiver = readFileSync("test/receiver/siem-receiver.ts", "utf8");
    const check = receiver.slice(receiver.indexOf("// docs:verify-start\n") + 21, receiver.indexOf("// docs:verify-end")).trim();
    expect(check).toMatch(/^\/\*\* True when an EdgeDesk delivery/);
    expect(readFileSync("docs/AUDIT-STREAMING.md", "utf8")).toContain(check);
  });

  it("README is a front page: at most 250 lines", () => {
    expect(README.split("\n").length).toBeLessThanOrEqual(250);
  });

  it("README's tables name every binding and variable wrangler.toml declares", () => {
    const config = unstable_readConfig({ config: "wrangler.toml" });
    const names = [
      ...config.d1_databases.map((d: { binding: string }) => d.binding),
      ...config.kv_namespaces.map((k: { binding: string }) => k.binding),
      ...config.durable_objects.bindings.map((b: { name: string }) => b.name),
      ...config.send_email.map((s: { name: string }) => s.name),
      config.assets!.binding!,
      ...Object.keys(config.vars),
    ];
    expect(names.length).toBeGreaterThan(15);
    const configure = README.slice(README.indexOf("## Configure it"), README.indexOf("\n## ", README.indexOf("## Configure it") + 1));
    const tableCells = new Set(
      [...configure.matchAll(/^\| (.+?) \|/gm)].flatMap((m) => [...m[1]!.matchAll(/`([A-Z_]+)`/g)].map((c) => c[1])),
    );
    expect(names.filter((name) => !tableCells.has(name))).toEqual([]);
  });

  it("every relative link reaches a file, and a heading there when it names one", () => {
    const broken: string[] = [];
    for (const page of PAGES) {
      for (const [, target] of readFileSync(page, "utf8").matchAll(/\]\(([^)\s]+)\)/g)) {
        if (/^[a-z]+:/.test(target!)) continue;
        const [path, anchor] = target!.split("#");
        const file = path ? normalize(join(dirname(page), path)) : page;
        if (!existsSync(file)) broken.push(`${page}: ${target} (no ${file})`);
        else if (anchor && file.endsWith(".md") && !anchorsOf(file).has(anchor))
          broken.push(`${page}: ${target} (no heading #${anchor} in ${file})`);
      }
    }
    expect(broken).toEqual([]);
  });

  it("docs/PERFORMANCE.md states the run bench/results.json recorded", () => {
    const page = readFileSync(PERFORMANCE_DOC, "utf8");
    const results = JSON.parse(readFileSync("bench/results.json", "utf8"));
    expect(page).toBe(withResults(page, results));
    expect(page).toContain(`${results.goals.filter((g: { met: boolean }) => g.met).length} of ${results.goals.length} goals met`);
  });
});
