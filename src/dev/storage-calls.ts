// How many storage calls one request makes (portal objects, user objects, limiter
// objects, D1 statements and D1 round trips). The bench asks for it in development with the
// X-EdgeDesk-Count-Storage header and reads the answer from X-EdgeDesk-Storage-Calls; tests wrap
// an env directly. Counting wraps the bindings the request sees, so what is counted is what the
// app really called.
export interface StorageCalls {
  portal: number;
  user: number;
  limiter: number;
  d1Statements: number;
  d1RoundTrips: number;
}

export const noStorageCalls = (): StorageCalls => ({ portal: 0, user: 0, limiter: 0, d1Statements: 0, d1RoundTrips: 0 });

type ObjectKind = "portal" | "user" | "limiter";

function countingStub<T extends object>(stub: T, calls: StorageCalls, kind: ObjectKind): T {
  return new Proxy(stub, {
    get(target, prop) {
      const value = Reflect.get(target, prop);
      // "then" and symbols are how JavaScript inspects an object, not RPC calls.
      if (typeof value !== "function" || prop === "then" || typeof prop === "symbol") return value;
      // Called on the stub itself, as the app would: an RPC method taken off its stub cannot be re-aimed.
      return (...args: unknown[]) => {
        calls[kind]++;
        return (target as Record<string | symbol, (...a: unknown[]) => unknown>)[prop]!(...args);
      };
    },
  });
}

function countingNamespace<N extends object>(namespace: N, calls: StorageCalls, kind: ObjectKind): N {
  return new Proxy(namespace, {
    get(target, prop) {
      const value = Reflect.get(target, prop);
      if (typeof value !== "function") return value;
      if (prop === "get")
        return (...args: unknown[]) => countingStub((value as (...a: unknown[]) => object).apply(target, args), calls, kind);
      return (value as (...a: unknown[]) => unknown).bind(target);
    },
  });
}

// A counted statement stands for the real one, which D1's batch() needs back.
const realStatement = new WeakMap<object, D1PreparedStatement>();

function countingStatement(statement: D1PreparedStatement, calls: StorageCalls): D1PreparedStatement {
  const counted = new Proxy(statement, {
    get(target, prop) {
      const value = Reflect.get(target, prop);
      if (typeof value !== "function") return value;
      if (prop === "bind") return (...args: unknown[]) => countingStatement(target.bind(...args), calls);
      return (...args: unknown[]) => {
        calls.d1Statements++;
        calls.d1RoundTrips++;
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  realStatement.set(counted, statement);
  return counted;
}

function countingDatabase<T extends D1Database | D1DatabaseSession>(db: T, calls: StorageCalls): T {
  return new Proxy(db, {
    get(target, prop) {
      const value = Reflect.get(target, prop);
      if (typeof value !== "function") return value;
      if (prop === "prepare") return (query: string) => countingStatement(target.prepare(query), calls);
      if (prop === "batch") {
        return (statements: D1PreparedStatement[]) => {
          calls.d1Statements += statements.length;
          calls.d1RoundTrips++;
          return target.batch(statements.map((s) => realStatement.get(s) ?? s));
        };
      }
      if (prop === "withSession")
        return (...args: Parameters<D1Database["withSession"]>) => countingDatabase((target as D1Database).withSession(...args), calls);
      return (value as (...a: unknown[]) => unknown).bind(target);
    },
  });
}

/** The same env, its storage bindings counting into `calls`. */
export function countingEnv(env: Env, calls: StorageCalls): Env {
  return {
    ...env,
    DB: countingDatabase(env.DB, calls),
    PORTAL_DO: countingNamespace(env.PORTAL_DO, calls, "portal"),
    USER_DO: countingNamespace(env.USER_DO, calls, "user"),
    LIMITER_DO: countingNamespace(env.LIMITER_DO, calls, "limiter"),
  };
}

export function formatStorageCalls(calls: StorageCalls): string {
  return `portal=${calls.portal}, user=${calls.user}, limiter=${calls.limiter}, d1_statements=${calls.d1Statements}, d1_round_trips=${calls.d1RoundTrips}`;
}
