import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

// Tests run inside workerd against real local D1, KV and Durable Objects (storage emptied before each file).
export default defineConfig(async () => ({
  plugins: [
    cloudflareTest({
      main: "./src/index.tsx",
      wrangler: { configPath: "./wrangler.toml" },
      miniflare: {
        bindings: {
          TEST_MIGRATIONS: await readD1Migrations("./migrations"),
          ENVIRONMENT: "development",
          // Cheap password hashes (production refuses these; test/auth/password.test.ts covers the
          // production parameters, including one sign-in end to end).
          PASSWORD_HASH_PARAMS: "N=1024,r=1,p=1",
          // Test-only keys; real deployments set these with `wrangler secret put`.
          ENCRYPTION_KEY: "dGVzdC1lbmNyeXB0aW9uLWtleS0zMi1ieXRlcy0hISE=",
          HMAC_KEY: "dGVzdC1obWFjLWtleS1mb3Itb3RwLWNvZGVzLTMyYnl0ZXM=",
          // SSO against the OpenID provider in test/helpers/oidc-provider.ts (answered inside the test).
          ENTRA_AUTHORITY: "https://login.test",
          ENTRA_CLIENT_ID: "edgedesk-test-client",
          ENTRA_CLIENT_SECRET: "test-client-secret",
          ENTRA_TENANT_ID: "organizations",
          ENTRA_ALLOWED_TENANT_IDS: "tenant-a,tenant-b",
          // Passkeys: the relying party is the test origin (test/helpers/app.ts ORIGIN).
          WEBAUTHN_RP_ID: "edgedesk.test",
          WEBAUTHN_ORIGINS: "https://edgedesk.test",
        },
      },
    }),
  ],
  test: {
    include: ["test/**/*.test.{ts,tsx}"],
    exclude: ["test/e2e/**"],
    // Each vitest worker starts one workerd and runs its files in it one after another; before each
    // file, test/apply-migrations.ts empties storage (reset()) and the Worker's isolate caches, so a
    // file still starts from nothing. A workerd and module graph per file cost about 2 s of start
    // and 2 s of transform each: measured idle, 167 s for the suite against 312 s isolated.
    isolate: false,
    setupFiles: ["./test/apply-migrations.ts"],
    // A SIEM's receiving end on a real port (in Node): the audit streaming tests post to it.
    globalSetup: ["./test/receiver/siem-receiver.ts"],
    // Two workers on a 2-core machine (vitest's default there is one): each has its own workerd
    // and storage, so two files running at once cannot meet.
    maxWorkers: 2,
    // A guard against a hung test, not a speed check: a busy machine may take several times longer.
    testTimeout: 120_000,
  },
}));
