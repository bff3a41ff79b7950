import type { Context, MiddlewareHandler } from "hono";
import type { AppEnv } from "../app-env";
import { Card, Layout } from "../web/layout";
import type { Holder } from "../access/grants";
import { hasPermission, PERMISSIONS, type Permission } from "../access/permissions";

/** The signed-in agent as the access rule (./grants.ts) sees them. */
export function actorOf(c: Context<AppEnv>): Holder {
  const auth = c.var.auth;
  return { id: auth.user.id, roleId: auth.user.roleId, permissions: auth.permissions };
}

/** After requireSession("agent"): let through only agents whose role holds `permission`. */
export function requirePermission(permission: Permission): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    if (hasPermission(c.var.auth.permissions, permission)) return next();
    return c.html(
      <Layout title="Not allowed" auth={c.var.auth}>
        <Card title="You don't have access to this page">
          <p>Your role does not include “{PERMISSIONS[permission]}”. Ask an administrator if you need it.</p>
        </Card>
      </Layout>,
      403,
    );
  };
}
