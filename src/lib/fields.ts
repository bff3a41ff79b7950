// Reading a form's fields: the schemas every page's fields share, and a parse's result as a page
// shows it. Plain zod, so the domain and the pages use them without a request; the request side
// (src/request/validation.ts) runs them over what a request sent.
import { z } from "zod";

/**
 * A failure carries every field's first problem by field name (`errors`), so a form shows them
 * all at once beside their fields, and the text values sent (`values`), so it keeps what was typed.
 */
export type Parsed<T> = { ok: true; data: T } | { ok: false; message: string; errors: FieldErrors; values: FormValues };
/** The text a form sent, by field: a field sent more than once (checkboxes) as a list. */
export type FormValues = Record<string, string | string[]>;
export type FieldErrors = Record<string, string>;

export function parsedBy<S extends z.ZodType>(schema: S, value: unknown): Parsed<z.output<S>> {
  const result = schema.safeParse(value);
  if (result.success) return { ok: true, data: result.data };
  return { ok: false, message: firstMessage(result.error), errors: fieldErrorsOf(result.error), values: textValues(value) };
}

/** Each field's first problem, by the name of the field it is about (the first segment of its path). */
export function fieldErrorsOf(error: z.ZodError): FieldErrors {
  const errors: FieldErrors = {};
  for (const issue of error.issues) {
    const key = issue.path[0];
    if (typeof key === "string" && !(key in errors)) errors[key] = issue.message;
  }
  return errors;
}

/** A refused parse as a form page shows it: each field's problem beside it, or the one message when no field has its own. */
export function formRefusal(failed: { message: string; errors: FieldErrors }): { error?: string; errors?: FieldErrors } {
  return Object.keys(failed.errors).length > 0 ? { errors: failed.errors } : { error: failed.message };
}

function textValues(value: unknown): FormValues {
  if (typeof value !== "object" || value === null) return {};
  const isText = (v: unknown): v is string | string[] =>
    typeof v === "string" || (Array.isArray(v) && v.every((x) => typeof x === "string"));
  return Object.fromEntries(Object.entries(value).filter((e): e is [string, string | string[]] => isText(e[1])));
}

function firstMessage(error: z.ZodError): string {
  return error.issues[0]?.message ?? "The form was not filled in correctly.";
}

// Control characters (C0, DEL and C1: Unicode's Cc) in a stored name end up in pages, mail
// headers, CSV files and logs, where a NUL truncates and a line break splits a line; none is
// typed on purpose. So do Unicode's line and paragraph separators (U+2028, U+2029) and the
// bidirectional overrides and isolates (U+202A-U+202E, U+2066-U+2069), which make a name read
// backwards ("gnp.exe"). A multi-line field (a textarea) keeps tab and its line breaks.
const CONTROL = /[\p{Cc}\u2028\u2029\u202A-\u202E\u2066-\u2069]/u;
const CONTROL_BUT_LINES = /(?![\t\n\r])[\p{Cc}\u2028\u2029\u202A-\u202E\u2066-\u2069]/u;

/** Whether text holds a control character (in a multi-line field, other than tab, CR and LF). */
export function hasControlCharacter(text: string, multiLine = false): boolean {
  return (multiLine ? CONTROL_BUT_LINES : CONTROL).test(text);
}

/** The message refusing a control character in the field `label` (as a person reads it: "Name", "a role name"). */
export function controlCharacterMessage(label: string, multiLine = false): string {
  const field = `${label[0]!.toUpperCase()}${label.slice(1)}`;
  return multiLine
    ? `${field} contains a control character (such as NUL), which is not allowed; line breaks and tabs are fine.`
    : `${field} contains a control character (such as NUL, a tab or a line break), which is not allowed.`;
}

/** A required text field with a message that names it, trimmed, bounded in length, on one line. */
export function requiredText(label: string, max = 200) {
  return z
    .string({ error: `Enter ${label}.` })
    .trim()
    .min(1, `Enter ${label}.`)
    .max(max, `${label[0]!.toUpperCase()}${label.slice(1)} must be at most ${max} characters.`)
    .refine((v) => !hasControlCharacter(v), controlCharacterMessage(label));
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
  const ok =
    (next === portalRoot || next.startsWith(`${portalRoot}/`) || next.startsWith(`${portalRoot}?`)) &&
    !next.includes("//") &&
    !next.includes("\\");
  return ok && next.length <= 2048 ? next : portalRoot;
}
