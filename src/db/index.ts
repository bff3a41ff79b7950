import { drizzle } from "drizzle-orm/d1";
import * as schema from "./schema";

export function getDb(d1: D1Database) {
  return drizzle(d1, { schema });
}

export type Db = ReturnType<typeof getDb>;

/**
 * Whether a write changed any row. D1's `meta.changes` is the delta of sqlite3_total_changes(), so
 * it also counts rows that triggers wrote: on assets and software, whose FTS triggers write the
 * search index, a statement that changed one row reports more than 1. Ask "any?", never "exactly 1".
 * (SQL's own changes() counts only the statement's rows, triggers excluded.)
 */
export function changedAny(result: { meta: { changes: number } }): boolean {
  return result.meta.changes > 0;
}
