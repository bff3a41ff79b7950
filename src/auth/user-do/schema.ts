import { ddl, type SchemaStep } from "../../lib/do-schema";

/**
 * The user Durable Object's tables, one step per release that changed them (src/lib/do-schema.ts).
 * Append a step; never edit one that has shipped.
 */
export const USER_DO_SCHEMA: readonly SchemaStep[] = [
  // 1: the tables as they were before the schema had a version. `IF NOT EXISTS` lets an object
  // created by that older code adopt version 1 with its rows intact.
  ddl(
    `CREATE TABLE IF NOT EXISTS sessions (
      id TEXT PRIMARY KEY,
      token_hash TEXT NOT NULL UNIQUE,
      generation INTEGER NOT NULL,
      stage TEXT NOT NULL,
      method TEXT NOT NULL,
      created_at INTEGER NOT NULL,
      last_seen_at INTEGER NOT NULL,
      reauthenticated_at INTEGER NOT NULL,
      ip TEXT NOT NULL,
      user_agent TEXT NOT NULL
    )`,
    // The one live email OTP challenge of this user; otp_sends feeds the hourly cap.
    `CREATE TABLE IF NOT EXISTS otp_challenge (
      id INTEGER PRIMARY KEY CHECK (id = 1),
      flow_id TEXT NOT NULL,
      challenge_id TEXT NOT NULL,
      attempts INTEGER NOT NULL,
      expires_at INTEGER NOT NULL,
      sent_at INTEGER NOT NULL
    )`,
    "CREATE TABLE IF NOT EXISTS otp_sends (challenge_id TEXT PRIMARY KEY, sent_at INTEGER NOT NULL)",
    "CREATE TABLE IF NOT EXISTS webauthn_challenges (purpose TEXT PRIMARY KEY, challenge TEXT NOT NULL, expires_at INTEGER NOT NULL)",
    // Devices where the person ticked "Don't ask again on this device". Like sessions,
    // only a hash of the cookie's secret is kept, with the portal generation it was made under.
    `CREATE TABLE IF NOT EXISTS devices (
      id TEXT PRIMARY KEY,
      token_hash TEXT NOT NULL UNIQUE,
      generation INTEGER NOT NULL,
      created_at INTEGER NOT NULL,
      last_used_at INTEGER NOT NULL,
      expires_at INTEGER NOT NULL,
      ip TEXT NOT NULL,
      user_agent TEXT NOT NULL
    )`,
  ),
  // 2: the browsers this person signed in from, by a hash of the browser cookie, for
  // new-device alerts; device_watch records when watching began (the first sign-in it saw).
  ddl(
    `CREATE TABLE known_devices (
      token_hash TEXT PRIMARY KEY,
      first_seen_at INTEGER NOT NULL,
      last_seen_at INTEGER NOT NULL,
      ip TEXT NOT NULL,
      user_agent TEXT NOT NULL
    )`,
    "CREATE TABLE device_watch (id INTEGER PRIMARY KEY CHECK (id = 1), since INTEGER NOT NULL)",
  ),
  // 3: a session whose sign-in proved only a password, from a browser new to the account
  // (SECURITY.md 38): it adds no sign-in factor until something more is proved.
  ddl("ALTER TABLE sessions ADD COLUMN password_only INTEGER NOT NULL DEFAULT 0"),
  // 4: whether a sign-in from a known browser proved more than a password (SECURITY.md 38).
  // Browsers recorded before this step include ones where only a password was typed (perhaps a
  // stolen one), so none is taken as proven: each proves itself again at its next second step.
  ddl("ALTER TABLE known_devices ADD COLUMN proven INTEGER NOT NULL DEFAULT 0"),
  // 5: an email code being issued: its record stored and its mail not yet accepted. Only when
  // both are done does it become the current challenge and count as sent (cooldown, hourly cap);
  // until then the code before it keeps working.
  ddl(
    "CREATE TABLE otp_pending (challenge_id TEXT PRIMARY KEY, flow_id TEXT NOT NULL, expires_at INTEGER NOT NULL, started_at INTEGER NOT NULL)",
  ),
  // 6: a new-device alert owed: recorded in the transaction that makes the browser known, and
  // deleted once the alert is stored in the D1 outbox. The alarm stores what the request could not.
  ddl(
    `CREATE TABLE alerts_owed (
      token_hash TEXT PRIMARY KEY,
      alert_id TEXT NOT NULL,
      user_id TEXT NOT NULL,
      portal TEXT NOT NULL,
      site_origin TEXT NOT NULL,
      at INTEGER NOT NULL,
      ip TEXT NOT NULL,
      user_agent TEXT NOT NULL,
      owed_since INTEGER NOT NULL,
      tries INTEGER NOT NULL DEFAULT 0
    )`,
  ),
  // 7: audit entries owed for changes made here, recorded in the change's own transaction and
  // deleted once D1 holds them (./owed-audits.ts). The alarm stores what the request could not.
  ddl(
    `CREATE TABLE audits_owed (
      event_key TEXT PRIMARY KEY,
      entry TEXT NOT NULL,
      origin TEXT NOT NULL,
      owed_since INTEGER NOT NULL,
      tries INTEGER NOT NULL DEFAULT 0
    )`,
  ),
  // 8: the country a session was started from (Cloudflare's reading of its address), which an
  // admin reads beside the address when deciding whether to end it. Older sessions have none.
  ddl("ALTER TABLE sessions ADD COLUMN country TEXT"),
];
