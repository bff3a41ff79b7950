// The audit log's events and the statement that appends one, for the batch of the change it
// records. Plain values only: src/request/audit.ts adds what a request knows (its time, address).
import { type SQL, sql } from "drizzle-orm";
import type { Db } from "../db";
import { insertWhere } from "../db/insert-where";
import { auditEvents } from "../db/schema";
import type { Portal } from "../portal/policy";

/** Every security event the audit log knows. The settings area's audit page filters by these. */
export const AUDIT_EVENTS = {
  "sign_in.succeeded": "Signed in",
  "sign_in.failed": "Sign-in failed",
  "sign_in.throttled": "Sign-in throttled",
  "mfa.enrolled": "Authenticator app enrolled",
  "mfa.skipped": "Authenticator app set-up skipped (grace period)",
  "mfa.verified": "Second factor verified",
  "mfa.failed": "Second factor failed",
  "recovery_code.used": "Recovery code used",
  "settings.changed": "Authentication settings changed",
  "policy.applied_immediately": "Policy applied immediately (all sessions ended)",
  sign_out: "Signed out",
  reauthenticated: "Re-authenticated",
  "password.changed": "Password changed",
  "password_reset.requested": "Password reset link asked for",
  "password_reset.completed": "Password set with a reset link",
  "recovery_codes.regenerated": "Recovery codes regenerated",
  "recovery_codes.requested": "New recovery codes requested",
  "recovery_codes.issued": "New recovery codes issued by an admin",
  "recovery_codes.viewed": "Recovery codes viewed by an admin",
  "mfa.reset": "MFA reset by an admin",
  "sign_in.new_device": "Signed in from a new browser: the person was emailed",
  "account.secured": "“This wasn't me”: signed out everywhere, password cancelled",
  "sign_in.paused": "Sign-in from new browsers paused by wrong attempts: the person was emailed",
  "sign_in.pause_lifted": "Pause on sign-in from new browsers lifted by an admin",
  "access_pass.issued": "Temporary access pass issued by an admin",
  "access_pass.used": "Temporary access pass used to sign in",
  "user.created": "User created",
  "user.updated": "User updated",
  "user.removed": "Person removed (their name and email replaced by a pseudonym)",
  "account.exported": "Own data downloaded from My account",
  "role.saved": "Role created or changed",
  "role.assigned": "Role given to an agent",
  "access.refused": "Admin change refused: beyond the actor's own permissions",
  "role.deleted": "Role deleted",
  "sessions.revoked": "Sessions signed out",
  "devices.forgotten": "Remembered device forgotten",
  "passkey.added": "Passkey added",
  "passkey.removed": "Passkey removed",
  "sso.invited": "Invited to sign in with Microsoft",
  "sso.linked": "Microsoft account linked",
  "inventory.exported": "Assets or software exported as CSV",
  "inventory.imported": "Assets or software imported from CSV",
  "mail.undeliverable": "A notice could not be delivered for a day, and was given up",
  "api_token.created": "API token created",
  "api_token.revoked": "API token revoked",
  "api_token.new_source": "API token used from a new IP address",
  "audit_stream.added": "Audit log streaming destination added",
  "audit_stream.removed": "Audit log streaming destination removed",
  "audit_stream.paused": "Audit log streaming paused",
  "audit_stream.resumed": "Audit log streaming resumed",
} as const;
export type AuditEvent = keyof typeof AUDIT_EVENTS;

export interface AuditEntry {
  event: AuditEvent;
  portal?: Portal;
  /** Who did it (null for an unknown person, e.g. a failed sign-in with an unknown email). */
  actorId?: string | null;
  /** Whom it concerns, when that is someone else or the account signed in to. */
  targetId?: string | null;
  details?: Record<string, unknown>;
}

/** Where and when an event happened: the request's moment, address and user agent (none for work after it). */
export interface AuditOrigin {
  at: number;
  ip: string | null;
  userAgent: string | null;
}

/**
 * The statement that appends an event, for the D1 batch that makes the change it records: both
 * are stored or neither.
 */
export function auditInsert(db: Db, entry: AuditEntry, origin: AuditOrigin) {
  return db.insert(auditEvents).values(auditRow(entry, origin));
}

/** The same, stored only where `condition` holds: with a compare-and-swap change that may match nothing. */
export function auditInsertWhere(db: Db, entry: AuditEntry, origin: AuditOrigin, condition: SQL) {
  return insertWhere(db, auditEvents, auditRow(entry, origin), condition);
}

/**
 * "The statement just before changed one row": for records placed right after a compare-and-swap
 * that changes one row when it takes. Each record inserts one row, so the next sees 1 in turn.
 * (A condition on the row's new values cannot tell two requests that wrote the same values at the
 * same moment apart; SQLite's changes() can.)
 */
export const AFTER_ONE_CHANGE = sql`changes() = 1`;

/**
 * The same for a batch of D1's own statements: stored only where `condition` (SQL, its `?`s
 * bound to `binds`) holds, e.g. `changes() = 1` or an EXISTS over the change's own rows.
 */
export function auditStatementWhere(d1: D1Database, entry: AuditEntry, origin: AuditOrigin, condition: string, ...binds: unknown[]) {
  const row = auditRow(entry, origin);
  return d1
    .prepare(
      `INSERT INTO audit_events (at, event, portal, actor_id, target_id, ip, user_agent, details) SELECT ?, ?, ?, ?, ?, ?, ?, ? WHERE ${condition}`,
    )
    .bind(
      row.at,
      row.event,
      row.portal,
      row.actorId,
      row.targetId,
      row.ip,
      row.userAgent,
      row.details && JSON.stringify(row.details),
      ...binds,
    );
}

/** An entry and where it came from: what a change's own batch stores with it. */
export interface AuditRecord {
  entry: AuditEntry;
  origin: AuditOrigin;
}

/** The statement appending `audit` only where the statement just before it changed one row (see AFTER_ONE_CHANGE). */
export function auditAfterOneChange(db: Db, audit: AuditRecord) {
  return auditInsertWhere(db, audit.entry, audit.origin, AFTER_ONE_CHANGE);
}

/** The entry under a key, stored once however often it is tried: a second try changes no row. */
export function keyedAuditInsert(db: Db, entry: AuditEntry, origin: AuditOrigin, key: string) {
  return db
    .insert(auditEvents)
    .values({ ...auditRow(entry, origin), eventKey: key })
    .onConflictDoNothing();
}

function auditRow(entry: AuditEntry, origin: AuditOrigin) {
  return {
    at: origin.at,
    event: entry.event,
    portal: entry.portal ?? null,
    actorId: entry.actorId ?? null,
    targetId: entry.targetId === undefined ? (entry.actorId ?? null) : entry.targetId,
    ip: origin.ip,
    userAgent: origin.userAgent?.slice(0, 512) || null,
    details: entry.details ?? null,
  };
}
