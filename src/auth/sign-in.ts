import { eq } from "drizzle-orm";
import type { Db } from "../db";
import { users, type User } from "../db/schema";
import { kindOfPortal, type Portal, type PortalPolicy } from "../portal/policy";
import { passwordExpired } from "./password-policy";
import { hashPassword, passwordNeedsRehash, type ScryptParams, verifyAgainstDummyHash, verifyPassword } from "./password";
import { findUserByEmail, findUserById } from "./users";

export type PasswordCheck = { ok: true; user: User } | { ok: false; reason: "invalid" | "disabled" };

/**
 * Check an email and password for a portal. An unknown email, an account without a password
 * (SSO only) and a wrong password all cost one full hash and give the same answer
 * (SECURITY.md 22), so neither time nor text reveals whether an account exists.
 */
export async function checkPassword(db: Db, hashParams: ScryptParams, portal: Portal, email: string, password: string, now: number): Promise<PasswordCheck> {
  const user = await findUserByEmail(db, kindOfPortal(portal), email);
  if (!user?.passwordHash) {
    await verifyAgainstDummyHash(password, hashParams);
    return { ok: false, reason: "invalid" };
  }
  if (!(await verifyPassword(user.passwordHash, password))) return { ok: false, reason: "invalid" };
  // Only someone who knows the password learns that the account is disabled.
  if (!user.active) return { ok: false, reason: "disabled" };
  if (passwordNeedsRehash(user.passwordHash, hashParams)) {
    const upgraded = await hashPassword(password, hashParams);
    await db.update(users).set({ passwordHash: upgraded, updatedAt: now }).where(eq(users.id, user.id));
  }
  return { ok: true, user };
}

/** Where a password sign-in ends once every factor is proven: signed in, or made to change an expired password first. */
export async function finalStageFor(db: Db, userId: string, policy: PortalPolicy, now: number): Promise<"full" | "change_password"> {
  const user = await findUserById(db, userId);
  return user && passwordExpired(user.passwordChangedAt, policy.password, now) ? "change_password" : "full";
}

export function landingFor(portal: Portal, stage: "full" | "change_password", next: string): string {
  return stage === "change_password" ? `/${portal}/login/change-password` : next;
}
