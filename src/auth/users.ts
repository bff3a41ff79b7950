import { and, eq } from "drizzle-orm";
import type { Db } from "../db";
import { appFlags, users, type User } from "../db/schema";
import { newId } from "../lib/crypto";
import type { UserKind } from "../portal/policy";

export function normalizeEmail(email: string): string {
  return email.trim().toLowerCase();
}

export async function findUserById(db: Db, id: string): Promise<User | null> {
  return (await db.select().from(users).where(eq(users.id, id)).get()) ?? null;
}

export async function findUserByEmail(db: Db, kind: UserKind, email: string): Promise<User | null> {
  return (
    (await db
      .select()
      .from(users)
      .where(and(eq(users.kind, kind), eq(users.email, normalizeEmail(email))))
      .get()) ?? null
  );
}

export interface NewUser {
  kind: UserKind;
  email: string;
  name: string;
  passwordHash: string | null;
  roleId: string | null;
  now: number;
}

export function newUserRow(user: NewUser): typeof users.$inferInsert {
  return {
    id: newId(user.kind === "agent" ? "agt" : "cnt"),
    kind: user.kind,
    email: normalizeEmail(user.email),
    name: user.name.trim(),
    passwordHash: user.passwordHash,
    passwordChangedAt: user.passwordHash ? user.now : null,
    roleId: user.roleId,
    active: true,
    createdAt: user.now,
    updatedAt: user.now,
  };
}

export async function setupIsOpen(db: Db): Promise<boolean> {
  const [flag, agent] = await db.batch([
    db.select().from(appFlags).where(eq(appFlags.key, "setup_complete")).limit(1),
    db.select({ id: users.id }).from(users).where(eq(users.kind, "agent")).limit(1),
  ]);
  return flag.length === 0 && agent.length === 0;
}

/**
 * Create the first Administrator, once. Inserting the "setup_complete" flag fails when it
 * exists (primary key), and a batch is one transaction, so of two racing requests exactly one
 * creates an administrator. Demo seeding sets the same flag.
 */
export async function createFirstAdministrator(db: Db, admin: Omit<NewUser, "kind" | "roleId">): Promise<"created" | "closed"> {
  if (!(await setupIsOpen(db))) return "closed";
  try {
    await db.batch([
      db.insert(appFlags).values({ key: "setup_complete", setAt: admin.now }),
      db.insert(users).values(newUserRow({ ...admin, kind: "agent", roleId: "role_administrator" })),
    ]);
  } catch (error) {
    if (String(error).includes("UNIQUE constraint failed")) return "closed";
    throw error;
  }
  return "created";
}

/** Names for person ids in history and logs: the current name, or the pseudonym of a removed person. */
export async function personNames(d1: D1Database, ids: readonly string[]): Promise<Map<string, string>> {
  if (ids.length === 0) return new Map();
  const list = JSON.stringify([...new Set(ids)]);
  const { results } = await d1
    .prepare(
      "SELECT id, name FROM users WHERE id IN (SELECT value FROM json_each(?1)) UNION ALL SELECT id, pseudonym FROM removed_people WHERE id IN (SELECT value FROM json_each(?1))",
    )
    .bind(list)
    .all<{ id: string; name: string }>();
  return new Map(results.map((r) => [r.id, r.name]));
}
