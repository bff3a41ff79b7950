import { DurableObject } from "cloudflare:workers";
import { getDb } from "../../db";
import type { Portal, UserKind } from "../../portal/policy";
import { findUserById } from "../users";
import type { EmailOtpCheck, EmailOtpIssue } from "./email-otp-rules";
import { migrateSchema } from "../../lib/do-schema";
import { USER_DO_SCHEMA } from "./schema";
import * as sessions from "./sessions";
import * as devices from "./devices";
import * as knownDevices from "./known-devices";
import * as emailOtp from "./email-otp";
import { putWebauthnChallenge, takeWebauthnChallenge } from "./webauthn-challenges";
import { holdsExpiringRows, sweepExpired } from "./sweep";
import * as owed from "./owed-alerts";
import * as owedAudit from "./owed-audits";
import type { OwedAudit } from "./owed-audits";
import { writeOwedAudits } from "../owed-audits";
import { storeOwedAlert } from "../new-device-alert";
import { backoff } from "../../lib/backoff";
import { DAY, MINUTE } from "../../lib/clock";
import type { NewSession, SessionCheck, SessionInfo, SessionRotation } from "./sessions";
import type { NewRememberedDevice, RememberedDevice } from "./devices";

export type { NewSession, SessionCheck, SessionInfo, SessionStage, SignInMethod } from "./sessions";
export { PENDING_SESSION_LIFETIME_MS } from "./sessions";
export type { RememberedDevice } from "./devices";

/** What a request needs to know about its user, cached here so the hot path reads no D1. */
export interface UserProfile {
  id: string;
  kind: UserKind;
  email: string;
  name: string;
  roleId: string | null;
  active: boolean;
  /** The list columns the person chose; absent in profiles cached before it. */
  listColumns?: Partial<Record<"asset" | "software", string[]>> | null;
}

const SWEEP_EVERY_MS = DAY;
/** When the alarm stores an alert or audit entry the request has not (it normally has, well before). */
const OWED_ALERT_FIRST_RETRY_MS = MINUTE;

/**
 * One instance per user (named by user id): that user's sessions, remembered devices, WebAuthn
 * challenges, email-code state and cached profile. A single location that reads its own writes,
 * so revocation here is immediate and strongly consistent. The methods are a thin RPC layer over
 * the store modules beside this file; the tables and their versions are in ./schema.ts.
 */
export class UserDurableObject extends DurableObject<Env> {
  private profile: UserProfile | null | undefined;
  // Bumped by refreshProfile, so a D1 read that was under way then is not cached afterwards.
  private profileVersion = 0;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    migrateSchema(ctx.storage, USER_DO_SCHEMA);
  }

  private get sql(): SqlStorage {
    return this.ctx.storage.sql;
  }

  /** Once a day while the object holds anything with a lifetime, its alarm deletes what has ended. */
  private async scheduleSweep(): Promise<void> {
    if ((await this.ctx.storage.getAlarm()) === null) await this.ctx.storage.setAlarm(Date.now() + SWEEP_EVERY_MS);
  }

  /** The alarm rings by `at`, or sooner if it already would. */
  private async alarmBy(at: number): Promise<void> {
    const current = await this.ctx.storage.getAlarm();
    if (current === null || current > at) await this.ctx.storage.setAlarm(at);
  }

  override async alarm(): Promise<void> {
    const now = Date.now();
    sweepExpired(this.sql, now);
    await this.payOwedAlerts(now);
    await this.payOwedAudits(now);
    const tries = [...owed.owedAlerts(this.sql), ...owedAudit.owedAudits(this.sql)].map((a) => a.tries);
    if (tries.length) await this.ctx.storage.setAlarm(now + backoff(Math.min(...tries)));
    else if (holdsExpiringRows(this.sql)) await this.ctx.storage.setAlarm(now + SWEEP_EVERY_MS);
  }

  /**
   * A change and the audit entries it owes, in one transaction: owed only where the change took.
   * The request stores them in D1 next (auditsStored); until it has, the alarm will.
   */
  private async changeOwingAudits<T>(
    change: () => T,
    took: (result: T) => boolean,
    audits: readonly OwedAudit[] | (() => readonly OwedAudit[]),
  ): Promise<T> {
    // The alarm is set first: an object that stops right after the change still wakes to store
    // what it owes (an alarm with nothing owed only sweeps).
    if (typeof audits === "function" || audits.length) await this.alarmBy(Date.now() + OWED_ALERT_FIRST_RETRY_MS);
    return this.ctx.storage.transactionSync(() => {
      const result = change();
      const owed = typeof audits === "function" ? audits() : audits;
      if (owed.length && took(result)) owedAudit.recordOwedAudits(this.sql, owed, Date.now());
      return result;
    });
  }

  /** Store in D1 each audit entry a request could not. An entry is never given up: the log would lie. */
  private async payOwedAudits(now: number): Promise<void> {
    for (const entry of owedAudit.owedAudits(this.sql)) {
      try {
        // The notices wait in the outbox for the minute's run, which sends what is due.
        await writeOwedAudits(this.env, getDb(this.env.DB), [entry]);
        owedAudit.auditsPaid(this.sql, [entry.key]);
      } catch (error) {
        owedAudit.auditTried(this.sql, entry.key);
        const age = now - entry.owedSince > DAY ? " (owed for over a day)" : "";
        console.error(`Storing an owed audit entry (${entry.entry.event}) failed${age}; to be tried again:`, error);
      }
    }
  }

  /** The request stored these entries in D1: nothing is owed for them. */
  async auditsStored(keys: string[]): Promise<void> {
    owedAudit.auditsPaid(this.sql, keys);
  }

  /** Store in the outbox each new-device alert a request could not; one owed for a day is given up, loudly. */
  private async payOwedAlerts(now: number): Promise<void> {
    for (const alert of owed.owedAlerts(this.sql)) {
      if (now - alert.owedSince > DAY) {
        owed.alertPaid(this.sql, alert.tokenHash);
        console.error(`A new-device alert for ${alert.userId} could not be stored for a day, and was given up.`);
        continue;
      }
      try {
        await storeOwedAlert(this.env, alert, now);
        owed.alertPaid(this.sql, alert.tokenHash);
      } catch (error) {
        owed.alertTried(this.sql, alert.tokenHash);
        console.error(`Storing an owed new-device alert for ${alert.userId} failed; to be tried again:`, error);
      }
    }
  }

  /** The request stored the alert in the outbox: nothing is owed for that browser. */
  async alertStored(tokenHash: string): Promise<void> {
    owed.alertPaid(this.sql, tokenHash);
  }

  async putChallenge(purpose: string, challenge: string, expiresAt: number): Promise<void> {
    putWebauthnChallenge(this.sql, purpose, challenge, expiresAt);
    await this.scheduleSweep();
  }

  async takeChallenge(purpose: string, now: number): Promise<string | null> {
    return takeWebauthnChallenge(this.sql, purpose, now);
  }

  async rememberDevice(device: NewRememberedDevice): Promise<void> {
    devices.insertDevice(this.sql, device);
    await this.scheduleSweep();
  }

  async useRememberedDevice(tokenHash: string, generation: number, now: number, seen: { ip: string; userAgent: string }): Promise<boolean> {
    return devices.useDevice(this.sql, tokenHash, generation, now, seen);
  }

  async listDevices(generation: number, now: number): Promise<RememberedDevice[]> {
    return devices.listLiveDevices(this.sql, generation, now);
  }

  async forgetDevice(id: string, audits: readonly OwedAudit[] = []): Promise<boolean> {
    return this.changeOwingAudits(() => devices.deleteDevice(this.sql, id), Boolean, audits);
  }

  async forgetAllDevices(): Promise<number> {
    return devices.deleteAllDevices(this.sql);
  }

  /**
   * A password sign-in succeeded in this browser: was it first, known or new? A new one owes its
   * alert from the same transaction on (`alertStored` pays it; until then the alarm will).
   */
  async noteSignInDevice(
    tokenHash: string,
    now: number,
    seen: { ip: string; userAgent: string },
    proven: boolean,
    alert: { alertId: string; userId: string; portal: Portal; siteOrigin: string },
  ): Promise<knownDevices.Sighting> {
    const sighting = knownDevices.noteSighting(this.sql, tokenHash, now, knownDevices.KNOWN_DEVICE_WINDOW_DAYS * DAY, seen, proven);
    if (sighting === "new") {
      owed.recordOwedAlert(this.sql, { ...alert, tokenHash, at: now, ip: seen.ip, userAgent: seen.userAgent, owedSince: Date.now() });
      await this.alarmBy(Date.now() + OWED_ALERT_FIRST_RETRY_MS);
    }
    await this.scheduleSweep();
    return sighting;
  }

  async isProvenBrowser(tokenHash: string, now: number): Promise<boolean> {
    return knownDevices.isProvenBrowser(this.sql, tokenHash, now, knownDevices.KNOWN_DEVICE_WINDOW_DAYS * DAY);
  }

  async hasSignedInBefore(): Promise<boolean> {
    return knownDevices.hasSignedInBefore(this.sql);
  }

  async forgetKnownDevice(tokenHash: string): Promise<boolean> {
    return knownDevices.forgetKnownDevice(this.sql, tokenHash);
  }

  async createSession(session: NewSession, audits: readonly OwedAudit[] = []): Promise<void> {
    await this.changeOwingAudits(
      () => sessions.insertSession(this.sql, session),
      () => true,
      audits,
    );
    await this.scheduleSweep();
  }

  /**
   * The session behind a token with its user's profile; null when it has ended (or the user is
   * disabled, which ends every session), `{ ended: "policy" }` when an immediate policy change ended it.
   */
  async validateSession(
    userId: string,
    check: SessionCheck,
  ): Promise<{ session: SessionInfo; profile: UserProfile } | { ended: "policy" } | null> {
    const found = sessions.findSessionByToken(this.sql, check);
    if (!found || "ended" in found) return found;
    const profile = await this.getProfile(userId);
    if (!profile?.active) {
      sessions.deleteAllSessions(this.sql);
      return null;
    }
    return { session: found.live, profile };
  }

  async rotateSession(oldTokenHash: string, next: SessionRotation, audits: readonly OwedAudit[] = []): Promise<boolean> {
    return this.changeOwingAudits(() => sessions.rotateSessionToken(this.sql, oldTokenHash, next), Boolean, audits);
  }

  async listSessions(check: Omit<SessionCheck, "tokenHash">): Promise<SessionInfo[]> {
    return sessions.listLiveSessions(this.sql, check);
  }

  async revokeSessionByToken(tokenHash: string, audits: readonly OwedAudit[] = []): Promise<boolean> {
    return this.changeOwingAudits(() => sessions.deleteSessionByToken(this.sql, tokenHash), Boolean, audits);
  }

  async revokeSession(sessionId: string, audits: readonly OwedAudit[] = []): Promise<boolean> {
    return this.changeOwingAudits(() => sessions.deleteSession(this.sql, sessionId), Boolean, audits);
  }

  /**
   * Every session (but one) ends. `audits` are owed with the number that ended in their details
   * (owedAudit.withEndedCount, as the request stores them too).
   */
  async revokeAllSessions(exceptSessionId?: string, audits: readonly OwedAudit[] = [], { ifAny = false } = {}): Promise<number> {
    let ended = 0;
    return this.changeOwingAudits(
      () => {
        ended = sessions.deleteAllSessions(this.sql, exceptSessionId);
        return ended;
      },
      // Recorded even when none ended where the person asked (the entry says how many did); `ifAny`:
      // only where one did (an admin signing someone out, who is told and emailed only if so).
      (count) => !ifAny || count > 0,
      // Without entries to owe (a disabled account, a password change), no alarm is set for them.
      audits.length ? () => owedAudit.withEndedCount(audits, ended) : [],
    );
  }

  async issueEmailOtp(userId: string, flowId: string, now: number): Promise<EmailOtpIssue> {
    const issued = await emailOtp.issueEmailOtp(this.sql, this.env, userId, flowId, now);
    if (issued.ok) await this.scheduleSweep();
    return issued;
  }

  async confirmEmailOtp(userId: string, challengeId: string, now: number): Promise<boolean> {
    return emailOtp.confirmEmailOtp(this.sql, this.env, userId, challengeId, now);
  }

  async cancelEmailOtp(userId: string, challengeId: string): Promise<void> {
    return emailOtp.cancelEmailOtp(this.sql, this.env, userId, challengeId);
  }

  async verifyEmailOtp(userId: string, flowId: string, code: string, now: number): Promise<EmailOtpCheck> {
    return emailOtp.verifyEmailOtp(this.sql, this.env, userId, flowId, code, now);
  }

  async emailOtpStatus(flowId: string): Promise<{ sentAt: number; resendAt: number } | null> {
    return emailOtp.emailOtpStatus(this.sql, flowId);
  }

  /**
   * The person was removed. Everything this object holds goes (sessions, devices,
   * challenges, email-code state, the cached profile, the alarm), and it starts again empty.
   */
  /**
   * Forget everything this object holds of the person. `pseudonymise` (a removal): the audit
   * entries it still owes name them by their pseudonym, never an email of theirs, before they are
   * stored, now or later by the alarm; a removal's own rewrite of the log cannot reach those.
   */
  async eraseEverything(userId: string, pseudonymise?: { emails: readonly string[]; pseudonym: string }): Promise<void> {
    this.profileVersion++;
    this.profile = undefined;
    // Audit entries still owed outlive the person (the log keeps what they did); the notices to
    // them do not. They are stored now where D1 takes them; the rest wait for the alarm.
    owedAudit.readyOwedAuditsForErasure(this.sql, pseudonymise);
    await this.payOwedAudits(Date.now());
    const owedEntries = owedAudit.owedAudits(this.sql).map(({ key, entry, origin }) => ({ key, entry, origin }));
    await this.ctx.storage.deleteAlarm();
    await this.ctx.storage.deleteAll();
    migrateSchema(this.ctx.storage, USER_DO_SCHEMA);
    if (owedEntries.length) {
      owedAudit.recordOwedAudits(this.sql, owedEntries, Date.now());
      await this.alarmBy(Date.now() + OWED_ALERT_FIRST_RETRY_MS);
    }
    await emailOtp.forgetEmailOtp(this.env, userId);
  }

  /** Forget the cached profile: the next request reads the user's row from D1 again. */
  async refreshProfile(): Promise<void> {
    this.profileVersion++;
    this.profile = undefined;
    await this.ctx.storage.delete("profile");
  }

  private async getProfile(userId: string): Promise<UserProfile | null> {
    if (this.profile !== undefined) return this.profile;
    const stored = await this.ctx.storage.get<UserProfile>("profile");
    if (stored) {
      this.profile = stored;
      return stored;
    }
    const version = this.profileVersion;
    const user = await findUserById(getDb(this.env.DB), userId);
    const profile = user && {
      id: user.id,
      kind: user.kind,
      email: user.email,
      name: user.name,
      roleId: user.roleId,
      active: user.active,
      listColumns: user.listColumns ?? null,
    };
    if (version === this.profileVersion && profile) {
      await this.ctx.storage.put("profile", profile);
      this.profile = profile;
    }
    return profile;
  }
}
