import { SESSION_POLICY_LIMITS } from "../../portal/policy";
import { EMAIL_OTP } from "./email-otp-rules";
import { PENDING_SESSION_LIFETIME_MS } from "./sessions";
import { KNOWN_DEVICE_WINDOW_DAYS } from "./known-devices";
import { DAY } from "../../lib/clock";

/**
 * The object's own clean-up, run by its alarm. Lookups already ignore what has ended;
 * this deletes it. A session is deleted only once no policy could keep it (past the longest idle
 * timeout or lifetime an admin can set, or a part-way sign-in past 15 minutes): a shorter policy's
 * expired sessions fail at their next request and are deleted then. An email challenge stays until
 * its sign-in flow must have ended, so a flow's failure count never resets by waiting (SECURITY.md 4).
 */
export function sweepExpired(sql: SqlStorage, now: number): number {
  const statements: [string, ...number[]][] = [
    [
      "DELETE FROM sessions WHERE last_seen_at <= ? OR created_at <= ? OR (stage != 'full' AND reauthenticated_at <= ?)",
      now - SESSION_POLICY_LIMITS.idleTimeoutMs.max,
      now - SESSION_POLICY_LIMITS.absoluteLifetimeMs.max,
      now - PENDING_SESSION_LIFETIME_MS,
    ],
    ["DELETE FROM devices WHERE expires_at <= ?", now],
    ["DELETE FROM known_devices WHERE last_seen_at <= ?", now - KNOWN_DEVICE_WINDOW_DAYS * DAY],
    ["DELETE FROM webauthn_challenges WHERE expires_at <= ?", now],
    ["DELETE FROM otp_challenge WHERE expires_at <= ?", now - PENDING_SESSION_LIFETIME_MS],
    ["DELETE FROM otp_sends WHERE sent_at <= ?", now - EMAIL_OTP.sendWindowMs],
    ["DELETE FROM otp_pending WHERE expires_at <= ?", now],
  ];
  return statements.reduce((deleted, [statement, ...params]) => deleted + sql.exec(statement, ...params).rowsWritten, 0);
}

/** Whether anything is left that a later sweep may need to delete. */
export function holdsExpiringRows(sql: SqlStorage): boolean {
  return ["sessions", "devices", "known_devices", "webauthn_challenges", "otp_challenge", "otp_sends", "otp_pending"].some(
    (table) => sql.exec(`SELECT 1 FROM ${table} LIMIT 1`).toArray().length > 0,
  );
}
