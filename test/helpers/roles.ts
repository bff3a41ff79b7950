import { roles } from "../../src/db/schema";
import type { Permission } from "../../src/access/permissions";
import { db } from "./factories";
import { reloadRoles } from "./portal";

/** A custom role holding exactly these permissions. */
export async function makeRole(permissions: Permission[]): Promise<string> {
  const id = `role_${crypto.randomUUID().replaceAll("-", "").slice(0, 16)}`;
  await db()
    .insert(roles)
    .values({ id, name: `Role ${id}`, builtin: null, permissions, createdAt: 0 });
  await reloadRoles();
  return id;
}
