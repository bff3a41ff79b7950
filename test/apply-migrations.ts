// Before each test file: empty storage and fresh isolate caches, then the schema. Files share one
// workerd per vitest worker (vitest.config.ts, isolate: false), so what one file wrote, and what
// the Worker's modules cached from it, must not reach the next.
import { applyD1Migrations, reset } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { vi } from "vitest";
import { dropEveryPortalCache } from "../src/portal/state-cache";
import { forgetKeySets } from "../src/sso/jwks";
import { forgetResolvedTenants } from "../src/sso/tenants";

// A spy or stubbed global an earlier file forgot to restore (the identity provider's fetch) would
// answer this file's requests.
vi.restoreAllMocks();
vi.unstubAllGlobals();
vi.useRealTimers();
await reset();
dropEveryPortalCache();
forgetKeySets();
forgetResolvedTenants();
await applyD1Migrations(env.DB, env.TEST_MIGRATIONS);
