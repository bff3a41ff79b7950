// What has a lifetime is pruned by a scheduled run (wrangler.toml [triggers], hourly).
// Each run deletes in batches under a budget, so one run stays short whatever the backlog; the
// next run goes on where it stopped. Deleting what is past its lifetime twice deletes nothing the
// second time, so a run that fails half-way or runs twice does no harm.
import { DAY, MINUTE } from "../lib/clock";
import { isDevelopment } from "../mail/mailer";

export const RETENTION_BATCH = 500;
/**
 * Batches per run, shared by every table: at most 200,000 rows a run (hourly). SECURITY.md 44:
 * the most a stranger can make expire in an hour is the passkey answers the hash ceilings let
 * through (600 a minute per portal, two portals: 144,000 an hour), so the runs keep up.
 */
export const RETENTION_BATCHES_PER_RUN = 400;

const RETENTION_DEFAULTS = { auditDays: 365, assetHistoryDays: 730 } as const;
const DAYS_RANGE = { min: 30, max: 3650 };
const UNDO_RECORD_LIFETIME_MS = 10 * MINUTE;
const DEV_MAIL_LIFETIME_MS = DAY;
const SENT_MAIL_KEPT_MS = 7 * DAY;

export interface RetentionSettings {
  auditDays: number;
  assetHistoryDays: number;
}

function days(raw: string | undefined, name: string, fallback: number): number {
  if (raw === undefined || raw.trim() === "") return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < DAYS_RANGE.min || value > DAYS_RANGE.max) {
    throw new Error(`${name} must be a whole number of days from ${DAYS_RANGE.min} to ${DAYS_RANGE.max}; it is "${raw}".`);
  }
  return value;
}

/** The deployment's retention (wrangler.toml [vars]); a value out of range stops the run, loudly. */
export function retentionSettings(env: Env): RetentionSettings {
  return {
    auditDays: days(env.AUDIT_RETENTION_DAYS, "AUDIT_RETENTION_DAYS", RETENTION_DEFAULTS.auditDays),
    assetHistoryDays: days(env.ASSET_HISTORY_RETENTION_DAYS, "ASSET_HISTORY_RETENTION_DAYS", RETENTION_DEFAULTS.assetHistoryDays),
  };
}

interface Target {
  name: string;
  table: string;
  /** Rows past their lifetime; `?` is bound to `cutoff`. */
  expired: string;
  cutoff: number;
}

function targets(env: Env, settings: RetentionSettings, now: number): Target[] {
  const list: Target[] = [
    { name: "auditEvents", table: "audit_events", expired: "at < ?", cutoff: now - settings.auditDays * DAY },
    { name: "assetHistory", table: "inventory_history", expired: "at < ?", cutoff: now - settings.assetHistoryDays * DAY },
    { name: "undoRecords", table: "bulk_operations", expired: "at < ?", cutoff: now - UNDO_RECORD_LIFETIME_MS },
    { name: "passwordResets", table: "password_resets", expired: "expires_at < ?", cutoff: now },
    { name: "accessPasses", table: "temporary_access_passes", expired: "expires_at < ?", cutoff: now },
    { name: "passkeyChallenges", table: "passkey_challenges", expired: "expires_at < ?", cutoff: now },
    { name: "notMeLinks", table: "not_me_links", expired: "expires_at < ?", cutoff: now },
    { name: "signInPauses", table: "sign_in_pauses", expired: "until < ?", cutoff: now },
    { name: "ssoInvitations", table: "sso_invitations", expired: "expires_at < ?", cutoff: now },
    // Sent or given-up mail (its text already erased) is kept a week, to trace a Message-ID.
    { name: "mailOutbox", table: "mail_outbox", expired: "coalesce(sent_at, gave_up_at) < ?", cutoff: now - SENT_MAIL_KEPT_MS },
  ];
  if (isDevelopment(env))
    list.push({ name: "devMailbox", table: "dev_mailbox", expired: "sent_at < ?", cutoff: now - DEV_MAIL_LIFETIME_MS });
  return list;
}

export interface RetentionReport {
  deleted: Record<string, number>;
  /** False when the budget ran out first: the next run goes on. */
  complete: boolean;
}

/**
 * One batch per table with anything left, in turns, until the budget is spent: a table with a
 * backlog (a stranger's, say) never starves the others.
 */
export async function runRetention(env: Env, now: number, budget = RETENTION_BATCHES_PER_RUN): Promise<RetentionReport> {
  const all = targets(env, retentionSettings(env), now);
  const deleted: Record<string, number> = Object.fromEntries(all.map((t) => [t.name, 0]));
  let pending = all;
  let batches = 0;
  while (pending.length > 0 && batches < budget) {
    const still: Target[] = [];
    for (const target of pending) {
      if (batches >= budget) {
        still.push(target);
        continue;
      }
      batches++;
      const result = await env.DB.prepare(
        `DELETE FROM ${target.table} WHERE rowid IN (SELECT rowid FROM ${target.table} WHERE ${target.expired} LIMIT ?)`,
      )
        .bind(target.cutoff, RETENTION_BATCH)
        .run();
      deleted[target.name]! += result.meta.changes;
      if (result.meta.changes === RETENTION_BATCH) still.push(target);
    }
    pending = still;
  }
  return { deleted, complete: pending.length === 0 };
}
