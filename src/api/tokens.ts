// API tokens: what a SIEM, a SOAR playbook or an identity provider presents instead of a
// session. Plain values in and out; src/request/api-auth.ts reads them off a request.
//
// A token is `edk.<id>.<secret>`: the id finds the row, and only an HMAC of the secret under
// HMAC_KEY is stored (SECURITY.md 8), so neither the database alone nor its backups can use or
// try a token. A token acts with its creator's permissions as they are at each request: it
// outlives neither its creator nor the role that allowed each of its scopes.
import { and, desc, eq, isNull, sql } from "drizzle-orm";
import { alias } from "drizzle-orm/sqlite-core";
import type { Db } from "../db";
import { insertWhere } from "../db/insert-where";
import { apiTokens, apiTokenSources, removedPeople, users } from "../db/schema";
import { type Holder, powersOf } from "../access/grants";
import { PERMISSIONS, type Permission } from "../access/permissions";
import { AFTER_ONE_CHANGE, type AuditOrigin, auditInsertWhere } from "../audit/events";
import { holderOf } from "../admin/agents";
import { newId, randomToken } from "../lib/crypto";
import { DAY, MINUTE } from "../lib/clock";
import { hmacHex, hmacMatches } from "../lib/encryption";

/** What a token may do, and the permission its creator must hold (to create it, and at each use). */
export const API_SCOPES = {
  "audit:read": { label: "Read the audit log", needs: "manageAuthentication" },
  "sessions:revoke": { label: "Sign people out", needs: "manageAgents" },
} as const satisfies Record<string, { label: string; needs: Permission }>;
export type ApiScope = keyof typeof API_SCOPES;
export const ALL_SCOPES = Object.keys(API_SCOPES) as ApiScope[];

export const DEFAULT_TOKEN_DAYS = 90;
export const MAX_TOKEN_DAYS = 365;
/** Tokens not revoked at once: enough for every integration an organisation runs, and a bound on a runaway script. */
export const MAX_LIVE_TOKENS = 100;
/** How often a token's "last used" is written: a busy integration does not write on every request. */
const LAST_USED_EVERY = MINUTE;

const TOKEN_FORMAT = /^edk\.(tok_[a-z2-7]{16})\.([a-z2-7]{52})$/;

function macInput(id: string, secret: string): string {
  return `api token\n${id}\n${secret}`;
}

/** Why an agent may not give a token these scopes, or null when they may. */
export function scopeRefusal(creator: Holder, scopes: readonly ApiScope[]): string | null {
  const held = powersOf(creator.roleId, creator.permissions);
  const over = scopes.filter((s) => !held.has(API_SCOPES[s].needs));
  if (!over.length) return null;
  const needed = [...new Set(over.map((s) => `“${PERMISSIONS[API_SCOPES[s].needs]}”`))].join(", ");
  return `You cannot give a token ${over.map((s) => `“${s}”`).join(", ")}: it needs ${needed}, which your role does not hold.`;
}

export type Created = { ok: true; id: string; token: string; expiresAt: number } | { ok: false; status: 403 | 409; message: string };

/** A new token, stored with its audit entry in one batch; its whole text is returned this once. */
export async function createToken(
  env: Env,
  db: Db,
  request: { name: string; scopes: ApiScope[]; days: number; creator: Holder },
  origin: AuditOrigin,
): Promise<Created> {
  const refusal = scopeRefusal(request.creator, request.scopes);
  if (refusal) return { ok: false, status: 403, message: refusal };
  const now = origin.at;
  const id = newId("tok");
  const secret = randomToken(32);
  const expiresAt = now + request.days * DAY;
  const row = {
    id,
    name: request.name,
    scopes: request.scopes,
    secretHash: await hmacHex(env, macInput(id, secret)),
    createdBy: request.creator.id,
    createdAt: now,
    expiresAt,
  };
  // The bound is checked in the insert itself, so two creations at once cannot pass it together.
  const live = sql`(SELECT count(*) FROM ${apiTokens} WHERE ${apiTokens.revokedAt} IS NULL AND ${apiTokens.expiresAt} > ${now}) < ${MAX_LIVE_TOKENS}`;
  const [inserted] = await db.batch([
    insertWhere(db, apiTokens, row, live),
    auditInsertWhere(
      db,
      {
        event: "api_token.created",
        portal: "agent",
        actorId: request.creator.id,
        targetId: null,
        details: { tokenId: id, name: request.name, scopes: request.scopes, expiresAt: new Date(expiresAt).toISOString() },
      },
      origin,
      AFTER_ONE_CHANGE,
    ),
  ]);
  if (inserted.meta.changes !== 1)
    return {
      ok: false,
      status: 409,
      message: `There are already ${MAX_LIVE_TOKENS} tokens in use: revoke one you no longer need first.`,
    };
  return { ok: true, id, token: `edk.${id}.${secret}`, expiresAt };
}

/** Every token, newest first, with its creator's name (or pseudonym, once removed). */
export async function listTokens(db: Db) {
  const creator = alias(users, "creator");
  const removed = alias(removedPeople, "removed_creator");
  return db
    .select({
      id: apiTokens.id,
      name: apiTokens.name,
      scopes: apiTokens.scopes,
      createdAt: apiTokens.createdAt,
      expiresAt: apiTokens.expiresAt,
      revokedAt: apiTokens.revokedAt,
      lastUsedAt: apiTokens.lastUsedAt,
      lastUsedIp: apiTokens.lastUsedIp,
      createdById: apiTokens.createdBy,
      createdBy: sql<string>`coalesce(${creator.name}, ${removed.pseudonym}, ${apiTokens.createdBy})`.as("created_by_name"),
    })
    .from(apiTokens)
    .leftJoin(creator, eq(creator.id, apiTokens.createdBy))
    .leftJoin(removed, eq(removed.id, apiTokens.createdBy))
    .orderBy(desc(apiTokens.createdAt), desc(apiTokens.id));
}

/**
 * What the token list says of a token: whether requests with it work now, and if not, why. A
 * token lives only as long as its creator, and each scope only while they hold what it needs.
 */
export function tokenStatus(
  token: { revokedAt: number | null; expiresAt: number; scopes: string[] },
  creator: (Holder & { kind: string; active: boolean }) | null,
  now: number,
): string {
  if (token.revokedAt !== null) return "Revoked";
  if (token.expiresAt <= now) return "Expired";
  if (creator?.kind !== "agent" || !creator.active) return "Not working: its creator was removed or disabled";
  const lost = token.scopes.filter((s): s is ApiScope => s in API_SCOPES && scopeRefusal(creator, [s as ApiScope]) !== null);
  if (lost.length === token.scopes.length) return "Not working: its creator no longer holds what its scopes need";
  if (lost.length) return `Partly working: ${lost.join(", ")} needs a permission its creator no longer holds`;
  return "Active";
}

/** Revoke a token: refused from its next request. False when it was already revoked (or never was). */
export async function revokeToken(db: Db, tokenId: string, actorId: string, origin: AuditOrigin): Promise<boolean> {
  const [changed] = await db.batch([
    db
      .update(apiTokens)
      .set({ revokedAt: origin.at, revokedBy: actorId })
      .where(and(eq(apiTokens.id, tokenId), isNull(apiTokens.revokedAt))),
    auditInsertWhere(
      db,
      { event: "api_token.revoked", portal: "agent", actorId, targetId: null, details: { tokenId } },
      origin,
      AFTER_ONE_CHANGE,
    ),
  ]);
  return changed.meta.changes === 1;
}

/** A token that passed, and the agent it acts for as they are now. */
export interface ApiCaller {
  tokenId: string;
  name: string;
  scopes: ApiScope[];
  actor: Holder & { name: string; email: string };
}

export type TokenCheck = ({ ok: true } & ApiCaller) | { ok: false; status: 401 | 403; code: string; message: string };

const UNKNOWN: TokenCheck = { ok: false, status: 401, code: "invalid_token", message: "The API token is not valid." };

/**
 * Who a presented token acts for, when it is genuine, live, holds `scope`, and its creator still
 * exists, is active and holds what the scope needs. Its use is recorded: the time (at most each
 * minute) and, the first time it comes from an address, an audit entry in the same batch.
 */
export async function authenticateToken(env: Env, db: Db, presented: string, scope: ApiScope, origin: AuditOrigin): Promise<TokenCheck> {
  const match = TOKEN_FORMAT.exec(presented);
  if (!match) return UNKNOWN;
  const [, id, secret] = match as unknown as [string, string, string];
  const row = await db.select().from(apiTokens).where(eq(apiTokens.id, id)).get();
  if (!row || !(await hmacMatches(env, macInput(id, secret), row.secretHash))) return UNKNOWN;
  if (row.revokedAt !== null) return { ok: false, status: 401, code: "token_revoked", message: "This API token was revoked." };
  if (row.expiresAt <= origin.at) return { ok: false, status: 401, code: "token_expired", message: "This API token has expired." };
  const creator = await holderOf(db, row.createdBy);
  if (creator?.kind !== "agent" || !creator.active)
    return {
      ok: false,
      status: 401,
      code: "token_owner_gone",
      message: "The agent who created this API token has been removed or disabled, so it no longer works.",
    };
  const scopes = row.scopes.filter((s): s is ApiScope => s in API_SCOPES);
  if (!scopes.includes(scope))
    return { ok: false, status: 403, code: "insufficient_scope", message: `This API token does not have the “${scope}” scope.` };
  if (scopeRefusal(creator, [scope]))
    return {
      ok: false,
      status: 403,
      code: "owner_lacks_permission",
      message: `The agent who created this API token no longer holds “${PERMISSIONS[API_SCOPES[scope].needs]}”, which “${scope}” needs.`,
    };
  await recordUse(db, row, origin);
  return { ok: true, tokenId: id, name: row.name, scopes, actor: creator };
}

async function recordUse(db: Db, row: typeof apiTokens.$inferSelect, origin: AuditOrigin) {
  const ip = origin.ip ?? "unknown";
  // The same address within the minute: already recorded.
  if (row.lastUsedIp === ip && row.lastUsedAt !== null && origin.at - row.lastUsedAt < LAST_USED_EVERY) return;
  await db.batch([
    db.insert(apiTokenSources).values({ tokenId: row.id, ip, firstAt: origin.at }).onConflictDoNothing(),
    auditInsertWhere(
      db,
      {
        event: "api_token.new_source",
        portal: "agent",
        actorId: row.createdBy,
        targetId: null,
        details: { tokenId: row.id, name: row.name },
      },
      origin,
      AFTER_ONE_CHANGE,
    ),
    db.update(apiTokens).set({ lastUsedAt: origin.at, lastUsedIp: ip }).where(eq(apiTokens.id, row.id)),
  ]);
}
