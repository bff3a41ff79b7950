// The browser's half of "Don't ask again on this device" (src/factors/remembered-devices.ts):
// a `__Host-` cookie per portal, like the session's, carrying only the device's token.
import type { Context } from "hono";
import { getCookie, setCookie } from "hono/cookie";
import type { Auth } from "../access/auth";
import type { AppEnv } from "../app-env";
import { requestDetails } from "../request/session-cookie";
import { isRememberedDevice, rememberDevice } from "../factors/remembered-devices";
import type { Portal, PortalPolicy } from "../portal/policy";

const cookieName = (portal: Portal) => `edgedesk_${portal}_device`;

export async function rememberThisDevice(c: Context<AppEnv>, auth: Pick<Auth, "portal" | "user" | "policy">): Promise<void> {
  const remembered = await rememberDevice(c.env, auth.user.id, auth.policy, c.var.clock.now(), requestDetails(c));
  if (!remembered) return;
  setCookie(c, cookieName(auth.portal), remembered.token, {
    prefix: "host",
    httpOnly: true,
    sameSite: "Lax",
    maxAge: remembered.maxAgeSeconds,
  });
}

export function rememberedHere(c: Context<AppEnv>, portal: Portal, userId: string, policy: PortalPolicy): Promise<boolean> {
  const token = getCookie(c, cookieName(portal), "host");
  return isRememberedDevice(c.env, userId, policy, token, c.var.clock.now(), requestDetails(c));
}
