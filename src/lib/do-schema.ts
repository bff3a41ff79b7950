/**
 * Versioned schema for a Durable Object's SQLite storage.
 *
 * Durable Objects refuse `PRAGMA user_version` (SQLITE_AUTH), so the version lives in a one-row
 * table. Step N (1-based) runs once, when an object at version N-1 next wakes, inside one
 * synchronous transaction with the version bump: a step that throws leaves both the tables and
 * the version as they were, and the object fails loudly rather than half-migrated.
 *
 * Steps must be additive (new tables, columns, indexes; data copied, never dropped in the same
 * release) so that the previous release, after a rollback, still runs against the newer schema:
 * an object at a version this code does not know is left alone.
 */
export type SchemaStep = (sql: SqlStorage) => void;

export interface SchemaResult {
  from: number;
  to: number;
}

export function schemaVersion(sql: SqlStorage): number {
  sql.exec("CREATE TABLE IF NOT EXISTS schema_version (id INTEGER PRIMARY KEY CHECK (id = 1), version INTEGER NOT NULL)");
  return sql.exec<{ version: number }>("SELECT version FROM schema_version").toArray()[0]?.version ?? 0;
}

export function migrateSchema(storage: DurableObjectStorage, steps: readonly SchemaStep[]): SchemaResult {
  const from = schemaVersion(storage.sql);
  if (from >= steps.length) return { from, to: from };
  storage.transactionSync(() => {
    for (const step of steps.slice(from)) step(storage.sql);
    storage.sql.exec("INSERT OR REPLACE INTO schema_version (id, version) VALUES (1, ?)", steps.length);
  });
  return { from, to: steps.length };
}

/** A step made of plain DDL statements. */
export function ddl(...statements: string[]): SchemaStep {
  return (sql) => {
    for (const statement of statements) sql.exec(statement);
  };
}
