// Which failures are the storage's (503, try again) and which are ours (500, a bug), held against
// errors workerd itself raises here, not against messages typed into a test.
import { env, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { userStub } from "../../src/auth/user-object";
import { isDependencyFailure } from "../../src/lib/failures";
import { getDb } from "../../src/db";
import { roles } from "../../src/db/schema";

async function errorOf(run: () => Promise<unknown>): Promise<unknown> {
  try {
    await run();
  } catch (error) {
    return error;
  }
  throw new Error("expected the call to fail");
}

describe("failure classes, from errors workerd raises", () => {
  it("a statement SQLite refuses, or a constraint it enforces, is a bug: 500, never 'try again'", async () => {
    const noTable = await errorOf(() => env.DB.prepare("SELECT * FROM no_such_table").run());
    expect((noTable as Error).message).toMatch(/^D1_ERROR: no such table/);
    expect(isDependencyFailure(noTable)).toBe(false);
    const syntax = await errorOf(() => env.DB.prepare("SELEC 1").run());
    expect(isDependencyFailure(syntax)).toBe(false);
    const duplicate = await errorOf(() =>
      env.DB.prepare("INSERT INTO roles (id, name, permissions, created_at) VALUES ('role_agent', 'x', '[]', 0)").run(),
    );
    expect((duplicate as Error).message).toMatch(/UNIQUE constraint failed/);
    expect(isDependencyFailure(duplicate)).toBe(false);
    // The same through drizzle, which wraps D1's error as its cause.
    const wrapped = await errorOf(() =>
      getDb(env.DB).insert(roles).values({ id: "role_agent", name: "x", permissions: [], createdAt: 0 }).run(),
    );
    expect(isDependencyFailure(wrapped)).toBe(false);
  });

  it("a Durable Object that was reset under a call is the platform's: 503, try again", async () => {
    const stub = userStub(env, `usr_reset_${crypto.randomUUID().slice(0, 8)}`);
    await stub.emailOtpStatus("flow");
    const reset = await errorOf(() => runInDurableObject(stub, async (_instance, state) => state.abort("reset for the test")));
    expect((reset as { durableObjectReset?: boolean }).durableObjectReset).toBe(true);
    expect(isDependencyFailure(reset)).toBe(true);
    // The next call through that stub fails the same way (a fresh stub reaches the object again).
    expect(isDependencyFailure(await errorOf(() => stub.emailOtpStatus("flow")))).toBe(true);
  });
});
