import { env } from "cloudflare:workers";
import type { z } from "zod";

/** Values an attacker (or a confused browser) sends: markup, SQL, NUL, look-alike and invisible characters, huge and odd numbers. */
export const HOSTILE_VALUES = [
  `<script>alert("xss")</script>`,
  `"><img src=x onerror=alert(1)>`,
  `' OR '1'='1'; DROP TABLE users; --`,
  "nul\u0000byte",
  "аdmin@еdgedesk.test", // Cyrillic а and е
  "\u202Egnp.exe\u200B", // right-to-left override, zero-width space
  "9".repeat(400),
  "-1e309",
] as const;

/** Markup that must never come back unescaped in a page. */
export const REFLECTION_MARKERS = [`<script>alert("xss")</script>`, `<img src=x onerror=alert(1)>`];

/** The field names a zod schema reads (objects, through pipes, intersections, unions and wrappers). */
export function fieldNames(schema: z.ZodType): string[] {
  const def = (schema as unknown as { _zod: { def: Record<string, unknown> & { type: string } } })._zod.def;
  switch (def.type) {
    case "object":
      return Object.keys(def.shape as object);
    case "pipe":
      return fieldNames(def.in as z.ZodType);
    case "intersection":
      return [...fieldNames(def.left as z.ZodType), ...fieldNames(def.right as z.ZodType)];
    case "union":
      return (def.options as z.ZodType[]).flatMap(fieldNames);
    case "optional":
    case "nullable":
    case "default":
    case "prefault":
    case "catch":
    case "readonly":
      return fieldNames(def.innerType as z.ZodType);
    default:
      return [];
  }
}

const NOT_DOMAIN = new Set(["audit_log", "dev_mailbox", "d1_migrations", "sqlite_sequence", "_cf_KV", "_cf_METADATA"]);

/** Every row of every domain table (not the audit log or the development mailbox), as one string. */
export async function snapshotData(): Promise<string> {
  const tables = await env.DB.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all<{ name: string }>();
  const names = tables.results.map((t) => t.name).filter((n) => !NOT_DOMAIN.has(n) && !n.startsWith("_cf"));
  const rows = await env.DB.batch(names.map((n) => env.DB.prepare(`SELECT * FROM "${n}" ORDER BY rowid`)));
  return JSON.stringify(names.map((n, i) => [n, rows[i]!.results]));
}

/** A route pattern with its parameters filled in (Hono's `:id`, `:id{regex}` and `*`). */
export function fillPath(pattern: string, value: string): string {
  return pattern.replace(/:[A-Za-z_]+(\{[^}]*\})?/g, encodeURIComponent(value)).replace(/\*/g, "x");
}
