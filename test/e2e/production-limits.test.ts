// Production limits local workerd does not enforce: the CPU cap in wrangler.toml
// must cover the heaviest request the bench measured, with room for slower production cores,
// and a sign-in that rehashes (scrypt twice). Read from the committed files, as a deploy would.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";

const toml = readFileSync("wrangler.toml", "utf8");
const bench = JSON.parse(readFileSync("bench/results.json", "utf8"));

describe("wrangler.toml's [limits]", () => {
  const cpuMs = Number(/^\[limits\][^[]*?cpu_ms\s*=\s*(\d+)/m.exec(toml)?.[1]);

  it("sets cpu_ms, within what Workers Paid allows (30 s by default, 5 minutes at most)", () => {
    expect(cpuMs).toBeGreaterThan(0);
    expect(cpuMs).toBeLessThanOrEqual(300_000);
  });

  it("is at least 4× the heaviest single request of the last bench run, and 4× a sign-in that hashes twice", () => {
    expect(bench.heaviest, "run npm run bench: bench/results.json has no heaviest-request figures").toBeDefined();
    expect(cpuMs).toBeGreaterThanOrEqual(4 * bench.heaviest.maxMs);
    expect(cpuMs).toBeGreaterThanOrEqual(4 * 2 * bench.passwordHashMs);
    expect(bench.heaviest.cpuMs, "bench/results.json was measured with another cpu_ms: run npm run bench again").toBe(cpuMs);
  });
});
