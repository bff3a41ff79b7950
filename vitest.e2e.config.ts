import { defineConfig } from "vitest/config";

// Browser journeys (test/e2e): Node drives Debian's Chromium against `wrangler dev`.
// Each file starts its own Worker over a copy of one seeded state and connects to the run's one
// Chromium; files run one at a time because a machine here has 2 cores. They share one Node
// process and its loaded modules (isolate: false): Playwright, the mail parser and the OpenID
// Provider are loaded once, not once a file; every journey keeps its state in its own Worker,
// browser contexts and temporary directory.
export default defineConfig({
  test: {
    include: ["test/e2e/**/*.test.ts"],
    globalSetup: ["./test/e2e/global-setup.ts"],
    environment: "node",
    fileParallelism: false,
    isolate: false,
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
