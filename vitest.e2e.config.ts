import { defineConfig } from "vitest/config";

// Browser journeys (test/e2e): Node drives Debian's Chromium against `wrangler dev`.
// Each file starts its own Worker over a copy of one seeded state; files run one at a time
// because a machine here has 2 cores and each file runs a Worker and a browser.
export default defineConfig({
  test: {
    include: ["test/e2e/**/*.test.ts"],
    globalSetup: ["./test/e2e/global-setup.ts"],
    environment: "node",
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
