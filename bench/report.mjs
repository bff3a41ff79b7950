// The part of docs/PERFORMANCE.md that states the latest bench run: rendered from
// bench/results.json alone, so the page can only say what the run recorded. `npm run bench`
// rewrites it after each run; test/e2e/docs.test.ts fails when the page and the file disagree.
import { readFileSync, writeFileSync } from "node:fs";

export const PERFORMANCE_DOC = "docs/PERFORMANCE.md";
const START = "<!-- From bench/results.json, written by `npm run bench`: edit bench/report.mjs, not this. -->";
const END = "<!-- End of the part written by `npm run bench`. -->";

/** A measured number as the tables show it; "—" where nothing was measured. */
export const fmt = (n, digits = 1) => (typeof n !== "number" || Number.isNaN(n) ? "—" : n.toFixed(digits));
/** A goal's verdict: "met", "**missed**", or nothing for a figure with no goal. */
export const yes = (met) => (met === null ? "" : met ? "met" : "**missed**");

/** The page scenarios (bench/results.json `pages`), each against the baseline of the same run. */
export function pagesTable(pages) {
  return [
    "| scenario | req/s | p50 ms | p99 ms | req/s vs baseline | p50 vs baseline | goal | |",
    "| --- | ---: | ---: | ---: | ---: | ---: | --- | --- |",
    ...pages.map(
      (r) =>
        `| ${r.name} | ${fmt(r.rps, 0)} | ${fmt(r.p50)} | ${fmt(r.p99)} | ${fmt(r.rpsRatio, 2)} | ${fmt(r.p50Ratio, 2)} | ${r.goal} | ${yes(r.met)} |`,
    ),
  ];
}

/** Every goal (bench/results.json `goals`) with its value, limit and verdict. */
export function goalsTable(goals) {
  return [
    "| goal | value | limit | |",
    "| --- | ---: | ---: | --- |",
    ...goals.map((g) => `| ${g.name} | ${fmt(g.value, Number.isInteger(g.value) ? 0 : 2)} | ${g.limit} | ${yes(g.met)} |`),
  ];
}

/** The latest run as markdown: when and where, the goals met and missed, the page table and every goal. */
export function renderResults(results) {
  const { machine, settings, goals, pages } = results;
  const missed = goals.filter((g) => !g.met);
  return [
    `Measured ${results.date.slice(0, 16).replace("T", " ")} UTC on ${machine.cpus} × ${machine.cpu}, ${machine.memoryGiB} GiB, ${machine.platform}, ` +
      `Node ${machine.node}; \`wrangler dev\` (local workerd), ${settings.connections} connections, median of ${settings.rounds} rounds of ` +
      `${settings.secondsPerRound} s; the whole run took ${results.totalSeconds} s.`,
    "",
    `**${goals.length - missed.length} of ${goals.length} goals met.**${missed.length ? ` Missed: ${missed.map((g) => `${g.name} (${fmt(g.value, 2)} against ${g.limit})`).join("; ")}.` : ""}`,
    "",
    ...pagesTable(pages),
    "",
    ...goalsTable(goals),
  ].join("\n");
}

/** The page with its generated part replaced by `results`. */
export function withResults(page, results) {
  const start = page.indexOf(START);
  const end = page.indexOf(END);
  if (start < 0 || end < start)
    throw new Error(`${PERFORMANCE_DOC} has lost its markers for the bench's part: put back ${START} and ${END}.`);
  return `${page.slice(0, start + START.length)}\n\n${renderResults(results)}\n\n${page.slice(end)}`;
}

export function writePerformanceDoc(results) {
  writeFileSync(PERFORMANCE_DOC, withResults(readFileSync(PERFORMANCE_DOC, "utf8"), results));
}
