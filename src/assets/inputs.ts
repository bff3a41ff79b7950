import { z } from "zod";
import { ownValue } from "../lib/lookup";
import type { InventoryKind } from "./kinds";
import { decodeCursor, type ListFilter } from "./listing";

export const idValue = z
  .string()
  .max(40)
  .regex(/^[a-z]+_[a-z0-9]+$/, "That is not a valid id.");
const optionalId = z
  .union([z.literal(""), z.literal("none"), idValue])
  .optional()
  .transform((v) => v || undefined);

const cursorField = (dir: "after" | "before") =>
  z
    .string()
    .max(400, "That page link is not one of ours: go back to the first page.")
    .refine((v) => decodeCursor(dir, v) !== null, "That page link is not one of ours: go back to the first page.");

/** A list's filter, sort and cursor from a query (or, with a prefix, from a bulk form's hidden fields). */
export function filterSchema(kind: InventoryKind, prefix = "") {
  const enumFields = Object.fromEntries(
    Object.entries(kind.enums).map(([k, def]) => [
      `${prefix}${k}`,
      z.enum(["", ...def.values] as [string, ...string[]], { error: `${def.label}: choose one from the list.` }).optional(),
    ]),
  );
  return z
    .object({
      [`${prefix}q`]: z.string().trim().max(100, "Search for at most 100 characters.").optional(),
      [`${prefix}location`]: optionalId,
      [`${prefix}group`]: optionalId,
      [`${prefix}agent`]: optionalId,
      [`${prefix}sort`]: z
        .string()
        .refine((s) => ownValue(kind.sorts, s) !== undefined, "That column cannot be sorted.")
        .optional(),
      [`${prefix}dir`]: z.enum(["asc", "desc"]).optional(),
      [`${prefix}page`]: z
        .string()
        .regex(/^\d{1,6}$/, "The page is a number.")
        .optional(),
      [`${prefix}after`]: cursorField("after").optional(),
      [`${prefix}before`]: cursorField("before").optional(),
      ...enumFields,
    })
    .transform(
      (raw: Record<string, string | undefined>): ListFilter => ({
        q: raw[`${prefix}q`] || undefined,
        enums: Object.fromEntries(Object.keys(kind.enums).map((k) => [k, raw[`${prefix}${k}`] || undefined])),
        location: raw[`${prefix}location`],
        group: raw[`${prefix}group`],
        agent: raw[`${prefix}agent`],
        sort: raw[`${prefix}sort`] ?? "name",
        dir: (raw[`${prefix}dir`] as "asc" | "desc") ?? "asc",
        // A page number means something only with the cursor that reaches it; alone it is page 1.
        page: raw[`${prefix}after`] || raw[`${prefix}before`] ? Math.max(1, Number(raw[`${prefix}page`] ?? 1)) : 1,
        cursor: raw[`${prefix}after`]
          ? decodeCursor("after", raw[`${prefix}after`]!)!
          : raw[`${prefix}before`]
            ? decodeCursor("before", raw[`${prefix}before`]!)!
            : undefined,
      }),
    );
}
