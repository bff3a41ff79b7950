import { env } from "cloudflare:workers";
import { createDevelopmentApp } from "../../src/dev/app";
import type { Clock } from "../../src/lib/clock";

/** A clock tests move by hand. */
export function fakeClock(start = Date.UTC(2026, 10, 22, 9, 0, 0)) {
  let now = start;
  return {
    now: () => now,
    advance(ms: number) {
      now += ms;
    },
    set(ms: number) {
      now = ms;
    },
    /** Waiting on a test's clock moves it on at once. */
    async sleep(ms: number) {
      now += ms;
    },
  } satisfies Clock & Record<string, unknown>;
}
export type FakeClock = ReturnType<typeof fakeClock>;

export const ORIGIN = "https://edgedesk.test";

/** The env a deployed Worker has: not development, and production's password hash (tests' cheap one would stop it). */
export function deployedEnv(ENVIRONMENT = "production"): Partial<Env> {
  return { ENVIRONMENT, PASSWORD_HASH_PARAMS: "" };
}

/**
 * A browser-like client of the app: keeps cookies, sends the Origin a same-site form post has,
 * and does not follow redirects, so tests see each step.
 */
export function browser(
  options: {
    clock?: Clock;
    env?: Partial<Env>;
    ip?: string;
    userAgent?: string;
    onResponse?: () => void;
    cookiesOf?: { cookies: Map<string, string> };
  } = {},
) {
  const app = createDevelopmentApp({ clock: options.clock ?? fakeClock() });
  // `cookiesOf`: the same browser after the Worker's settings changed (a key rotation, say).
  const jar = new Map<string, string>(options.cookiesOf?.cookies ?? []);
  // Each browser has its own address, so per-IP limits do not couple unrelated tests.
  const ip = options.ip ?? `198.18.${Math.floor(Math.random() * 256)}.${Math.floor(Math.random() * 256)}`;

  function storeCookies(response: Response) {
    for (const header of response.headers.getSetCookie()) {
      const [pair] = header.split(";");
      const eq = pair!.indexOf("=");
      const name = pair!.slice(0, eq);
      const value = pair!.slice(eq + 1);
      if (value === "" || /max-age=0/i.test(header)) jar.delete(name);
      else jar.set(name, value);
    }
  }

  async function request(path: string, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    if (jar.size && !headers.has("Cookie")) headers.set("Cookie", [...jar].map(([k, v]) => `${k}=${v}`).join("; "));
    if (!headers.has("Origin") && init.method && init.method !== "GET") headers.set("Origin", ORIGIN);
    headers.set("CF-Connecting-IP", ip);
    if (!headers.has("User-Agent"))
      headers.set("User-Agent", options.userAgent ?? "Mozilla/5.0 (X11; Linux x86_64) Chrome/156.0 Safari/537.36");
    // Work the app hands to waitUntil finishes before the test sees the response, as it would soon after in production.
    const background: Promise<unknown>[] = [];
    const ctx = {
      waitUntil: (p: Promise<unknown>) => void background.push(p),
      passThroughOnException: () => {},
      props: {},
    } as unknown as ExecutionContext;
    const response = await app.request(
      new Request(new URL(path, ORIGIN), { ...init, headers, redirect: "manual" }),
      undefined,
      { ...env, ...options.env },
      ctx,
    );
    // The moment the person has their answer, before the work handed to waitUntil.
    options.onResponse?.();
    await Promise.all(background);
    storeCookies(response);
    return response;
  }

  return {
    request,
    get: (path: string, init: RequestInit = {}) => request(path, { ...init, method: "GET" }),
    /** Post a form as a browser does (application/x-www-form-urlencoded). */
    post: (path: string, form: Record<string, string> = {}, init: RequestInit = {}) =>
      request(path, { ...init, method: "POST", body: new URLSearchParams(form) }),
    cookies: jar,
    cookie: (name: string) => jar.get(name),
  };
}
export type Browser = ReturnType<typeof browser>;

/** Read a body and return it (tests must read every body, or workerd complains at teardown). */
export async function text(response: Response): Promise<string> {
  return response.text();
}

/** GET a path (with a Cookie header, if given) and return only the status, reading the body. */
export async function statusOf(client: Browser, path: string, cookie?: string): Promise<number> {
  const response = await client.get(path, cookie ? { headers: { Cookie: cookie } } : {});
  await response.text();
  return response.status;
}
