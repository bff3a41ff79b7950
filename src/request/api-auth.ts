// The API's door: a bearer token instead of a session cookie, answers in JSON. Every refusal has
// the one shape `{"error": {"code", "message"}}` a script can branch on.
import type { Context, MiddlewareHandler } from "hono";
import type { AppEnv } from "../app-env";
import { type ApiScope, authenticateToken, tokenIdOf } from "../api/tokens";
import { getDb } from "../db";
import { countAttempt, LIMITS } from "../limits/limits";
import { auditOriginOf } from "./audit";

export type ApiErrorStatus = 400 | 401 | 403 | 404 | 409 | 413 | 415 | 429 | 503;

/** The API's error answer. */
export function apiError(c: Context<AppEnv>, status: ApiErrorStatus, code: string, message: string) {
  return c.json({ error: { code, message } }, status);
}

/**
 * Let through requests whose `Authorization: Bearer` token is live, holds `scope`, and whose
 * creator still holds what the scope needs; each token is throttled on its own (SECURITY.md 2),
 * counted before its secret is checked so guessing one token's secret is throttled too.
 */
export function requireApiToken(scope: ApiScope): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const header = c.req.header("Authorization") ?? "";
    const presented = /^Bearer\s+(\S+)\s*$/i.exec(header)?.[1];
    if (!presented) {
      c.header("WWW-Authenticate", 'Bearer realm="EdgeDesk API"');
      return apiError(
        c,
        401,
        "missing_token",
        "Send an API token as `Authorization: Bearer <token>` (Settings > Security and Compliance > API tokens).",
      );
    }
    const tokenId = tokenIdOf(presented);
    if (tokenId) {
      const limit = await countAttempt(c.env, `api-token:${tokenId}`, LIMITS.apiRequestsPerToken, c.var.clock.now());
      if (!limit.allowed) {
        c.header("Retry-After", String(Math.max(1, Math.ceil(limit.retryAfterMs / 1000))));
        return apiError(c, 429, "rate_limited", `This token sent too many requests: at most ${LIMITS.apiRequestsPerToken.limit} a minute.`);
      }
    }
    const checked = await authenticateToken(c.env, getDb(c.env.DB), presented, scope, auditOriginOf(c));
    if (!checked.ok) {
      if (checked.status === 401) c.header("WWW-Authenticate", `Bearer realm="EdgeDesk API", error="invalid_token"`);
      return apiError(c, checked.status, checked.code, checked.message);
    }
    const { ok: _, ...caller } = checked;
    c.set("api", caller);
    await next();
  };
}
