// Microsoft's signing keys. jose's remote key set refetches at most once per 30 s
// cooldown, so a second key rotation inside that window was refused. Here a token signed with a
// key id we have not seen triggers a refetch at once, within a budget per key-set URL (a few per
// minute) so a stream of made-up key ids cannot make the Worker fetch without limit. Concurrent
// refetches share one request. Keys are also refreshed when older than ten minutes.
import { createLocalJWKSet, errors, type JSONWebKeySet, type JWTVerifyGetKey } from "jose";
import { MINUTE } from "../lib/clock";

export const JWKS_MAX_AGE_MS = 10 * MINUTE;
/** At most this many refetches for unknown key ids per key-set URL in any minute. */
export const JWKS_REFETCH_BUDGET = 3;

interface KeySet {
  resolve: ReturnType<typeof createLocalJWKSet> | null;
  fetchedAt: number;
  refetches: number[];
  inflight: Promise<void> | null;
}

const keySets = new Map<string, KeySet>();

/**
 * Drops every key set this isolate holds and its refetch budget: for test files that share one
 * isolate, each with its own identity provider (and keys) behind the same URL.
 */
export function forgetKeySets(): void {
  keySets.clear();
}

async function load(url: string, set: KeySet, now: number): Promise<void> {
  set.inflight ??= (async () => {
    try {
      const response = await fetch(url, { headers: { Accept: "application/json" } });
      if (!response.ok) throw new Error(`Microsoft's key set answered ${response.status}`);
      const jwks = (await response.json()) as JSONWebKeySet;
      if (!Array.isArray(jwks?.keys)) throw new Error("Microsoft's key set has no keys");
      set.resolve = createLocalJWKSet(jwks);
      set.fetchedAt = now;
    } finally {
      set.inflight = null;
    }
  })();
  return set.inflight;
}

/** A key resolver for jwtVerify over the key set at `url`, as of `now` (the injected clock). */
export function microsoftKeys(url: string, now: number): JWTVerifyGetKey {
  return async (header, token) => {
    let set = keySets.get(url);
    if (!set) {
      set = { resolve: null, fetchedAt: 0, refetches: [], inflight: null };
      keySets.set(url, set);
    }
    if (!set.resolve || now - set.fetchedAt > JWKS_MAX_AGE_MS || now < set.fetchedAt) await load(url, set, now);
    try {
      return await set.resolve!(header, token);
    } catch (error) {
      if (!(error instanceof errors.JWKSNoMatchingKey)) throw error;
      set.refetches = set.refetches.filter((at) => at <= now && now - at < MINUTE);
      if (set.refetches.length >= JWKS_REFETCH_BUDGET) throw error;
      set.refetches.push(now);
      await load(url, set, now);
      return set.resolve!(header, token);
    }
  };
}
