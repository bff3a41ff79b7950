import type { Context } from "hono";
import { getCookie, setCookie } from "hono/cookie";
import type { AppEnv } from "../app-env";
import type { Auth } from "../access/auth";
import { requestDetails, userStub } from "../auth/sessions";
import { DAY } from "../lib/clock";
import { newId, randomToken, sha256Hex } from "../lib/crypto";
import type { Portal, PortalPolicy } from "../portal/policy";

// `__Host-` like the session cookie; it carries only `<user id>.<160 random bits>`.
const cookieName = (portal: Portal) => `edgedesk_${portal}_device`;

/** "Don't ask again on this device": a record in the user's object, and a cookie for this browser. */
export async function rememberThisDevice(c: Context<AppEnv>, auth: Pick<Auth, "portal" | "user" | "policy">): Promise<void> {
  const days = auth.policy.mfa.rememberDays;
  if (days <= 0) return;
  const token = `${auth.user.id}.${randomToken()}`;
  const now = c.var.clock.now();
  await userStub(c.env, auth.user.id).rememberDevice({
    id: newId("dev"),
    tokenHash: await sha256Hex(token),
    generation: auth.policy.generation,
    now,
    expiresAt: now + days * DAY,
    ...requestDetails(c),
  });
  setCookie(c, cookieName(auth.portal), token, { prefix: "host", httpOnly: true, sameSite: "Lax", maxAge: days * 86_400 });
}

/** Whether this browser carries a remembered device of this user that the portal still honours. */
export async function isRememberedDevice(c: Context<AppEnv>, portal: Portal, userId: string, policy: PortalPolicy): Promise<boolean> {
  if (policy.mfa.rememberDays <= 0) return false;
  const token = getCookie(c, cookieName(portal), "host");
  // Bound to the user: another person's device cookie in this browser counts for nothing.
  if (!token?.startsWith(`${userId}.`) || token.length > 128) return false;
  return userStub(c.env, userId).useRememberedDevice(await sha256Hex(token), policy.generation, c.var.clock.now(), requestDetails(c));
}
