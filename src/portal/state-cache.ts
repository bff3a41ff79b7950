// No portal Durable Object call on the steady-state request path. Each isolate keeps
// each portal's state (policy, session generation, role permissions) for at most
// T = PORTAL_STATE_TTL_SECONDS, counted from the start of the read that filled it. Every change
// to that state (a policy saved, "Immediately", a role created, edited or deleted) answers only
// after T plus a margin, so once its response is sent no cache anywhere still holds the state
// from before it. Disabling a person needs no wait: that lives in the person's own object, which
// every request asks anyway.
//
// Why 5 seconds (PORTAL_STATE_TTL_SECONDS, wrangler.toml): each isolate then asks each portal
// object at most once per 5 s, whatever its request rate (docs/SCALING.md has the arithmetic),
// while an admin's save takes 6 s, which a rare, deliberate change can afford. The extra second
// covers timers: Workers' clock moves only at I/O, so an isolate may read "now" a little early.
import type { Clock } from "../lib/clock";
import type { Portal, PortalPolicy } from "./policy";
import type { PolicyAudit, PortalState } from "./portal-do";
import { retryOnceIfTransient } from "../lib/failures";

const DEFAULT_TTL_SECONDS = 5;
const CLOCK_MARGIN_MS = 1_000;

/** How long a cached portal state is used: PORTAL_STATE_TTL_SECONDS, 0 to 60 (anything else: 5). */
export function portalStateTtlMs(env: Pick<Env, "PORTAL_STATE_TTL_SECONDS">): number {
  const text = env.PORTAL_STATE_TTL_SECONDS ?? "";
  const seconds = /^\d{1,2}$/.test(text) && Number(text) <= 60 ? Number(text) : DEFAULT_TTL_SECONDS;
  return seconds * 1000;
}

/** How long a change waits before it answers: the TTL and a margin (nothing when nothing is cached). */
export function portalChangeSettleMs(env: Pick<Env, "PORTAL_STATE_TTL_SECONDS">): number {
  const ttl = portalStateTtlMs(env);
  return ttl === 0 ? 0 : ttl + CLOCK_MARGIN_MS;
}

export function portalStub(env: Env, portal: Portal) {
  return env.PORTAL_DO.get(env.PORTAL_DO.idFromName(portal));
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === "object") {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}

// Every cache of this isolate (one per app; tests build an app per simulated browser).
const caches = new Set<PortalStateCache>();

/**
 * One isolate's copy of the portals' state. Only resolved values are kept, never a promise of
 * another request (Workers cancel a request's I/O when it ends); a read that fails is not kept.
 */
export class PortalStateCache {
  private readonly entries = new Map<Portal, { state: PortalState; readStartedAt: number }>();

  constructor() {
    caches.add(this);
  }

  async read(env: Env, portal: Portal, clock: Clock): Promise<PortalState> {
    const startedAt = clock.now();
    const hit = this.entries.get(portal);
    // A negative age means another clock filled it (tests): read again.
    if (hit && startedAt >= hit.readStartedAt && startedAt - hit.readStartedAt < portalStateTtlMs(env)) return hit.state;
    // A read: asked again once if the object answers that it was overloaded or dropped the call.
    const state = deepFreeze(await retryOnceIfTransient(() => portalStub(env, portal).getState()));
    const newest = this.entries.get(portal);
    if (!newest || newest.readStartedAt <= startedAt) this.entries.set(portal, { state, readStartedAt: startedAt });
    return state;
  }

  forget(): void {
    this.entries.clear();
  }
}

/** For tests and scripts that write a portal object directly, past the settle below: every cache of this isolate forgets. */
export function forgetEveryPortalCache(): void {
  for (const cache of caches) cache.forget();
}

/** For a test file starting in an isolate an earlier file used: its apps' caches forget, and are no longer kept track of. */
export function dropEveryPortalCache(): void {
  forgetEveryPortalCache();
  caches.clear();
}

/** What a change to a portal's state needs: the app's cache and clock. */
export interface PortalWriter {
  env: Env;
  cache: PortalStateCache;
  clock: Clock;
}

/** After the write: this isolate's cache forgets, and the answer waits until every other cache has expired. */
async function settle(writer: PortalWriter): Promise<void> {
  writer.cache.forget();
  await writer.clock.sleep(portalChangeSettleMs(writer.env));
  writer.cache.forget();
}

/** Save a portal's policy; with `endSessions` ("Immediately") its session generation moves on in the same write. */
export async function changePortalPolicy(
  writer: PortalWriter,
  portal: Portal,
  change: Partial<Omit<PortalPolicy, "generation">>,
  endSessions: boolean,
  audit: PolicyAudit,
): Promise<PortalPolicy> {
  const policy = await portalStub(writer.env, portal).updatePolicy(change, endSessions, audit);
  await settle(writer);
  return policy;
}

/** After a role is created, edited or deleted in D1: the agent portal's copy of role permissions is read again. */
export async function reloadRolePermissions(writer: PortalWriter): Promise<void> {
  await portalStub(writer.env, "agent").reloadRoles();
  await settle(writer);
}

/** The policy as it stood when read, fresh from the portal's object (for a change that builds on it). */
export function freshPolicy(env: Env, portal: Portal): Promise<PortalPolicy> {
  return portalStub(env, portal).getPolicy();
}
