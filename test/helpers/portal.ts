import { env } from "cloudflare:workers";
import { portalStub } from "../../src/auth/sessions";
import type { Portal, PortalPolicy } from "../../src/portal/policy";
import { forgetEveryPortalCache } from "../../src/portal/state-cache";

/**
 * Write a portal's policy straight to its object, as a test's set-up. The app's own saves wait
 * until every isolate's copy has expired (src/portal/state-cache.ts); here every copy in this
 * isolate forgets instead, which is what that wait guarantees.
 */
export async function writePortalPolicy(
  portal: Portal,
  change: Partial<Omit<PortalPolicy, "generation">>,
  endSessions = false,
): Promise<PortalPolicy> {
  const policy = await portalStub(env, portal).updatePolicy(change, endSessions);
  forgetEveryPortalCache();
  return policy;
}

/** After roles were written to D1 directly: the agent portal reads them again, and every copy forgets. */
export async function reloadRoles(): Promise<void> {
  await portalStub(env, "agent").reloadRoles();
  forgetEveryPortalCache();
}
