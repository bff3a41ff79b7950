// `wrangler dev` appends a debug entry to its log file for every devtools network event its
// inspector proxy forwards (four for each D1 query, the query's whole answer among them),
// whatever --log-level says: over a gigabyte in one bench run, left in ~/.config/.wrangler/logs.
// The bench points every wrangler it starts at one file of its own, in memory where the machine
// has /dev/shm, empties it every few seconds, and removes it at the end.
import { existsSync, mkdtempSync, rmSync, truncateSync } from "node:fs";
import os from "node:os";
import { join } from "node:path";

export function keepWranglerLogSmall() {
  const dir = mkdtempSync(join(existsSync("/dev/shm") ? "/dev/shm" : os.tmpdir(), "edgedesk-bench-log-"));
  const file = join(dir, "wrangler.log");
  process.env.WRANGLER_LOG_PATH = file; // a path ending in .log is used as the file itself
  const timer = setInterval(() => {
    try {
      truncateSync(file, 0); // wrangler appends, so it carries on from the start
    } catch {} // not written yet
  }, 3_000);
  timer.unref();
  return () => {
    clearInterval(timer);
    rmSync(dir, { recursive: true, force: true });
  };
}
