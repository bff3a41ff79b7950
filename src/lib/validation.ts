import type { Context } from "hono";
import { z } from "zod";

export type Parsed<T> = { ok: true; data: T } | { ok: false; message: string };

/**
 * The schemas each route reads its input with ("POST /agent/login" → [schema]), noted as requests
 * arrive. The hostile-input tests (test/web/hostile-input.test.ts) build their cases from it, so a
 * new route's fields are attacked without anyone listing them.
 */
export const routeInputs = new Map<string, z.ZodType[]>();

export function noteInput(c: Context, ...schemas: z.ZodType[]): void {
  routeInputs.set(`${c.req.method} ${c.req.routePath}`, schemas);
}

function firstMessage(error: z.ZodError): string {
  return error.issues[0]?.message ?? "The form was not filled in correctly.";
}

/** Parse a form body with a zod schema; a bad or unreadable body becomes a message, never an exception. */
export async function parseForm<S extends z.ZodType>(c: Context, schema: S): Promise<Parsed<z.output<S>>> {
  let body: Record<string, unknown>;
  try {
    body = await c.req.parseBody();
  } catch {
    return { ok: false, message: "The form could not be read. Reload the page and try again." };
  }
  noteInput(c, schema);
  const result = schema.safeParse(body);
  return result.success ? { ok: true, data: result.data } : { ok: false, message: firstMessage(result.error) };
}

/**
 * Parse a JSON body with a zod schema (the passkey and development routes). Only
 * `application/json` is read (SECURITY.md 27: a cross-site form cannot send it); anything else,
 * unreadable JSON or a schema failure becomes a message and a status, never an exception.
 */
export async function parseJson<S extends z.ZodType>(c: Context, schema: S): Promise<Parsed<z.output<S>> & { status?: 400 | 415 }> {
  noteInput(c, schema);
  if (!c.req.header("Content-Type")?.startsWith("application/json")) return { ok: false, status: 415, message: "Send the request as JSON." };
  const result = schema.safeParse(await c.req.json().catch(() => undefined));
  return result.success ? { ok: true, data: result.data } : { ok: false, status: 400, message: firstMessage(result.error) };
}

export function parseQuery<S extends z.ZodType>(c: Context, schema: S): Parsed<z.output<S>> {
  noteInput(c, schema);
  const result = schema.safeParse(c.req.query());
  return result.success ? { ok: true, data: result.data } : { ok: false, message: firstMessage(result.error) };
}

/** A required text field with a message that names it, trimmed, and bounded in length. */
export function requiredText(label: string, max = 200) {
  return z
    .string({ error: `Enter ${label}.` })
    .trim()
    .min(1, `Enter ${label}.`)
    .max(max, `${label[0]!.toUpperCase()}${label.slice(1)} must be at most ${max} characters.`)
    .refine((v) => !v.includes("\0"), `${label[0]!.toUpperCase()}${label.slice(1)} contains a character that is not allowed.`);
}

export function emailField() {
  return requiredText("your email", 254).pipe(z.email("Enter a valid email address, like name@example.com."));
}

/** Passwords are never trimmed or truncated; 1,024 characters is far above any real one. */
export function passwordField(label = "your password") {
  return z
    .string({ error: `Enter ${label}.` })
    .min(1, `Enter ${label}.`)
    .max(1024, "Passwords can be at most 1,024 characters.");
}

/** Where to go after signing in: only a path inside the same portal, never another site (open redirect). */
export function safeNextPath(next: unknown, portalRoot: string): string {
  if (typeof next !== "string") return portalRoot;
  const ok = (next === portalRoot || next.startsWith(`${portalRoot}/`) || next.startsWith(`${portalRoot}?`)) && !next.includes("//") && !next.includes("\\");
  return ok && next.length <= 2048 ? next : portalRoot;
}
