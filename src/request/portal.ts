// The portal state as a request reads and changes it: through the app's per-isolate cache
// (src/portal/state-cache.ts), with the request's clock.
import type { Context } from "hono";
import type { AppEnv } from "../app-env";
import type { Portal, PortalPolicy } from "../portal/policy";
import type { PortalState } from "../portal/portal-do";
import type { PortalWriter } from "../portal/state-cache";

export function portalState(c: Context<AppEnv>, portal: Portal): Promise<PortalState> {
  return c.var.portals.read(c.env, portal, c.var.clock);
}

export async function portalPolicy(c: Context<AppEnv>, portal: Portal): Promise<PortalPolicy> {
  return (await portalState(c, portal)).policy;
}

export function portalWriter(c: Context<AppEnv>): PortalWriter {
  return { env: c.env, cache: c.var.portals, clock: c.var.clock };
}
