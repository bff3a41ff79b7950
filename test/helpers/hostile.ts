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
  // Names an object inherits: a lookup with `in` or a bare index takes them for real keys.
  "constructor",
  "__proto__",
  "toString",
  // LIKE wildcards: escaping doubles them, and D1 refuses a pattern over 50 bytes.
  "%".repeat(30),
  "_%".repeat(20),
] as const;

/** Field names an object inherits, sent as extra fields and query parameters. */
export const PROTOTYPE_NAMES = ["constructor", "__proto__", "toString", "valueOf", "hasOwnProperty"] as const;

/** The longest string a schema's field accepts (its zod max length), if it states one. */
export function maxLengthOf(schema: z.ZodType, field: string): number | null {
  for (const shape of objectShapes(schema)) {
    const inner = shape[field];
    if (inner) return stringMax(inner);
  }
  return null;
}

function stringMax(schema: z.ZodType): number | null {
  const def = (
    schema as unknown as {
      _zod: { def: Record<string, unknown> & { type: string; checks?: { _zod: { def: { check: string; maximum?: number } } }[] } };
    }
  )._zod.def;
  const own = def.checks?.map((c) => c._zod.def).find((c) => c.check === "max_length")?.maximum;
  if (own !== undefined) return own;
  for (const key of ["innerType", "in", "out"] as const)
    if (def[key]) {
      const inner = stringMax(def[key] as z.ZodType);
      if (inner !== null) return inner;
    }
  if (def.type === "union") return (def.options as z.ZodType[]).map(stringMax).find((m) => m !== null) ?? null;
  return null;
}

/** Markup that must never come back unescaped in a page. */
export const REFLECTION_MARKERS = [`<script>alert("xss")</script>`, `<img src=x onerror=alert(1)>`];

/** The object shapes a zod schema reads, through pipes, intersections, unions and wrappers. */
function objectShapes(schema: z.ZodType): Record<string, z.ZodType>[] {
  const def = (schema as unknown as { _zod: { def: Record<string, unknown> & { type: string } } })._zod.def;
  switch (def.type) {
    case "object":
      return [def.shape as Record<string, z.ZodType>];
    case "pipe":
      return objectShapes(def.in as z.ZodType);
    case "intersection":
      return [...objectShapes(def.left as z.ZodType), ...objectShapes(def.right as z.ZodType)];
    case "union":
      return (def.options as z.ZodType[]).flatMap(objectShapes);
    case "optional":
    case "nullable":
    case "default":
    case "prefault":
    case "catch":
    case "readonly":
      return objectShapes(def.innerType as z.ZodType);
    default:
      return [];
  }
}

/** The field names a zod schema reads (objects, through pipes, intersections, unions and wrappers). */
export function fieldNames(schema: z.ZodType): string[] {
  return objectShapes(schema).flatMap((shape) => Object.keys(shape));
}

// The audit log and the record of paused sign-ins note what a refusal was (a refused guess may be
// the one that pauses an account), and the outbox the notice of that pause; none is a change the
// request asked for.
const NOT_DOMAIN = new Set([
  "audit_events",
  "sign_in_pauses",
  "mail_outbox",
  "dev_mailbox",
  "d1_migrations",
  "sqlite_sequence",
  "_cf_KV",
  "_cf_METADATA",
]);

/** Every row of every domain table (not the audit log, paused sign-ins, the outbox or the development mailbox), as one string. */
export async function snapshotData(): Promise<string> {
  const tables = await env.DB.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all<{ name: string }>();
  // The search indexes (assets_fts and its shadow tables) are derived from the tables they index.
  const names = tables.results.map((t) => t.name).filter((n) => !NOT_DOMAIN.has(n) && !n.startsWith("_cf") && !/_fts(_|$)/.test(n));
  const rows = await env.DB.batch(names.map((n) => env.DB.prepare(`SELECT * FROM "${n}" ORDER BY rowid`)));
  return JSON.stringify(names.map((n, i) => [n, rows[i]!.results]));
}

/** A route pattern with its parameters filled in (Hono's `:id`, `:id{regex}` and `*`). */
export function fillPath(pattern: string, value: string): string {
  return pattern.replace(/:[A-Za-z_]+(\{[^}]*\})?/g, encodeURIComponent(value)).replace(/\*/g, "x");
}
