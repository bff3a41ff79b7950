import { getTableColumns, is, SQL, sql } from "drizzle-orm";
import type { SQLiteTable } from "drizzle-orm/sqlite-core";
import type { Db } from ".";

/**
 * An INSERT of one row that happens only where `condition` holds: for a batch whose change is a
 * compare-and-swap that may match nothing, so what records the change (its audit row, the notice
 * of it) is stored with it, or not at all. Every column is given in the table's order (drizzle
 * checks it); one left out takes its default.
 */
export function insertWhere<T extends SQLiteTable>(
  db: Db,
  table: T,
  row: { [K in keyof T["$inferInsert"]]?: T["$inferInsert"][K] | SQL },
  condition: SQL,
) {
  const fields = Object.fromEntries(
    Object.entries(getTableColumns(table)).map(([key, column]) => {
      const given = (row as Record<string, unknown>)[key];
      const value = given === undefined ? (column.defaultFn?.() ?? column.default ?? null) : given;
      if (is(value, SQL)) return [key, sql`${value}`.as(column.name)];
      return [key, sql`${value === null ? null : column.mapToDriverValue(value)}`.as(column.name)];
    }),
  );
  return db.insert(table).select(db.select(fields).from(sql`(SELECT 1)`).where(condition) as never);
}
