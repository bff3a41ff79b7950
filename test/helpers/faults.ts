// Failures of the parts EdgeDesk depends on, injected through the env a test client passes to the
// app (test/helpers/app.ts `browser({ env })`). The real bindings do the work until the fault fires.

/**
 * A D1 database whose n-th call (a statement's run/all/first/raw, or a batch) fails as D1 does:
 * `before` it reaches the database, or `after` (the call ran, and committed, but its answer was
 * lost on the way back, as when a connection drops after the commit). `failAt` also gets the SQL
 * of the call's statements, so a fault can pick a kind of statement.
 */
export function faultyD1(
  real: D1Database,
  failAt: (call: number, sql: readonly string[]) => boolean = () => true,
  when: "before" | "after" = "before",
) {
  let calls = 0;
  const originals = new WeakMap<object, D1PreparedStatement>();
  const queries = new WeakMap<object, string>();
  const lost = () => new Error("D1_ERROR: Network connection lost (injected by the test).");
  const guarded = async <T>(sql: readonly string[], call: () => Promise<T>): Promise<T> => {
    calls += 1;
    const fails = failAt(calls, sql);
    if (fails && when === "before") throw lost();
    const result = await call();
    if (fails) throw lost();
    return result;
  };
  const wrap = (statement: D1PreparedStatement, query: string): D1PreparedStatement => {
    const proxy = new Proxy(statement, {
      get(target, prop) {
        if (prop === "bind") return (...values: unknown[]) => wrap(target.bind(...values), query);
        if (prop === "run" || prop === "all" || prop === "first" || prop === "raw") {
          return (...args: unknown[]) => guarded([query], async () => (target[prop] as (...a: unknown[]) => unknown).apply(target, args));
        }
        const value = Reflect.get(target, prop, target);
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
    originals.set(proxy, statement);
    queries.set(proxy, query);
    return proxy;
  };
  // The app runs its queries in a D1 session (src/request/d1-session.ts): the session fails alike.
  const wrapDatabase = <T extends D1Database | D1DatabaseSession>(database: T): T =>
    new Proxy(database, {
      get(target, prop) {
        if (prop === "withSession")
          return (...args: Parameters<D1Database["withSession"]>) => wrapDatabase((target as D1Database).withSession(...args));
        if (prop === "prepare") return (query: string) => wrap(target.prepare(query), query);
        if (prop === "batch") {
          return (statements: D1PreparedStatement[]) =>
            guarded(
              statements.map((s) => queries.get(s) ?? ""),
              () => target.batch(statements.map((s) => originals.get(s) ?? s)),
            );
        }
        if (prop === "exec") {
          return (query: string) => guarded([query], () => (target as D1Database).exec(query));
        }
        const value = Reflect.get(target, prop, target);
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
  return { db: wrapDatabase(real), calls: () => calls };
}

/** A Durable Object namespace whose every call fails as an overloaded Durable Object does. */
export function faultyNamespace<T extends object>(real: T): T {
  const fail = async () => {
    throw Object.assign(new Error("Durable Object is overloaded. Requests queued for too long."), { overloaded: true });
  };
  const stub = new Proxy({}, { get: (_, prop) => (prop === "then" ? undefined : fail) });
  return new Proxy(real, {
    get(target, prop) {
      if (prop === "get" || prop === "getByName") return () => stub;
      const value = Reflect.get(target, prop, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

/** A send_email binding that refuses every message, as it does when the route is not verified. */
export const failingEmail = {
  send: async () => Promise.reject(new Error("send_email: destination address is not verified (injected by the test)")),
} as unknown as SendEmail;

/** The real send_email binding, after `drops` dropped connections (Workers mark those retryable). */
export function droppingEmail(real: SendEmail, drops: number) {
  let left = drops;
  let attempts = 0;
  const binding = {
    send: async (message: unknown) => {
      attempts++;
      if (left-- > 0) throw Object.assign(new Error("Network connection lost. (injected by the test)"), { retryable: true, remote: true });
      return (real.send as (m: unknown) => Promise<unknown>)(message);
    },
  } as unknown as SendEmail;
  return { binding, attempts: () => attempts };
}

export type KvCall = "put" | "get" | "delete";

/** A KV namespace whose chosen calls fail as KV does when it cannot be reached; the rest are the real ones. */
export function faultyKv(real: KVNamespace, failing: ReadonlySet<KvCall>): KVNamespace {
  return new Proxy(real, {
    get(target, prop) {
      if (typeof prop === "string" && failing.has(prop as KvCall)) {
        return async () => {
          throw new Error(`KV ${prop.toUpperCase()} failed: 503 Service Unavailable (injected by the test)`);
        };
      }
      const value = Reflect.get(target, prop, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

/**
 * The real send_email binding behind a switch a test flips: while `down`, every message is refused
 * (as a dropped connection Workers mark retryable, or as a refusal without that mark).
 */
export function switchableEmail(real: SendEmail) {
  const state = { down: null as null | "retryable" | "refused", refusals: 0 };
  const binding = {
    send: async (message: unknown) => {
      if (state.down === "retryable") {
        state.refusals++;
        throw Object.assign(new Error("Network connection lost. (injected by the test)"), { retryable: true, remote: true });
      }
      if (state.down === "refused") {
        state.refusals++;
        throw new Error("send_email: the sending service refused the message (injected by the test)");
      }
      return (real.send as (m: unknown) => Promise<unknown>)(message);
    },
  } as unknown as SendEmail;
  return { binding, state };
}

/**
 * A D1 database (and its sessions) whose batches fail, before reaching it or after committing (the
 * answer lost); single statements run.
 */
export function failingBatches(real: D1Database, when: "before" | "after" = "before"): D1Database {
  const lost = () => new Error("D1_ERROR: Network connection lost (injected by the test).");
  const wrap = <T extends D1Database | D1DatabaseSession>(database: T): T =>
    new Proxy(database, {
      get(target, prop) {
        if (prop === "withSession")
          return (...args: Parameters<D1Database["withSession"]>) => wrap((target as D1Database).withSession(...args));
        if (prop === "batch") {
          return async (statements: D1PreparedStatement[]) => {
            if (when === "after") await target.batch(statements);
            throw lost();
          };
        }
        const value = Reflect.get(target, prop, target);
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
  return wrap(real);
}

/** A D1 database (and its sessions) whose first `times` statements matching `pattern` fail before running. */
export function failingStatements(real: D1Database, pattern: RegExp, times = 1): D1Database {
  let left = times;
  const wrapStatement = (statement: D1PreparedStatement, query: string): D1PreparedStatement =>
    new Proxy(statement, {
      get(target, prop) {
        if (prop === "bind") return (...values: unknown[]) => wrapStatement(target.bind(...values), query);
        if ((prop === "run" || prop === "all" || prop === "first" || prop === "raw") && pattern.test(query) && left > 0) {
          left--;
          return async () => Promise.reject(new Error("D1_ERROR: Network connection lost (injected by the test)."));
        }
        const value = Reflect.get(target, prop, target);
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
  const wrap = <T extends D1Database | D1DatabaseSession>(database: T): T =>
    new Proxy(database, {
      get(target, prop) {
        if (prop === "withSession")
          return (...args: Parameters<D1Database["withSession"]>) => wrap((target as D1Database).withSession(...args));
        if (prop === "prepare") return (query: string) => wrapStatement(target.prepare(query), query);
        const value = Reflect.get(target, prop, target);
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
  return wrap(real);
}

/** A Durable Object namespace whose stubs have one RPC method replaced (`real` calls the object's own). */
export function objectsWith<N extends object>(
  namespace: N,
  method: string,
  replacement: (real: (...args: unknown[]) => Promise<unknown>, ...args: unknown[]) => Promise<unknown>,
): N {
  const plain = namespace as unknown as { get(id: DurableObjectId): unknown };
  return new Proxy(namespace, {
    get(target, prop) {
      if (prop !== "get") {
        const value = Reflect.get(target, prop, target);
        return typeof value === "function" ? value.bind(target) : value;
      }
      return (id: DurableObjectId) => {
        const stub = plain.get(id) as Record<PropertyKey, (...a: unknown[]) => Promise<unknown>>;
        return new Proxy(stub, {
          get(object, name) {
            // A stub's methods are RPC properties: called on the stub itself, never bound.
            if (name === method) return (...args: unknown[]) => replacement((...a) => object[method]!(...a), ...args);
            const value = Reflect.get(object, name, object);
            return typeof value === "function" ? (...args: unknown[]) => object[name]!(...args) : value;
          },
        });
      };
    },
  });
}

/** The first call of `method` fails as an overloaded Durable Object does; later ones reach the object. */
export function overloadedOnce<N extends object>(namespace: N, method: string) {
  let calls = 0;
  const objects = objectsWith(namespace, method, async (real, ...args) => {
    if (calls++ === 0)
      throw Object.assign(new Error("Durable Object is overloaded. Requests queued for too long. (injected by the test)"), {
        overloaded: true,
      });
    return real(...args);
  });
  return { objects, calls: () => calls };
}

/**
 * A D1 database that refuses every call writing an audit entry (alone or in a batch), as a
 * failing D1 does, while everything else works: the entry's store fails after its change.
 */
export function refusingAuditEntries(real: D1Database): D1Database {
  return faultyD1(real, (_call, sql) => sql.some((q) => /insert into "?audit_events/i.test(q))).db;
}
