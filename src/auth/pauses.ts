// SECURITY.md 43: a person whose sign-in from new browsers strangers' failures have paused. The
// account's limiter decides every attempt; these rows (src/db/schema.ts signInPauses) only tell
// admins and the person where a pause is, and admins may lift one.
import { and, eq, gt } from "drizzle-orm";
import type { Holder } from "../access/grants";
import { mayManagePerson } from "../access/grants";
import { auditInsert, type AuditOrigin } from "../audit/events";
import type { Db } from "../db";
import { type Notice, storeWithNotices } from "../mail/outbox";
import { signInPauses, users } from "../db/schema";
import { ACCOUNT_LIMITS, accountLimiter } from "../limits/limits";
import type { Way } from "../limits/sign-in-guard";
import type { SourceCount } from "../limits/windows";
import type { Portal } from "../portal/policy";
import { normalizeEmail } from "./users";

export interface Pause {
  userId: string;
  name: string;
  email: string;
  kind: "agent" | "contact";
  portal: Portal;
  way: Way;
  pausedAt: number;
  until: number;
  attempts: number;
  sources: SourceCount[];
}

/** The pause just began (its first refusal): kept for the admins' list and the person's activity, with the notice to them; its outbox ids. */
export async function recordPause(
  env: Env,
  db: Db,
  pause: Omit<Pause, "name" | "email" | "kind">,
  origin: AuditOrigin,
  notices: readonly Notice[],
): Promise<string[]> {
  const row = {
    userId: pause.userId,
    way: pause.way,
    portal: pause.portal,
    pausedAt: pause.pausedAt,
    until: pause.until,
    attempts: pause.attempts,
    sources: pause.sources,
  };
  const audit = {
    event: "sign_in.paused",
    portal: pause.portal,
    actorId: null,
    targetId: pause.userId,
    details: { way: pause.way, until: pause.until, attempts: pause.attempts, sources: pause.sources.map((s) => s.source) },
  } as const;
  return storeWithNotices(
    env,
    db,
    [
      db
        .insert(signInPauses)
        .values(row)
        .onConflictDoUpdate({ target: [signInPauses.userId, signInPauses.way], set: row }),
      auditInsert(db, audit, origin),
    ],
    notices,
    origin.at,
  );
}

/** The pauses still in force, as the limiters say (a pause a sign-in or a reset ended is dropped here). */
export async function livePauses(env: Env, db: Db, now: number): Promise<Pause[]> {
  const rows = await db
    .select({ pause: signInPauses, name: users.name, email: users.email, kind: users.kind })
    .from(signInPauses)
    .innerJoin(users, eq(users.id, signInPauses.userId))
    .where(gt(signInPauses.until, now))
    .orderBy(signInPauses.pausedAt)
    .limit(200);
  const checked = await Promise.all(
    rows.map(async (r) => {
      const until = await accountLimiter(env, r.pause.portal, normalizeEmail(r.email)).unknownPausedUntil(r.pause.way, now, ACCOUNT_LIMITS);
      return until === null ? null : { ...r.pause, until, name: r.name, email: r.email, kind: r.kind };
    }),
  );
  return checked.filter((p): p is Pause => p !== null);
}

export type LiftResult = { ok: true; lifted: number } | { ok: false; status: 403 | 404; message: string };

/**
 * An admin lets the person sign in from new browsers again, within the one access rule: every
 * way in of that person's portal, the rows and the audit entry in one batch.
 */
export async function liftPause(
  env: Env,
  db: Db,
  actor: Holder,
  target: Holder & { email: string; kind: "agent" | "contact" },
  origin: AuditOrigin,
): Promise<LiftResult> {
  const allowed = mayManagePerson(actor, target, "let them sign in from new browsers");
  if (!allowed.ok) return { ok: false, status: 403, message: allowed.message };
  const portal: Portal = target.kind === "agent" ? "agent" : "support";
  await accountLimiter(env, portal, normalizeEmail(target.email)).lift();
  const [deleted] = await db.batch([
    db.delete(signInPauses).where(eq(signInPauses.userId, target.id)).returning({ way: signInPauses.way }),
    auditInsert(db, { event: "sign_in.pause_lifted", portal, actorId: actor.id, targetId: target.id }, origin),
  ]);
  return { ok: true, lifted: deleted.length };
}

/** A password reset or a sign-in that proved the person ends their pauses. */
export async function endPauses(db: Db, userId: string, way?: Way): Promise<void> {
  await db
    .delete(signInPauses)
    .where(way ? and(eq(signInPauses.userId, userId), eq(signInPauses.way, way)) : eq(signInPauses.userId, userId));
}
