import { and, desc, eq, inArray, sql } from "drizzle-orm";
import { alias } from "drizzle-orm/sqlite-core";
import type { AuditEvent } from "../audit/events";
import type { Db } from "../db";
import { auditEvents, removedPeople, users } from "../db/schema";
import { describeDevice } from "../lib/device";
import { utcMinute } from "../lib/clock";

/** The events a person sees about their own account, in their words ({actor}: the admin who did it). */
const PERSONAL: Partial<Record<AuditEvent, (d: Record<string, unknown>) => string>> = {
  "sign_in.succeeded": (d) =>
    d.method === "sso"
      ? "Signed in with Microsoft"
      : d.method === "passkey"
        ? "Signed in with a passkey, no password"
        : d.method === "password_reset"
          ? "Signed in with a new password, set with a reset link"
          : d.secondFactor
            ? `Signed in (password and ${SECOND_FACTOR[String(d.secondFactor)] ?? "a second factor"})`
            : "Signed in with a password",
  "mfa.failed": () => "A wrong code was entered while signing in",
  "mfa.enrolled": () => "Authenticator app set up",
  "passkey.added": (d) => `Passkey “${String(d.name ?? "")}” added`,
  "passkey.removed": () => "A passkey was removed",
  "mfa.skipped": () => "Setting up the authenticator app was skipped for now",
  "mfa.reset": () => "Two-step verification reset by {actor}",
  "sign_in.new_device": (d) => `Signed in from a new browser (${String(d.device ?? "unknown")}): you were emailed`,
  "account.secured": () => "“This wasn't me”: signed out everywhere, password cancelled",
  "sign_in.paused": (d) =>
    `Signing in from new browsers was paused after ${Number(d.attempts ?? 0)} wrong attempts, until ${utcMinute(Number(d.until))}: you were emailed`,
  "sign_in.pause_lifted": () => "The pause on signing in from new browsers was lifted by {actor}",
  "access_pass.issued": (d) => `A temporary access pass was issued by {actor}, valid until ${utcMinute(Number(d.expiresAt))}`,
  "access_pass.used": () => "A temporary access pass was used to sign in",
  "recovery_code.used": () => "A recovery code was used to sign in",
  "recovery_codes.regenerated": () => "New recovery codes generated",
  "recovery_codes.requested": () => "New recovery codes requested",
  "recovery_codes.issued": () => "New recovery codes issued by {actor}",
  "recovery_codes.viewed": () => "Your recovery codes were viewed by {actor}",
  "sessions.revoked": (d) =>
    d.byAdmin
      ? `${d.scope === "one" ? "A session was" : "You were"} signed out ${d.scope === "one" ? "" : "everywhere "}by {actor}: “${String(d.reason ?? "")}”`
      : d.scope === "one"
        ? "A session was signed out"
        : "All other sessions were signed out",
  "password.changed": (d) => (d.byAdmin ? "Password set by {actor}" : "Password changed"),
  "password_reset.requested": () => "A password reset link was emailed to you",
  "password_reset.completed": () => "Password set with a reset link",
  "account.exported": () => "Your data was downloaded from My account",
};
const SECOND_FACTOR: Record<string, string> = {
  app: "authenticator app",
  email: "emailed code",
  recovery: "recovery code",
  enrollment: "app set-up",
  passkey: "a passkey",
  remembered_device: "a remembered device",
  pass: "a temporary access pass",
};

export interface PersonalEvent {
  at: number;
  text: string;
  device: string;
  ip: string;
}

/** The newest security events about one person's account (SECURITY.md 11). */
export async function personalSecurityLog(db: Db, userId: string, limit = 30): Promise<PersonalEvent[]> {
  const actor = alias(users, "actor");
  const rows = await db
    .select({
      at: auditEvents.at,
      event: auditEvents.event,
      details: auditEvents.details,
      ip: auditEvents.ip,
      userAgent: auditEvents.userAgent,
      actorId: auditEvents.actorId,
      actorName: sql<string | null>`coalesce(${actor.name}, ${removedPeople.pseudonym})`,
    })
    .from(auditEvents)
    .leftJoin(actor, eq(actor.id, auditEvents.actorId))
    .leftJoin(removedPeople, eq(removedPeople.id, auditEvents.actorId))
    .where(and(eq(auditEvents.targetId, userId), inArray(auditEvents.event, Object.keys(PERSONAL))))
    .orderBy(desc(auditEvents.at), desc(auditEvents.id))
    .limit(limit);
  return rows.map((r) => {
    const byOther = r.actorId !== null && r.actorId !== userId;
    return {
      at: r.at,
      text: PERSONAL[r.event as AuditEvent]!(r.details ?? {}).replace("{actor}", byOther ? (r.actorName ?? "an administrator") : "you"),
      // An admin's action happened on the admin's device, not the person's: show neither.
      device: byOther ? "—" : describeDevice(r.userAgent ?? ""),
      ip: byOther ? "—" : (r.ip ?? "—"),
    };
  });
}

export function SecurityLog({ events }: { events: PersonalEvent[] }) {
  return (
    <div class="panel">
      <h2>Security activity</h2>
      {events.length === 0 ? (
        <p>Nothing yet.</p>
      ) : (
        <div class="table-scroll" tabindex={0}>
          <table data-testid="security-log">
            <thead>
              <tr>
                <th scope="col">When (UTC)</th>
                <th scope="col">What happened</th>
                <th scope="col">Device</th>
                <th scope="col">IP address</th>
              </tr>
            </thead>
            <tbody>
              {events.map((e) => (
                <tr>
                  <td>{new Date(e.at).toISOString().slice(0, 16).replace("T", " ")}</td>
                  <td>{e.text}</td>
                  <td>{e.device}</td>
                  <td>{e.ip}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <p class="hint">If something here was not you, change your password and tell your administrator.</p>
    </div>
  );
}
