// Removing a person, a contact or an agent who is already disabled. Their account
// row goes, and with it (ON DELETE CASCADE) their authenticator secret, passkeys, recovery codes,
// password history, Microsoft link, invitations, reset links and code requests; their Durable
// Object (sessions, remembered devices, challenges, email codes) is emptied. The audit log and
// asset history keep their records under the person's id, shown as a stable pseudonym
// (removed_people), and the emails written into audit details are replaced by that pseudonym.
import { sha256 } from "@oslojs/crypto/sha2";
import { encodeBase32UpperCaseNoPadding } from "@oslojs/encoding";
import { type Holder, mayManagePerson } from "../access/grants";
import type { Result } from "../admin/agents";
import { holderOf } from "../admin/agents";
import { userStub } from "../auth/user-object";
import { normalizeEmail } from "../auth/users";
import type { Db } from "../db";
import { portalOfKind, type UserKind } from "../portal/policy";
import { agentFitsGroupWhere } from "../assets/listing";

/** "Removed contact 7K2QM4XAPB": the same for one person everywhere, derived from nothing personal. */
export function pseudonymFor(kind: UserKind, id: string): string {
  const code = encodeBase32UpperCaseNoPadding(sha256(new TextEncoder().encode(`edgedesk pseudonym\n${id}`))).slice(0, 10);
  return `Removed ${kind} ${code}`;
}

/** A record an agent still manages, listed on the removal page so it can be reassigned. */
export interface ManagedRecord {
  kind: "asset" | "software";
  id: string;
  name: string;
  /** The asset tag, or the software's version. */
  detail: string | null;
  groupName: string | null;
}

export interface ManagedRecords {
  assets: number;
  software: number;
  /** The first 50 of each, by name. */
  shown: ManagedRecord[];
}

// Retired records are read-only and managed by nobody any more: removal unassigns them itself.
const MANAGED = (table: string) => `${table}.agent_id = ? AND ${table}.status <> 'retired'`;

/** What a removed agent would leave unmanaged: removal is refused until these are reassigned. */
export async function managedRecords(d1: D1Database, agentId: string): Promise<ManagedRecords> {
  const [counts, assets, software] = await d1.batch<Record<string, unknown>>([
    d1
      .prepare(
        `SELECT (SELECT count(*) FROM assets WHERE ${MANAGED("assets")}) AS assets, (SELECT count(*) FROM software WHERE ${MANAGED("software")}) AS software`,
      )
      .bind(agentId, agentId),
    d1
      .prepare(
        `SELECT 'asset' AS kind, assets.id, assets.name, assets.asset_tag AS detail, g.name AS groupName FROM assets LEFT JOIN groups g ON g.id = ` +
          `assets.group_id WHERE ${MANAGED("assets")} ORDER BY assets.name, assets.id LIMIT 50`,
      )
      .bind(agentId),
    d1
      .prepare(
        `SELECT 'software' AS kind, software.id, software.name, software.software_version AS detail, g.name AS groupName FROM software LEFT JOIN ` +
          `groups g ON g.id = software.group_id WHERE ${MANAGED("software")} ORDER BY software.name, software.id LIMIT 50`,
      )
      .bind(agentId),
  ]);
  const count = counts!.results[0] as { assets: number; software: number };
  return {
    assets: count.assets,
    software: count.software,
    shown: [...assets!.results, ...software!.results] as unknown as ManagedRecord[],
  };
}

/** The ids of every open record of one list the agent manages, for the bulk reassign. */
export async function managedRecordIds(d1: D1Database, table: "assets" | "software", agentId: string): Promise<string[]> {
  const { results } = await d1
    .prepare(`SELECT id FROM ${table} WHERE ${MANAGED(table)}`)
    .bind(agentId)
    .all<{ id: string }>();
  return results.map((r) => r.id);
}

/**
 * How many open records of each list the agent manages sit in a group the new agent is not in:
 * a reassign goes ahead only when both are 0, so neither list changes without the other.
 */
export async function outsideGroupsOf(
  d1: D1Database,
  agentId: string,
  to: { groupIds: readonly string[] },
): Promise<{ assets: number; software: number }> {
  const fits = agentFitsGroupWhere(to);
  const outside = (table: string) => `(SELECT count(*) FROM ${table} t WHERE ${MANAGED("t")} AND NOT ${fits.sql})`;
  return (await d1
    .prepare(`SELECT ${outside("assets")} AS assets, ${outside("software")} AS software`)
    .bind(agentId, ...fits.params, agentId, ...fits.params)
    .first<{ assets: number; software: number }>())!;
}

/** How many assets list the person under "Used by": removal clears that field (with history). */
export async function assetsUsedBy(d1: D1Database, userId: string): Promise<number> {
  return (await d1.prepare("SELECT count(*) AS n FROM assets WHERE used_by_id = ?").bind(userId).first<{ n: number }>())?.n ?? 0;
}

/**
 * Every spelling of the person's email the audit details hold: the current one, and those written
 * by events about them (created with, changed from and to, reset asked for), exactly as written.
 */
async function emailsInAudit(d1: D1Database, userId: string, current: string): Promise<string[]> {
  const { results } = await d1
    .prepare(
      `SELECT DISTINCT value FROM (
         SELECT json_extract(details, '$.email') AS value FROM audit_events WHERE target_id = ?1 AND json_type(details, '$.email') = 'text'
         UNION SELECT json_extract(details, '$.email.from') FROM audit_events WHERE target_id = ?1 AND json_type(details, '$.email.from') = 'text'
         UNION SELECT json_extract(details, '$.email.to') FROM audit_events WHERE target_id = ?1 AND json_type(details, '$.email.to') = 'text'
       ) WHERE value IS NOT NULL LIMIT 20`,
    )
    .bind(userId)
    .all<{ value: string }>();
  const all = new Set([current, ...results.map((r) => r.value)]);
  for (const email of [...all]) all.add(normalizeEmail(email));
  // D1 allows 100 bound parameters a statement; 20 spellings use 40 of them below.
  return [...all].slice(0, 20);
}

export interface RemovalRequest {
  actor: Holder;
  targetId: string;
  /** The person's email typed again, so nobody is removed by a slip of the mouse. */
  confirm: string;
  now: number;
  ip: string | null;
  userAgent: string | null;
}

export interface Removed {
  kind: UserKind;
  pseudonym: string;
  usedAssetsCleared: number;
}

const refuse = (message: string, status: 400 | 403 | 404 | 409) => ({ ok: false as const, message, status });

/**
 * Remove a contact, or an agent who is disabled and manages no open records, within the access
 * rule. One D1 batch does it all or nothing: the first statement claims the removal only while
 * the person is as checked (same email and role, still disabled, still managing nothing), and
 * every later statement runs only under that claim. The user's Durable Object is emptied before
 * (so no session outlives the check) and after (so none started in between survives).
 */
export async function removePerson(env: Env, db: Db, request: RemovalRequest): Promise<Result<Removed>> {
  const { actor, targetId, now } = request;
  const target = await holderOf(db, targetId);
  if (!target) return refuse("That person does not exist, or was already removed.", 404);
  if (target.id === actor.id) return refuse("You cannot remove yourself. Ask another administrator.", 403);
  const allowed = mayManagePerson(actor, target, "remove them");
  if (!allowed.ok) return refuse(allowed.message, 403);
  if (normalizeEmail(request.confirm) !== target.email) return refuse(`Type ${target.email} exactly to confirm the removal.`, 400);
  if (target.kind === "agent" && target.active) return refuse(`Disable ${target.name} first: only a disabled agent can be removed.`, 409);
  if (target.kind === "agent") {
    const managed = await managedRecords(env.DB, target.id);
    if (managed.assets + managed.software > 0)
      return refuse(
        `${target.name} still manages ${managed.assets} assets and ${managed.software} software records. Reassign them first.`,
        409,
      );
  }
  const pseudonym = pseudonymFor(target.kind, target.id);
  const emails = await emailsInAudit(env.DB, target.id, target.email);
  const quoted = emails.map((e) => JSON.stringify(e));
  const replaced = quoted.reduce((expr) => `replace(${expr}, ?, ?)`, "details");
  const mentions = quoted.map(() => "instr(details, ?) > 0").join(" OR ");
  const portal = portalOfKind(target.kind);

  await userStub(env, target.id).eraseEverything(target.id, { emails, pseudonym });
  const d1 = env.DB;
  // Before the final DELETE: the claim row exists and the account still does (only in this batch).
  const claimed = "EXISTS (SELECT 1 FROM removed_people WHERE id = ?) AND EXISTS (SELECT 1 FROM users WHERE id = ?)";
  const unassign = (
    table: "assets" | "software",
    version: "version" | "row_version",
    field: "usedBy" | "agent",
    column: "used_by_id" | "agent_id",
    onlyRetired: boolean,
  ) => {
    const where = `${column} = ?${onlyRetired ? " AND status = 'retired'" : ""} AND ${claimed}`;
    const type = table === "assets" ? "asset" : "software";
    return [
      d1
        .prepare(
          `INSERT INTO inventory_history (record_type, record_id, field, old_value, new_value, version_after, actor_id, batch_id, at) SELECT ?, id, ?, ` +
            `${column}, NULL, ${version} + 1, ?, NULL, ? FROM ${table} WHERE ${where}`,
        )
        .bind(type, field, actor.id, now, target.id, target.id, target.id),
      d1
        .prepare(`UPDATE ${table} SET ${column} = NULL, ${version} = ${version} + 1, updated_at = ? WHERE ${where}`)
        .bind(now, target.id, target.id, target.id),
    ];
  };
  const results = await d1.batch([
    d1
      .prepare(
        `INSERT INTO removed_people (id, kind, pseudonym, removed_at, removed_by)
         SELECT id, kind, ?, ?, ? FROM users
         WHERE id = ? AND email = ? AND role_id IS ? AND (kind = 'contact' OR active = 0)
           AND NOT EXISTS (SELECT 1 FROM assets a WHERE ${MANAGED("a")})
           AND NOT EXISTS (SELECT 1 FROM software s WHERE ${MANAGED("s")})`,
      )
      .bind(pseudonym, now, actor.id, target.id, target.email, target.roleId, target.id, target.id),
    ...unassign("assets", "version", "usedBy", "used_by_id", false),
    ...unassign("assets", "version", "agent", "agent_id", true),
    ...unassign("software", "row_version", "agent", "agent_id", true),
    // Sign-in failures and reset requests name an email without a target: those of this portal only,
    // since the same address may belong to someone else in the other portal.
    d1
      .prepare(
        `UPDATE audit_events SET details = ${replaced}
         WHERE (target_id = ? OR (target_id IS NULL AND portal = ? AND event IN ('sign_in.failed', 'sign_in.throttled', 'password_reset.requested')))
           AND (${mentions}) AND ${claimed}`,
      )
      .bind(...quoted.flatMap((q) => [q, JSON.stringify(pseudonym)]), target.id, portal, ...quoted, target.id, target.id),
    d1
      .prepare(
        `INSERT INTO audit_events (at, event, portal, actor_id, target_id, ip, user_agent, details) SELECT ?, 'user.removed', 'agent', ?, ?, ?, ?, ? WHERE ${claimed}`,
      )
      .bind(
        now,
        actor.id,
        target.id,
        request.ip,
        request.userAgent,
        JSON.stringify({ kind: target.kind, pseudonym }),
        target.id,
        target.id,
      ),
    // The development mailbox (empty in production) holds mail sent to them.
    d1
      .prepare(`DELETE FROM dev_mailbox WHERE lower(to_address) IN (SELECT value FROM json_each(?)) AND ${claimed}`)
      .bind(JSON.stringify(emails.map(normalizeEmail)), target.id, target.id),
    d1.prepare("DELETE FROM users WHERE id = ? AND EXISTS (SELECT 1 FROM removed_people WHERE id = ?)").bind(target.id, target.id),
  ]);
  if (results[0]!.meta.changes === 0)
    return refuse(
      `${target.name} changed while you were removing them (their role, email, active state or the records they manage). Review the page and try again.`,
      409,
    );
  await userStub(env, target.id).eraseEverything(target.id, { emails, pseudonym });
  return { ok: true, value: { kind: target.kind, pseudonym, usedAssetsCleared: results[1]!.meta.changes } };
}
