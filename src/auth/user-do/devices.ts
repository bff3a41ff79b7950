/** Remembered devices: where the person ticked "Don't ask again on this device". */
export interface RememberedDevice {
  id: string;
  createdAt: number;
  lastUsedAt: number;
  expiresAt: number;
  ip: string;
  userAgent: string;
}

export interface NewRememberedDevice {
  id: string;
  tokenHash: string;
  generation: number;
  now: number;
  expiresAt: number;
  ip: string;
  userAgent: string;
}

interface DeviceRow extends Record<string, SqlStorageValue> {
  id: string;
  created_at: number;
  last_used_at: number;
  expires_at: number;
  ip: string;
  user_agent: string;
}

export function insertDevice(sql: SqlStorage, device: NewRememberedDevice): void {
  sql.exec(
    "INSERT INTO devices (id, token_hash, generation, created_at, last_used_at, expires_at, ip, user_agent) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
    device.id,
    device.tokenHash,
    device.generation,
    device.now,
    device.now,
    device.expiresAt,
    device.ip,
    device.userAgent,
  );
}

/** A remembered device skips the second step if it is unexpired and from the portal's current generation. */
export function useDevice(
  sql: SqlStorage,
  tokenHash: string,
  generation: number,
  now: number,
  seen: { ip: string; userAgent: string },
): boolean {
  // Older generations are forgotten; a newer one was remembered after a change this isolate has not seen yet.
  sql.exec("DELETE FROM devices WHERE expires_at <= ? OR generation < ?", now, generation);
  return (
    sql.exec("UPDATE devices SET last_used_at = ?, ip = ?, user_agent = ? WHERE token_hash = ?", now, seen.ip, seen.userAgent, tokenHash)
      .rowsWritten === 1
  );
}

export function listLiveDevices(sql: SqlStorage, generation: number, now: number): RememberedDevice[] {
  return sql
    .exec<DeviceRow>(
      "SELECT id, created_at, last_used_at, expires_at, ip, user_agent FROM devices WHERE expires_at > ? AND generation >= ? ORDER BY last_used_at DESC",
      now,
      generation,
    )
    .toArray()
    .map((r) => ({
      id: r.id,
      createdAt: r.created_at,
      lastUsedAt: r.last_used_at,
      expiresAt: r.expires_at,
      ip: r.ip,
      userAgent: r.user_agent,
    }));
}

export function deleteDevice(sql: SqlStorage, id: string): boolean {
  return sql.exec("DELETE FROM devices WHERE id = ?", id).rowsWritten > 0;
}

/** After an MFA reset or a password change, no device skips the second step any more. */
export function deleteAllDevices(sql: SqlStorage): number {
  return sql.exec("DELETE FROM devices").rowsWritten;
}
