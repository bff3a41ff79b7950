import { MINUTE } from "./clock";

/** The wait before the next try, after `attempts` failed ones: 30 s, 1, 2, 4 … minutes, at most an hour. */
export function backoff(attempts: number): number {
  return Math.min((MINUTE / 2) * 2 ** Math.max(0, attempts - 1), 60 * MINUTE);
}
