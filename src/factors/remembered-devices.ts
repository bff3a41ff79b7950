// "Don't ask again on this device": a record in the user's object, and a token the browser keeps
// (sign-in sets it as a cookie). The token is `<user id>.<160 random bits>`; only its SHA-256 is stored.
import { userStub } from "../auth/user-object";
import { DAY } from "../lib/clock";
import { newId, randomToken, sha256Hex } from "../lib/crypto";
import type { PortalPolicy } from "../portal/policy";

/** Where the device was seen, as the request says. */
export type Seen = { ip: string; userAgent: string; country: string | null };

/** Remember this device for the portal's number of days: the token for the browser and how long it lasts, or null when the portal remembers none. */
export async function rememberDevice(
  env: Env,
  userId: string,
  policy: Pick<PortalPolicy, "mfa" | "generation">,
  now: number,
  seen: Seen,
): Promise<{ token: string; maxAgeSeconds: number } | null> {
  const days = policy.mfa.rememberDays;
  if (days <= 0) return null;
  const token = `${userId}.${randomToken()}`;
  await userStub(env, userId).rememberDevice({
    id: newId("dev"),
    tokenHash: await sha256Hex(token),
    generation: policy.generation,
    now,
    expiresAt: now + days * DAY,
    ...seen,
  });
  return { token, maxAgeSeconds: days * 86_400 };
}

/** Whether the token a browser carries is a remembered device of this user that the portal still honours. */
export async function isRememberedDevice(
  env: Env,
  userId: string,
  policy: Pick<PortalPolicy, "mfa" | "generation">,
  token: string | undefined,
  now: number,
  seen: Seen,
): Promise<boolean> {
  if (policy.mfa.rememberDays <= 0) return false;
  // Bound to the user: another person's device token in this browser counts for nothing.
  if (!token?.startsWith(`${userId}.`) || token.length > 128) return false;
  return userStub(env, userId).useRememberedDevice(await sha256Hex(token), policy.generation, now, seen);
}
