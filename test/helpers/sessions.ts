import { env } from "cloudflare:workers";
import { mintSession, portalStub } from "../../src/auth/sessions";
import { sessionCookieName } from "../../src/request/session-cookie";
import type { Portal } from "../../src/portal/policy";

/**
 * Open a session straight in the user's Durable Object, as sign-in does, without paying for a
 * password hash: for tests that need many sessions. Returns the Cookie header that carries it.
 */
export async function openSession(portal: Portal, userId: string, now: number): Promise<string> {
  const policy = await portalStub(env, portal).getPolicy();
  const { token } = await mintSession(env, userId, {
    generation: policy.generation,
    stage: "full",
    method: "password",
    now,
    ip: "198.51.100.1",
    userAgent: "test",
  });
  return `${sessionCookieName(portal)}=${token}`;
}
