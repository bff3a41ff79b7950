// The API's door: a bearer token instead of a session cookie, answers in JSON. Every refusal has
// the one shape `{"error": {"code", "message"}}` a script can branch on.
import type { Context, MiddlewareHandler } from "hono";
import type { AppEnv } from "../app-env";
import { type ApiScope, authenticateToken } from "../api/tokens";
import { getDb } from "../db";
import { countAttempt, LIMITS, limiterFor } from "../limits/limits";
import { sourceOf } from "../limits/source";
import { auditOriginOf } from "./audit";

export type ApiErrorStatus = 400 | 401 | 403 | 404 | 409 | 415 | 429;

/** The API's error answer. */
export function apiError(c: Context<AppEnv>, status: ApiErrorStatus, code: string, message: string) {
  return c.json({ error: { code, message } }, status);
}

function tooMany(c: Context<AppEnv>, retryAfterMs: number, message: string) {
  c.header("Retry-After", String(Math.max(1, Math.ceil(retryAfterMs / 1000))));
  return apiError(c, 429, "rate_limited", message);
}

/**
 * Let through requests whose `Authorization: Bearer` token is live, holds `scope`, and whose
 * creator still holds what the scope needs (read on the primary: src/request/d1-session.ts).
 * SECURITY.md 2: a source that sent too many tokens that do not work is refused before its next
 * one is checked (each counted before the check, and given back once it works), and each working token is throttled on its own, counted only once it is
 * proved, so nobody can spend a token's allowance by naming its id.
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
    const now = c.var.clock.now();
    const failures = limiterFor(c.env, `api-failures:${sourceOf(c.req.header("CF-Connecting-IP"))}`);
    // Counted before the check and given back once the token works: tokens sent together cannot
    // all be checked before any is counted.
    const attempt = await failures.hit(now, LIMITS.apiFailuresPerSource);
    if (!attempt.allowed) return tooMany(c, attempt.retryAfterMs, "Too many requests with tokens that do not work came from your address.");
    const checked = await authenticateToken(c.env, getDb(c.env.DB), presented, scope, auditOriginOf(c));
    if (checked.ok || checked.status !== 401) await failures.refund(attempt.tickets);
    if (!checked.ok) {
      if (checked.status === 401) c.header("WWW-Authenticate", `Bearer realm="EdgeDesk API", error="invalid_token"`);
      return apiError(c, checked.status, checked.code, checked.message);
    }
    const limit = await countAttempt(c.env, `api-token:${checked.tokenId}`, LIMITS.apiRequestsPerToken, now);
    if (!limit.allowed)
      return tooMany(c, limit.retryAfterMs, `This token sent too many requests: at most ${LIMITS.apiRequestsPerToken.limit} a minute.`);
    const { ok: _, ...caller } = checked;
    c.set("api", caller);
    await next();
  };
}
