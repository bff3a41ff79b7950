import { env } from "cloudflare:workers";
import { getDb } from "../../src/db";
import { users } from "../../src/db/schema";
import { hashPassword, scryptParamsFor } from "../../src/auth/password";
import { newUserRow } from "../../src/auth/users";
import type { UserKind } from "../../src/portal/policy";

export const db = () => getDb(env.DB);

// Users are made with the parameters the tests' app uses (vitest.config.ts PASSWORD_HASH_PARAMS,
// cheap); one hash per distinct password is shared across users (each carries its own salt).
const hashes = new Map<string, Promise<string>>();
export function passwordHashFor(password: string): Promise<string> {
  if (!hashes.has(password)) hashes.set(password, hashPassword(password, scryptParamsFor(env)));
  return hashes.get(password)!;
}

let counter = 0;
export const DEFAULT_PASSWORD = "correct horse battery staple";

export interface UserOptions {
  kind?: UserKind;
  email?: string;
  name?: string;
  password?: string | null;
  roleId?: string | null;
  active?: boolean;
}

/** Insert a user straight into D1; each call makes a fresh one (storage is shared within a file). */
export async function makeUser(options: UserOptions = {}) {
  const kind = options.kind ?? "agent";
  counter++;
  const email = options.email ?? `${kind}${counter}-${crypto.randomUUID().slice(0, 8)}@example.com`;
  const password = options.password === undefined ? DEFAULT_PASSWORD : options.password;
  const row = newUserRow({
    kind,
    email,
    name: options.name ?? `${kind === "agent" ? "Agent" : "Contact"} ${counter}`,
    passwordHash: password === null ? null : await passwordHashFor(password),
    roleId: options.roleId === undefined ? (kind === "agent" ? "role_agent" : null) : options.roleId,
    now: Date.UTC(2026, 0, 1),
  });
  row.active = options.active ?? true;
  await db().insert(users).values(row);
  return { ...row, password: password ?? "" };
}

export const makeAgent = (options: Omit<UserOptions, "kind"> = {}) => makeUser({ ...options, kind: "agent" });
export const makeContact = (options: Omit<UserOptions, "kind"> = {}) => makeUser({ ...options, kind: "contact" });
export const makeAdmin = (options: Omit<UserOptions, "kind"> = {}) => makeUser({ ...options, kind: "agent", roleId: "role_administrator" });
