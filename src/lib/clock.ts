// All time comes through a Clock so tests can move it (expiry, cooldowns, timeouts) without sleeping.
export interface Clock {
  now(): number;
  /** Wait this long (tests move their clock on instead). */
  sleep(ms: number): Promise<void>;
}

export const systemClock: Clock = { now: () => Date.now(), sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)) };

export const MINUTE = 60_000;
export const HOUR = 60 * MINUTE;
export const DAY = 24 * HOUR;
