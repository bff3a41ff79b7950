/**
 * Failures of the parts EdgeDesk depends on (D1, Durable Objects, KV), as opposed to our own bugs:
 * the request is answered 503 with Retry-After, and no session is ever treated as valid.
 * Workers marks transient Durable Object failures `retryable` or `overloaded`, and an object that
 * was reset (its code updated, or aborted) `durableObjectReset`. D1 errors carry a `D1_` prefix,
 * wrapped by drizzle as the cause of its own error; of those, a constraint violation or a
 * statement SQLite refuses (no such table, a syntax error: SQLITE_ERROR) is ours to fix, not the
 * storage's. test/web/failure-classes.test.ts holds this against errors workerd itself raises.
 */
export function isDependencyFailure(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  if (error instanceof Unavailable) return true;
  // drizzle wraps a D1 error in its own (DrizzleQueryError), with the original as its cause.
  if (error.cause && isDependencyFailure(error.cause)) return true;
  const flags = error as Error & { retryable?: unknown; overloaded?: unknown; durableObjectReset?: unknown };
  if (flags.retryable === true || flags.overloaded === true || flags.durableObjectReset === true) return true;
  if (/^D1_/.test(error.message)) return !/constraint failed|SQLITE_CONSTRAINT|SQLITE_ERROR\b/i.test(error.message);
  // KV's own words for a call that did not complete (workerd: "KV PUT failed: 503 …").
  if (/^KV (GET|PUT|DELETE|LIST) failed/i.test(error.message)) return true;
  // SQLite's own words for a database that is busy, locked or failing underneath (a Durable Object's storage, D1's engine).
  if (/SQLITE_(BUSY|LOCKED|READONLY|IOERR|CANTOPEN)\b|database is locked/.test(error.message)) return true;
  return /Durable Object|Network connection lost/i.test(error.message);
}

export const RETRY_AFTER_SECONDS = 5;

/**
 * A dependency that failed where the code knows what it means for the person: its message is
 * what the 503 page says (e.g. that a try was not counted), instead of the general one.
 */
export class Unavailable extends Error {
  constructor(
    readonly personMessage: string,
    cause?: unknown,
  ) {
    super(personMessage, { cause });
    this.name = "Unavailable";
  }
}

/**
 * Call `work` again once when a Durable Object says the failure is transient (Workers' `retryable`
 * or `overloaded`). Only for calls safe to repeat: a read, or a write the object makes idempotent.
 */
export async function retryOnceIfTransient<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    const flags = error as { retryable?: unknown; overloaded?: unknown } | null;
    if (!(error instanceof Error) || (flags?.retryable !== true && flags?.overloaded !== true)) throw error;
    return work();
  }
}
