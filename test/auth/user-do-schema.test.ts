// The Durable Objects' SQLite tables carry a version and migrate, on real DO storage.
import { env, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { userStub } from "../../src/auth/user-object";
import { UserDurableObject } from "../../src/auth/user-do";
import { USER_DO_SCHEMA } from "../../src/auth/user-do/schema";
import { ddl, migrateSchema, schemaVersion, type SchemaStep } from "../../src/lib/do-schema";
import { LimiterDurableObject } from "../../src/limits/limiter-do";
import { ACCOUNT_LIMITS, accountLimiter } from "../../src/limits/limits";
import { browser, fakeClock, statusOf } from "../helpers/app";
import { signIn } from "../helpers/auth";
import { makeAgent } from "../helpers/factories";

// The user object's tables exactly as the constructor made them before they had a version
// (commit 73a52a7, src/auth/user-do.ts): what every object already in production holds.
const UNVERSIONED_USER_DO_TABLES = [
  `CREATE TABLE IF NOT EXISTS sessions (id TEXT PRIMARY KEY, token_hash TEXT NOT NULL UNIQUE, generation INTEGER NOT NULL, stage TEXT NOT NULL, method ` +
    `TEXT NOT NULL, created_at INTEGER NOT NULL, last_seen_at INTEGER NOT NULL, reauthenticated_at INTEGER NOT NULL, ip TEXT NOT NULL, user_agent TEXT NOT NULL)`,
  `CREATE TABLE IF NOT EXISTS otp_challenge (id INTEGER PRIMARY KEY CHECK (id = 1), flow_id TEXT NOT NULL, challenge_id TEXT NOT NULL, attempts ` +
    `INTEGER NOT NULL, expires_at INTEGER NOT NULL, sent_at INTEGER NOT NULL)`,
  "CREATE TABLE IF NOT EXISTS otp_sends (challenge_id TEXT PRIMARY KEY, sent_at INTEGER NOT NULL)",
  "CREATE TABLE IF NOT EXISTS webauthn_challenges (purpose TEXT PRIMARY KEY, challenge TEXT NOT NULL, expires_at INTEGER NOT NULL)",
  `CREATE TABLE IF NOT EXISTS devices (id TEXT PRIMARY KEY, token_hash TEXT NOT NULL UNIQUE, generation INTEGER NOT NULL, created_at INTEGER NOT NULL, ` +
    `last_used_at INTEGER NOT NULL, expires_at INTEGER NOT NULL, ip TEXT NOT NULL, user_agent TEXT NOT NULL)`,
];

function tables(sql: SqlStorage): string[] {
  return sql
    .exec<{ name: string }>(
      "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE '\\_cf\\_%' ESCAPE '\\' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name",
    )
    .toArray()
    .map((r) => r.name);
}

/** A scratch object's storage for the runner's own tests (any SQLite-backed class will do). */
async function withScratchStorage(run: (storage: DurableObjectStorage) => void): Promise<void> {
  const stub = env.LIMITER_DO.get(env.LIMITER_DO.idFromName(`schema-test:${crypto.randomUUID()}`));
  await runInDurableObject(stub, async (_instance, state) => {
    for (const name of tables(state.storage.sql)) state.storage.sql.exec(`DROP TABLE ${name}`);
    run(state.storage);
  });
}

describe("the user object's schema", () => {
  it("upgrades an object made before the schema had a version, and its signed-in browser stays signed in", async () => {
    const clock = fakeClock();
    const agent = await makeAgent();
    const client = browser({ clock });
    await signIn(client, "agent", agent);

    await runInDurableObject(userStub(env, agent.id), async (_instance, state) => {
      const sql = state.storage.sql;
      const sessionRows = sql.exec("SELECT * FROM sessions").toArray();
      expect(sessionRows).toHaveLength(1);
      // Turn this object into one the previous release made: its tables, its rows, no version.
      for (const name of tables(sql)) sql.exec(`DROP TABLE ${name}`);
      for (const statement of UNVERSIONED_USER_DO_TABLES) sql.exec(statement);
      // The rows as the older tables hold them: without the columns later versions added.
      const older = new Set(
        sql
          .exec<{ name: string }>("SELECT name FROM pragma_table_info('sessions')")
          .toArray()
          .map((c) => c.name),
      );
      for (const row of sessionRows) {
        const columns = Object.keys(row).filter((column) => older.has(column));
        sql.exec(
          `INSERT INTO sessions (${columns.join(", ")}) VALUES (${columns.map(() => "?").join(", ")})`,
          ...columns.map((column) => row[column]),
        );
      }
      expect(tables(sql)).not.toContain("schema_version");

      // The object wakes under this release.
      const upgraded = new UserDurableObject(state, env);
      expect(schemaVersion(sql)).toBe(USER_DO_SCHEMA.length);
      expect(sql.exec("SELECT count(*) AS n FROM sessions").one().n).toBe(1);
      expect(
        await upgraded.listSessions({
          generation: sessionRows[0]!.generation as number,
          policy: { idleTimeoutMs: 8 * 3_600_000, absoluteLifetimeMs: 7 * 86_400_000 },
          now: clock.now(),
        }),
      ).toHaveLength(1);
    });
    expect(await statusOf(client, "/agent")).toBe(200);
  });

  it("creates every table a new object needs, at the latest version", async () => {
    const agent = await makeAgent();
    await runInDurableObject(userStub(env, agent.id), async (_instance, state) => {
      expect(schemaVersion(state.storage.sql)).toBe(USER_DO_SCHEMA.length);
      expect(tables(state.storage.sql)).toEqual([
        "alerts_owed",
        "audits_owed",
        "device_watch",
        "devices",
        "known_devices",
        "otp_challenge",
        "otp_pending",
        "otp_sends",
        "schema_version",
        "sessions",
        "webauthn_challenges",
      ]);
    });
  });
});

// The limiter's tables as the previous release made them (commit 26c6ab7, versions 1 and 2).
const SHIPPED_LIMITER_STEPS: SchemaStep[] = [
  ddl("CREATE TABLE IF NOT EXISTS window (id INTEGER PRIMARY KEY CHECK (id = 1), started_at INTEGER NOT NULL, count INTEGER NOT NULL)"),
  ddl(
    "CREATE TABLE windows (name TEXT PRIMARY KEY, window_ms INTEGER NOT NULL, reported_until INTEGER NOT NULL DEFAULT 0)",
    "CREATE TABLE hits (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL, at INTEGER NOT NULL)",
    "CREATE INDEX hits_name_at ON hits (name, at)",
    "CREATE TABLE browsers (hash TEXT PRIMARY KEY, seen_at INTEGER NOT NULL)",
    "CREATE TABLE sources (window TEXT NOT NULL, source TEXT NOT NULL, country TEXT, count INTEGER NOT NULL, PRIMARY KEY (window, source))",
    "CREATE TABLE clock (id INTEGER PRIMARY KEY CHECK (id = 1), offset_ms INTEGER NOT NULL)",
  ),
];

describe("the limiter's schema", () => {
  it("upgrades an account's limiter the previous release made: its counts and known browsers carry on, and new attempts name their source", async () => {
    const now = fakeClock().now();
    const stub = accountLimiter(env, "support", `shipped-${crypto.randomUUID()}@example.com`);
    await runInDurableObject(stub, async (_instance, state) => {
      const sql = state.storage.sql;
      for (const name of tables(sql)) sql.exec(`DROP TABLE ${name}`);
      migrateSchema(state.storage, SHIPPED_LIMITER_STEPS);
      sql.exec("INSERT INTO windows (name, window_ms) VALUES ('password:unknown', ?)", ACCOUNT_LIMITS.unknown.windowMs);
      for (let i = 0; i < ACCOUNT_LIMITS.unknown.limit - 1; i++)
        sql.exec("INSERT INTO hits (name, at) VALUES ('password:unknown', ?)", now);
      sql.exec("INSERT INTO browsers (hash, seen_at) VALUES (?, ?)", "b".repeat(64), now);

      const upgraded = new LimiterDurableObject(state, env);
      const attempt = (browser: string | null, source: string) =>
        upgraded.attempt(now, { way: "password", browser, source, country: null, rules: ACCOUNT_LIMITS });
      expect(await attempt(null, "203.0.113.90")).toMatchObject({ allowed: true });
      expect(await attempt(null, "203.0.113.91")).toMatchObject({ allowed: false });
      expect(await attempt("b".repeat(64), "203.0.113.92")).toMatchObject({ allowed: true, known: true });
      expect(schemaVersion(sql)).toBe(3);
      expect(
        sql
          .exec("SELECT source FROM hits WHERE source IS NOT NULL")
          .toArray()
          .map((r) => r.source),
      ).toContain("203.0.113.90");
    });
  });
});

describe("the schema runner", () => {
  const v1 = ddl("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL)");
  const v2 = ddl("ALTER TABLE notes ADD COLUMN pinned INTEGER NOT NULL DEFAULT 0");

  it("runs each step once, in order, and a later release's new step on the next wake with the rows kept", async () => {
    await withScratchStorage((storage) => {
      expect(migrateSchema(storage, [v1])).toEqual({ from: 0, to: 1 });
      storage.sql.exec("INSERT INTO notes (body) VALUES ('kept')");
      // Waking again under the same release changes nothing (creating notes twice would throw).
      expect(migrateSchema(storage, [v1])).toEqual({ from: 1, to: 1 });
      expect(migrateSchema(storage, [v1, v2])).toEqual({ from: 1, to: 2 });
      expect(storage.sql.exec("SELECT body, pinned FROM notes").toArray()).toEqual([{ body: "kept", pinned: 0 }]);
    });
  });

  it("rolls a failing step back whole: tables and version stay as they were", async () => {
    await withScratchStorage((storage) => {
      migrateSchema(storage, [v1]);
      const broken: SchemaStep = (sql) => {
        sql.exec("ALTER TABLE notes ADD COLUMN half_done INTEGER");
        sql.exec("THIS IS NOT SQL");
      };
      expect(() => migrateSchema(storage, [v1, v2, broken])).toThrow();
      expect(schemaVersion(storage.sql)).toBe(1);
      const columns = storage.sql
        .exec<{ name: string }>("SELECT name FROM pragma_table_info('notes')")
        .toArray()
        .map((c) => c.name);
      expect(columns).toEqual(["id", "body"]);
    });
  });

  it("leaves an object a newer release has migrated alone (a rollback keeps working)", async () => {
    await withScratchStorage((storage) => {
      migrateSchema(storage, [v1, v2]);
      expect(migrateSchema(storage, [v1])).toEqual({ from: 2, to: 2 });
      expect(schemaVersion(storage.sql)).toBe(2);
    });
  });
});
