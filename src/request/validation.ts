import type { Context, MiddlewareHandler } from "hono";
import { HTTPException } from "hono/http-exception";
import { validator } from "hono/validator";
import type { z } from "zod";
import { type Parsed, parsedBy } from "../lib/fields";

const INPUT = Symbol("the schemas a route reads its input with");
const TARGET = Symbol("what a route reads: its form, its JSON or its query");

/** What a request sent, as Hono's validator read it: a field sent more than once as a list. */
export type Input = Record<string, unknown>;
/** A route's input read with one schema: the parse (with its refusal's status) and what was sent. */
export type Read<T> = Parsed<T> & { input: Input; status?: 400 | 415 };
type ReadAll<S extends readonly z.ZodType[]> = S extends readonly [infer One extends z.ZodType]
  ? Read<z.output<One>>
  : { [K in keyof S]: S[K] extends z.ZodType ? Parsed<z.output<S[K]>> : never } & { input: Input };

/** The validator's own refusal of a request it cannot read: a class, so no field a request sends can pass for one. */
class Refusal {
  constructor(
    readonly message: string,
    readonly status: 400 | 415,
  ) {}
}

const isRecord = (value: unknown): value is Input => typeof value === "object" && value !== null && !Array.isArray(value);

/**
 * Hono's validator for `target`, reading it with each schema: `c.req.valid(target)` is the parse
 * (a tuple of them for several schemas), never an exception, so each page shows its own refusal.
 * The schemas are declared on the middleware for the hostile-input tests (`declaredInputs`).
 */
function reading<U extends "form" | "json" | "query", const S extends readonly z.ZodType[]>(
  target: U,
  schemas: S,
  shape: (value: Input, c: Context) => Input | Refusal,
  unreadable: string,
) {
  const readAll = (shaped: unknown): ReadAll<S> => {
    const results = schemas.map((schema) =>
      shaped instanceof Refusal
        ? { ok: false as const, message: shaped.message, errors: {}, values: {}, status: shaped.status }
        : { ...parsedBy(schema, shaped), ...(target === "json" ? { status: 400 as const } : {}) },
    );
    const input = isRecord(shaped) ? shaped : {};
    return (schemas.length === 1 ? { ...results[0], input } : Object.assign(results, { input })) as ReadAll<S>;
  };
  // A JSON body may be any value: what is not an object is refused before any schema reads it.
  const inner = validator(target, (value, c) =>
    readAll(isRecord(value) ? shape(value, c) : new Refusal("Send the request's fields as one JSON object.", 400)),
  );
  // A body Hono cannot read at all (malformed multipart, broken JSON) is refused like any other
  // bad input, on the route's own page: the validator's own 400 is caught here, never a handler's.
  const middleware: typeof inner = async (c, next) => {
    let reached = false;
    try {
      return await inner(c, async () => {
        reached = true;
        await next();
      });
    } catch (error) {
      if (reached || !(error instanceof HTTPException) || error.status !== 400) throw error;
      c.req.addValidatedData(target, readAll(new Refusal(unreadable, 400)));
      await next();
    }
  };
  return Object.assign(middleware, { [INPUT]: schemas, [TARGET]: target });
}

const UNREADABLE_FORM = "The form could not be read. Reload the page and try again.";

/** Keeps the last value of a field sent more than once, as a form field that is one value reads. */
function lastValues(value: Input): Input {
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, Array.isArray(v) ? v[v.length - 1] : v]));
}

/** A route that reads no fields: it declares so for the hostile-input tests, and its body is never parsed. */
export function readsNothing() {
  const nothing: MiddlewareHandler = (_c, next) => next();
  return Object.assign(nothing, { [INPUT]: [] as z.ZodType[], [TARGET]: "form" as const });
}

/** A form body read with `schemas` (each field one value: the last, if sent twice). */
export function readsForm<const S extends readonly z.ZodType[]>(...schemas: S) {
  return reading("form", schemas, lastValues, UNREADABLE_FORM);
}

/** A form body whose fields may come as lists (checkboxes, selected rows): a field sent once is one value, more than once a list. */
export function readsFormLists<const S extends readonly z.ZodType[]>(...schemas: S) {
  return reading("form", schemas, (value) => value, UNREADABLE_FORM);
}

/**
 * A JSON body (the passkey and development routes). Only `application/json` is read (SECURITY.md
 * 27: a cross-site form cannot send it): anything else is refused with 415, unreadable JSON and a
 * schema failure with 400.
 */
export function readsJson<const S extends readonly z.ZodType[]>(...schemas: S) {
  return reading(
    "json",
    schemas,
    (value, c) => (c.req.header("Content-Type")?.startsWith("application/json") ? value : new Refusal("Send the request as JSON.", 415)),
    "The request's JSON could not be read.",
  );
}

/** The query string, each parameter one value (the first, if sent twice). */
export function readsQuery<const S extends readonly z.ZodType[]>(...schemas: S) {
  return reading(
    "query",
    schemas,
    (value) => Object.fromEntries(Object.entries(value).map(([k, v]) => [k, Array.isArray(v) ? v[0] : v])),
    "The address could not be read.",
  );
}

/** What a handler of the router reads its input from, or undefined for other handlers. */
export function declaredTarget(handler: unknown): "form" | "json" | "query" | undefined {
  return typeof handler === "function" ? (handler as { [TARGET]?: "form" | "json" | "query" })[TARGET] : undefined;
}

/**
 * The schemas a handler of the router reads its input with (readsForm, readsFormLists, readsJson,
 * readsQuery), or undefined for other handlers. Nothing is recorded per request: the
 * hostile-input tests find the declarations in the router's own route list, so a new route or
 * field is attacked automatically.
 */
export function declaredInputs(handler: unknown): readonly z.ZodType[] | undefined {
  return typeof handler === "function" ? (handler as { [INPUT]?: readonly z.ZodType[] })[INPUT] : undefined;
}
