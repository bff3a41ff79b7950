import { env } from "cloudflare:workers";
import { portalStub, sessionCookieName, userStub } from "../../src/auth/sessions";
import { newId, randomToken, sha256Hex } from "../../src/lib/crypto";
import type { Portal } from "../../src/portal/policy";

/**
 * Open a session straight in the user's Durable Object, as sign-in does, without paying for a
 * password hash: for tests that need many sessions. Returns the Cookie header that carries it.
 */
export async function openSession(portal: Portal, userId: string, now: number): Promise<string> {
  const policy = await portalStub(env, portal).getPolicy();
  const token = `${userId}.${randomToken()}`;
  await userStub(env, userId).createSession({
    id: newId("ses"),
    tokenHash: await sha256Hex(token),
    generation: policy.generation,
    stage: "full",
    method: "password",
    now,
    ip: "198.51.100.1",
    userAgent: "test",
  });
  return `${sessionCookieName(portal)}=${token}`;
}
