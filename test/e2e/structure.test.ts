// No module of src imports itself back, directly or through others (type imports
// included: a cycle of types still ties two modules' owners together). Read from the files.
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { describe, expect, it } from "vitest";

function sourceFiles(dir: string, pattern = /\.tsx?$/): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path, pattern);
    return pattern.test(name) && !name.endsWith(".d.ts") ? [resolve(path)] : [];
  });
}

const IMPORT_SPECIFIER =
  /(?:import|export)[^'"`;]*?from\s*["'](\.[^"']+)["']|import\s*["'](\.[^"']+)["']|import\(\s*["'](\.[^"']+)["']\s*\)/g;
/** Hono itself or one of its packages (@hono/…): what reading a request takes. */
const HONO = /(?:from\s*|import\s*\(?\s*)["'](?:hono|@hono\/[^"']+)(?:\/[^"']*)?["']/;

function importGraph(files: string[]): Map<string, string[]> {
  const known = new Set(files);
  return new Map(
    files.map((file) => {
      // `import … from`, `export … from`, a bare `import "…"` and a dynamic `import("…")`, with or without an extension.
      const specifiers = [...readFileSync(file, "utf8").matchAll(IMPORT_SPECIFIER)].map((m) => (m[1] ?? m[2] ?? m[3])!);
      const targets = specifiers
        .map((s) => resolve(dirname(file), s.replace(/\.js$/, "")))
        .map((base) => [base, ...[".ts", ".tsx", "/index.ts", "/index.tsx"].map((ext) => base + ext)].find((p) => known.has(p)))
        .filter((p): p is string => p !== undefined);
      return [file, targets];
    }),
  );
}

function cycles(graph: Map<string, string[]>): string[][] {
  const found: string[][] = [];
  const state = new Map<string, "open" | "done">();
  const stack: string[] = [];
  const visit = (node: string) => {
    state.set(node, "open");
    stack.push(node);
    for (const next of graph.get(node) ?? []) {
      if (state.get(next) === "open") found.push([...stack.slice(stack.indexOf(next)), next]);
      else if (!state.has(next)) visit(next);
    }
    stack.pop();
    state.set(node, "done");
  };
  for (const node of graph.keys()) if (!state.has(node)) visit(node);
  return found;
}

/** A route module: it mounts paths on a Hono app and renders what they answer. */
const ROUTE_MODULE = /(^|\/)(routes|[a-z-]+-routes?)\.tsx?$/;
/**
 * What stands between a request and the domain: src/request (cookies, the session's cookie, the
 * request's origin for audit, validators, middleware) and src/sign-in, the one owner of the
 * sign-in doors: those of its files that read a request (its pages, its decisions in steps.ts
 * and its plain-value helpers are features). Only these and route modules take a Context.
 */
const REQUEST_SIDE = { test: (f: string) => f.startsWith("request/") || (f.startsWith("sign-in/") && readsRequest(f)) };
/**
 * Hono's request and response API: anything of hono or @hono/… but its JSX and HTML, which any
 * page may render with (jsx-renderer is not among them: its useRequestContext hands out the Context).
 */
const HONO_REQUEST = /(?:from\s*|import\s*\(?\s*)["'](?:hono(?:\/(?!jsx["'/]|html["'])[^"']*)?|@hono\/[^"']+)["']/;
/** A Context in use, however it is typed: `c.req.header(…)`, `c.var.clock`, `c.executionCtx`. */
const USES_CONTEXT = /\bc\.(req|var|executionCtx)\b/;
/** Whether a file of src (a path relative to it) imports Hono's request API; false for one that does not exist. */
function readsRequest(file: string): boolean {
  const path = join("src", file);
  return existsSync(path) && HONO_REQUEST.test(readFileSync(path, "utf8"));
}

/**
 * The layering docs/ARCHITECTURE.md draws, as rules over the import graph (paths relative to
 * src): each names who it applies to and what they may not import.
 */
const LAYER_RULES: { rule: string; from: (file: string) => boolean; forbids: (target: string) => boolean }[] = [
  {
    rule: "nothing outside src/dev reaches src/dev (so `wrangler deploy` never bundles it)",
    from: (f) => !f.startsWith("dev/"),
    forbids: (t) => t.startsWith("dev/"),
  },
  {
    rule: "only app.tsx, the development app and route modules import a route module",
    from: (f) => !ROUTE_MODULE.test(f) && f !== "app.tsx" && !f.startsWith("dev/"),
    forbids: (t) => ROUTE_MODULE.test(t),
  },
  {
    rule: "src/auth (users, passwords, sessions, the user object) serves sign-in and the rest, and uses neither",
    from: (f) => f.startsWith("auth/"),
    forbids: (t) => t.startsWith("sign-in/") || t.startsWith("factors/"),
  },
  {
    rule: "src/factors is a library: nothing of sign-in, of routes or of the request's context",
    from: (f) => f.startsWith("factors/"),
    forbids: (t) => t.startsWith("sign-in/") || ROUTE_MODULE.test(t) || t === "app-env.ts",
  },
  {
    rule: "src/lib uses nothing of the product",
    from: (f) => f.startsWith("lib/"),
    forbids: (t) => !t.startsWith("lib/") && t !== "app-env.ts",
  },
  {
    rule: "src/db uses only src/lib and the permission names roles store",
    from: (f) => f.startsWith("db/"),
    forbids: (t) => !t.startsWith("db/") && !t.startsWith("lib/") && t !== "access/permissions.ts" && t !== "app-env.ts",
  },
];

/**
 * The layers docs/ARCHITECTURE.md draws, lowest first (paths relative to src). A module imports
 * only from its own layer or those below. app-env.ts, the request context's type, stands apart.
 */
const LAYERS: { name: string; holds: (file: string) => boolean }[] = [
  { name: "lib", holds: (f) => f.startsWith("lib/") },
  { name: "db and the access rule", holds: (f) => f.startsWith("db/") || f === "access/permissions.ts" || f === "access/grants.ts" },
  {
    name: "records and state",
    holds: (f) =>
      /^(audit\/(events|recording)|mail\/(outbox|mailer|eml|html)|portal\/(policy|portal-do|state-cache)|limits\/(limiter-do|limits|windows|source|sign-in-guard))\./.test(
        f,
      ),
  },
  { name: "identity", holds: (f) => f.startsWith("auth/") || f === "access/auth.ts" },
  { name: "factors", holds: (f) => f.startsWith("factors/") },
  {
    name: "features",
    holds: (f) => !ROUTE_MODULE.test(f) && !REQUEST_SIDE.test(f) && f !== "app.tsx" && f !== "index.tsx" && !f.startsWith("dev/"),
  },
  { name: "the request side", holds: (f) => REQUEST_SIDE.test(f) },
  { name: "routes and entries", holds: () => true },
];

function layerOf(file: string): number {
  return file === "app-env.ts" ? -1 : LAYERS.findIndex((l) => l.holds(file));
}

function upwardImports(graph: Map<string, string[]>): string[] {
  return [...graph].flatMap(([file, targets]) =>
    targets
      .filter((t) => layerOf(file) >= 0 && layerOf(t) > layerOf(file))
      .map((t) => `${file} (${LAYERS[layerOf(file)]!.name}) → ${t} (${LAYERS[layerOf(t)]!.name})`),
  );
}

function layerViolations(graph: Map<string, string[]>): string[] {
  return [...graph].flatMap(([file, targets]) =>
    LAYER_RULES.flatMap(({ rule, from, forbids }) => (from(file) ? targets.filter(forbids).map((t) => `${file} → ${t}: ${rule}`) : [])),
  );
}

describe("src's module structure", () => {
  it("imports only downwards, as docs/ARCHITECTURE.md draws the layers", () => {
    const graph = new Map([...importGraph(sourceFiles("src"))].map(([f, ts]) => [relative("src", f), ts.map((t) => relative("src", t))]));
    expect(
      graph.get("app.tsx")?.some((t) => ROUTE_MODULE.test(t)),
      "the graph sees app.tsx mount its routes",
    ).toBe(true);
    // Each rule catches what it forbids.
    expect(
      layerViolations(
        new Map([
          ["auth/sessions.ts", ["dev/app.ts", "auth/routes.tsx"]],
          ["lib/clock.ts", ["auth/sessions.ts"]],
          ["db/index.ts", ["assets/kinds.ts"]],
          ["auth/users.ts", ["sign-in/steps.ts", "factors/totp.ts"]],
          ["factors/totp.ts", ["sign-in/steps.ts", "app-env.ts", "account/routes.tsx"]],
        ]),
      ),
    ).toHaveLength(10);
    expect(layerViolations(graph)).toEqual([]);
    // And through the layers, lowest first: an upward import is caught wherever it is.
    expect(
      upwardImports(
        new Map([
          ["factors/access-pass.ts", ["account/pages.tsx", "auth/users.ts"]],
          ["auth/pauses.ts", ["limits/limits.ts", "factors/totp.ts"]],
          ["lib/crypto.ts", ["db/index.ts"]],
          ["account/own-password.ts", ["request/session-cookie.ts", "sign-in/attempts.ts", "sign-in/steps.ts", "sign-in/pages.tsx"]],
        ]),
      ),
    ).toHaveLength(5);
    expect(upwardImports(graph)).toEqual([]);
  });

  // The factors and the other domain modules can be used by anything that has a database and a
  // clock: a scheduled run, a test, another way of signing in. So nothing they use, however far
  // down, reads a request.
  it("keeps the domain modules, and everything they use, free of Hono", () => {
    const graph = importGraph(sourceFiles("src"));
    const domain = ["factors/", "limits/", "sso/", "db/", "auth/", "audit/", "access/", "mail/", "lifecycle/"];
    const starts = [...graph.keys()].filter((f) => domain.some((d) => relative("src", f).startsWith(d)));
    expect(starts.map((f) => relative("src", f))).toEqual(
      expect.arrayContaining([
        "factors/totp.ts",
        "factors/email-otp.ts",
        "factors/passkeys.ts",
        "limits/throttle-notice.ts",
        "sso/oidc.ts",
        "auth/sessions.ts",
        "audit/events.ts",
        "lifecycle/removal.ts",
      ]),
    );
    const usingHono = starts.flatMap((start) => {
      const reached = new Set<string>();
      const visit = (file: string) => {
        if (reached.has(file)) return;
        reached.add(file);
        for (const next of graph.get(file) ?? []) visit(next);
      };
      visit(start);
      return [...reached]
        .filter((f) => HONO.test(readFileSync(f, "utf8")))
        .map((f) => `${relative("src", start)} reaches ${relative("src", f)}`);
    });
    expect(usingHono).toEqual([]);
  });

  // Domain functions take plain values (the database, the clock, the acting person, the input)
  // and return results; reading the request and shaping the answer is the request side's.
  it("takes a request's Context only on the request side and in route modules", () => {
    const reading = (text: string) => HONO_REQUEST.test(text);
    expect(
      [
        'import type { Context } from "hono";',
        'import { getCookie } from "hono/cookie";',
        'import { x } from "@hono/zod-validator";',
      ].every(reading),
    ).toBe(true);
    expect(['import type { Child } from "hono/jsx";', 'import { raw } from "hono/html";'].some(reading)).toBe(false);
    expect(reading('import { useRequestContext } from "hono/jsx-renderer";')).toBe(true);
    // app-env.ts stands apart from the layers, so it must not hand the Context on to those who import it.
    expect(reading(readFileSync("src/app-env.ts", "utf8"))).toBe(false);
    expect(readFileSync("src/app-env.ts", "utf8")).not.toMatch(/^export\s+(\*|\{|type\s*\{)[^;]*from/m);
    const outside = sourceFiles("src")
      .map((f) => relative("src", f))
      // Importing the API, or using a Context typed some other way (`c: any`): its request, variables or execution context.
      .filter((f) => reading(readFileSync(join("src", f), "utf8")) || USES_CONTEXT.test(readFileSync(join("src", f), "utf8")))
      .filter((f) => !ROUTE_MODULE.test(f) && !REQUEST_SIDE.test(f) && f !== "app.tsx" && f !== "index.tsx" && !f.startsWith("dev/"));
    expect(outside).toEqual([]);
  });

  // The route-module rule goes by name, so a module that makes a Hono app must be named as one.
  it("names every module that mounts routes as a route module", () => {
    const mounting = sourceFiles("src")
      .map((f) => relative("src", f))
      .filter((f) => /new Hono\b/.test(readFileSync(join("src", f), "utf8")));
    expect(mounting.length).toBeGreaterThan(10);
    expect(mounting.filter((f) => !ROUTE_MODULE.test(f) && f !== "app.tsx" && f !== "dev/app.ts")).toEqual([]);
    // And the converse: a route module's name exempts it from the domain's rules, so it must be one.
    const named = sourceFiles("src")
      .map((f) => relative("src", f))
      .filter((f) => ROUTE_MODULE.test(f));
    expect(named.filter((f) => !mounting.includes(f))).toEqual([]);
  });

  it("reads every form of import the rules must see", () => {
    const seen = (text: string) => [...text.matchAll(IMPORT_SPECIFIER)].map((m) => m[1] ?? m[2] ?? m[3]);
    expect(seen(`import { a } from "./a";\nimport "./b.js";\nconst c = await import("../c.ts");\nexport * from './d';`)).toEqual([
      "./a",
      "./b.js",
      "../c.ts",
      "./d",
    ]);
    expect(
      ['import { Hono } from "hono";', "import { x } from 'hono/jsx/dom';", 'import { zValidator } from "@hono/zod-validator";'].every(
        (l) => HONO.test(l),
      ),
    ).toBe(true);
  });

  it("has no import cycles", () => {
    const files = sourceFiles("src");
    expect(files.length).toBeGreaterThan(50);
    const graph = importGraph(files);
    // The check itself finds a cycle when there is one.
    expect(
      cycles(
        new Map([
          ["a", ["b"]],
          ["b", ["a"]],
        ]),
      ),
    ).toEqual([["a", "b", "a"]]);
    const names = cycles(graph).map((cycle) => cycle.map((f) => relative("src", f)).join(" → "));
    expect(names).toEqual([]);
  });

  // Request bodies and query strings are read only through Hono's validators in
  // src/request/validation.ts, which declare their schemas on the route: never the raw body, the whole
  // query, nor a schema's safeParse on them. (A single query parameter read by name, a notice's
  // key or a `next` path, is checked where it is read: ownValue, safeNextPath, an exact match.)
  it("reads bodies and query strings only through the declared validators", () => {
    const direct = sourceFiles("src")
      .filter((f) => !f.endsWith("request/validation.ts"))
      .flatMap((f) =>
        readFileSync(f, "utf8")
          .split("\n")
          .map((line, i) => [`${relative("src", f)}:${i + 1}`, line] as const),
      )
      .filter(([, line]) =>
        /c\.req\.(parseBody|json|formData|arrayBuffer|text|queries)\(|c\.req\.query\(\)|safeParse\((c\.req|body\b)/.test(line),
      )
      .map(([where]) => where);
    expect(direct).toEqual([]);
  });

  // Requests read a portal's state through the isolate's cache, and change it only
  // through the functions that wait until every cache has expired (src/portal/state-cache.ts).
  it("calls the portal objects only from src/portal", () => {
    const direct = lines(sourceFiles("src").filter((f) => !f.includes("/src/portal/")))
      .filter(([, line]) => /\.(getState|getPolicy|updatePolicy|reloadRoles|endAllSessions)\(/.test(line))
      .map(([where]) => where);
    expect(direct).toEqual([]);
  });

  // Requests query D1 through a D1 session (src/request/d1-session.ts), which has only
  // prepare() and batch(): nothing in src may call exec() or dump() on a database.
  it("calls nothing on D1 that a D1 session lacks", () => {
    const direct = lines(sourceFiles("src"))
      .filter(([, line]) => /\b(DB|d1|db)\.(exec|dump)\(/.test(line))
      .map(([where]) => where);
    expect(direct).toEqual([]);
  });
});

// The company's issue tracker is not in the repository, so a comment (or a test's name) that cites
// one of its items by number dangles: say the reason in the code's own terms instead, or point to
// a SECURITY.md item or a section of docs/.
describe("the repository's text", () => {
  // Biome wraps code at 140 characters; what it cannot wrap (a long string, a comment) is wrapped
  // by hand. Two files keep longer lines: the list page's markup, compact tagged templates whose
  // text Biome never breaks, and the generated list of common passwords.
  it("keeps every line of source, tests and scripts within 200 characters", () => {
    const kept = new Set(["src/assets/pages.tsx", "src/auth/common-passwords.ts"]);
    const long = ["src", "test", "scripts", "bench"]
      .flatMap((dir) => sourceFiles(dir, /\.(tsx?|mjs)$/))
      .filter((f) => !kept.has(relative(".", f)))
      .flatMap((f) =>
        readFileSync(f, "utf8")
          .split("\n")
          .flatMap((line, i) => (line.length > 200 ? [`${relative(".", f)}:${i + 1} (${line.length})`] : [])),
      );
    expect(long).toEqual([]);
  });

  it("cites no numbered item of the issue tracker", () => {
    const files = [
      ...["src", "test", "scripts", "bench", "web", "docs"].flatMap(textFiles),
      ...readdirSync(".").filter((name) => /^vitest.*\.ts$/.test(name) || name === "wrangler.toml" || name === "README.md"),
    ];
    expect(files).toEqual(expect.arrayContaining(["wrangler.toml", "README.md", join("docs", "ARCHITECTURE.md")]));
    // Across a wrapped line too: "(issue" at one line's end, "20)" after the next one's comment marker.
    const citation = /\b[Ii]ssues?(?:\s|\*|\/\/|#)*\d+/g;
    const citations = (text: string) => [...text.matchAll(citation)].map((m) => text.slice(0, m.index).split("\n").length);
    // The check itself finds a citation when there is one, on one line or wrapped across two.
    expect(citations(["see", "issue", "20"].join(" "))).toEqual([1]);
    expect(citations(` * read at most every 5 seconds (${"issue"}\n * 20). A failing call`)).toEqual([1]);
    const hits = files.flatMap((f) => citations(readFileSync(f, "utf8")).map((line) => `${f}:${line}`));
    expect(hits).toEqual([]);
  });
});

function textFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return textFiles(path);
    return /\.(tsx?|mjs|js|css|html|toml|json|md)$/.test(name) && name !== "package-lock.json" ? [path] : [];
  });
}

function lines(files: string[]) {
  return files.flatMap((f) =>
    readFileSync(f, "utf8")
      .split("\n")
      .map((line, i) => [`${relative("src", f)}:${i + 1}`, line] as const),
  );
}
