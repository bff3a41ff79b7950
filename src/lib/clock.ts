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

/** A moment as the app writes it for people, to the minute: "2026-11-22 09:00 UTC". */
export function utcMinute(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 16).replace("T", " ")} UTC`;
}
