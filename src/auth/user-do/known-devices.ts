/**
 * The browsers a person signed in from (a hash of the browser cookie), so a sign-in
 * from one not seen in the last 90 days can be told to them. The first sign-in this object sees
 * only starts the watch: a new account's first sign-in is nobody's "new device".
 */
export type Sighting = "first" | "known" | "new";

export const KNOWN_DEVICE_WINDOW_DAYS = 90;

export function noteSighting(
  sql: SqlStorage,
  tokenHash: string,
  now: number,
  windowMs: number,
  seen: { ip: string; userAgent: string },
  proven: boolean,
): Sighting {
  const watching = sql.exec("SELECT 1 FROM device_watch").toArray().length > 0;
  const known =
    sql.exec("SELECT 1 FROM known_devices WHERE token_hash = ? AND last_seen_at > ?", tokenHash, now - windowMs).toArray().length > 0;
  sql.exec(
    "INSERT INTO known_devices (token_hash, first_seen_at, last_seen_at, ip, user_agent, proven) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (token_hash) DO " +
      "UPDATE SET last_seen_at = excluded.last_seen_at, ip = excluded.ip, user_agent = excluded.user_agent, proven = max(proven, excluded.proven)",
    tokenHash,
    now,
    now,
    seen.ip,
    seen.userAgent,
    proven ? 1 : 0,
  );
  if (!watching) {
    sql.exec("INSERT INTO device_watch (id, since) VALUES (1, ?)", now);
    return "first";
  }
  return known ? "known" : "new";
}

/** Whether a sign-in from this browser proved more than a password in the last `windowMs`. */
export function isProvenBrowser(sql: SqlStorage, tokenHash: string, now: number, windowMs: number): boolean {
  return (
    sql.exec("SELECT 1 FROM known_devices WHERE token_hash = ? AND proven = 1 AND last_seen_at > ?", tokenHash, now - windowMs).toArray()
      .length > 0
  );
}

/** Whether the person has signed in before, as far as this object has watched. */
export function hasSignedInBefore(sql: SqlStorage): boolean {
  return sql.exec("SELECT 1 FROM device_watch").toArray().length > 0;
}

/** "This wasn't me": the browser of that sign-in is a stranger again. */
export function forgetKnownDevice(sql: SqlStorage, tokenHash: string): boolean {
  return sql.exec("DELETE FROM known_devices WHERE token_hash = ?", tokenHash).rowsWritten > 0;
}
