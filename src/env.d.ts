// Secrets (set with `wrangler secret put`, locally in .dev.vars) and test-only bindings,
// merged into the Env that `wrangler types` generates from wrangler.toml: both the global `Env`
// (what our code names) and `Cloudflare.Env` (what `cloudflare:workers`' `env` is typed as).
interface EdgeDeskSecrets {
  /** 32 random bytes, base64: AES-GCM key for TOTP secrets and recovery codes. */
  ENCRYPTION_KEY: string;
  /** 32 random bytes, base64: HMAC key for email one-time passwords and password history. */
  HMAC_KEY: string;
  /** During a key rotation only: the key before ENCRYPTION_KEY / HMAC_KEY (docs/CONFIGURATION.md, "Key rotation"). */
  ENCRYPTION_KEY_PREVIOUS?: string;
  HMAC_KEY_PREVIOUS?: string;
  /** Production: the one-time token /setup asks for before creating the first administrator (remove it afterwards). */
  SETUP_TOKEN?: string;
  /** Development and tests only: cheaper scrypt parameters, "N=1024,r=1,p=1". Production refuses anything under its floor (src/auth/password.ts). */
  PASSWORD_HASH_PARAMS?: string;
  /** Microsoft Entra app registration's client secret (SSO). */
  ENTRA_CLIENT_SECRET?: string;
  /** Only in tests: the D1 migrations the setup file applies. */
  TEST_MIGRATIONS: import("cloudflare:test").D1Migration[];
}
declare namespace Cloudflare {
  interface Env extends EdgeDeskSecrets {}
}
interface Env extends EdgeDeskSecrets {}
