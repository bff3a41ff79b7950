/**
 * New-device alerts owed (see ./known-devices.ts): a browser becomes known in the same transaction
 * that records its alert as owed, so it can never be known without an alert on its way. The
 * request stores the alert in the D1 outbox and then marks it paid; should D1 fail, the object's
 * alarm stores it a little later, and again, backing off, for up to a day.
 */
import type { Portal } from "../../portal/policy";

export interface OwedAlert {
  tokenHash: string;
  /** Names the alert's link and mail, so a second try finds what the first stored. */
  alertId: string;
  userId: string;
  portal: Portal;
  siteOrigin: string;
  at: number;
  ip: string;
  userAgent: string;
  /** When the object recorded it, by the object's own clock (the alarm's), unlike `at`, the request's. */
  owedSince: number;
  tries: number;
}

export function recordOwedAlert(sql: SqlStorage, alert: Omit<OwedAlert, "tries">): void {
  sql.exec(
    "INSERT OR REPLACE INTO alerts_owed (token_hash, alert_id, user_id, portal, site_origin, at, ip, user_agent, owed_since, tries) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 0)",
    alert.tokenHash,
    alert.alertId,
    alert.userId,
    alert.portal,
    alert.siteOrigin,
    alert.at,
    alert.ip,
    alert.userAgent,
    alert.owedSince,
  );
}

export function owedAlerts(sql: SqlStorage): OwedAlert[] {
  return sql
    .exec<{
      token_hash: string;
      alert_id: string;
      user_id: string;
      portal: Portal;
      site_origin: string;
      at: number;
      ip: string;
      user_agent: string;
      owed_since: number;
      tries: number;
    }>("SELECT * FROM alerts_owed ORDER BY at")
    .toArray()
    .map((r) => ({
      tokenHash: r.token_hash,
      alertId: r.alert_id,
      userId: r.user_id,
      portal: r.portal,
      siteOrigin: r.site_origin,
      at: r.at,
      ip: r.ip,
      userAgent: r.user_agent,
      owedSince: r.owed_since,
      tries: r.tries,
    }));
}

export function alertPaid(sql: SqlStorage, tokenHash: string): void {
  sql.exec("DELETE FROM alerts_owed WHERE token_hash = ?", tokenHash);
}

export function alertTried(sql: SqlStorage, tokenHash: string): void {
  sql.exec("UPDATE alerts_owed SET tries = tries + 1 WHERE token_hash = ?", tokenHash);
}
