import { type Context, Hono, type MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import { csrf } from "hono/csrf";
import { HTTPException } from "hono/http-exception";
import { secureHeaders } from "hono/secure-headers";
import type { AppEnv } from "./app-env";
import { accountRoutes } from "./account/routes";
import { apiRoutes } from "./api/routes";
import { ASSET_KIND, SOFTWARE_KIND } from "./assets/kinds";
import { inventoryRoutes } from "./assets/routes";
import { recordFormRoutes } from "./assets/form-routes";
import { importRoutes } from "./assets/import-routes";
import { IMPORT_MAX_BYTES } from "./assets/import";
import { ASSET_FIELDS, SOFTWARE_FIELDS } from "./assets/fields";
import { myAssetsRoutes } from "./assets/my-assets-routes";
import { groupsRoutes, locationsRoutes } from "./admin/named-list-routes";
import { peopleRoutes } from "./admin/people-routes";
import { requestsRoutes } from "./admin/requests-routes";
import { pausesRoutes } from "./admin/pauses-routes";
import { rolesRoutes } from "./admin/roles-routes";
import { signInRoutes } from "./sign-in/routes";
import { PasswordHashConfigurationError, scryptParamsFor } from "./auth/password";
import { setupRoutes } from "./admin/setup-routes";
import { type Clock, systemClock } from "./lib/clock";
import { assertSecrets, SecretConfigurationError } from "./lib/encryption";
import { isDependencyFailure, RETRY_AFTER_SECONDS, Unavailable } from "./lib/failures";
import { settingsHubRoutes } from "./settings/hub-routes";
import { securitySettingsRoutes } from "./settings/routes";
import { agentHomeRoutes, supportHomeRoutes } from "./portal/routes";
import { Card, Layout } from "./web/layout";
import { d1Sessions } from "./request/d1-session";
import { PortalStateCache } from "./portal/state-cache";

export interface AppOptions {
  clock?: Clock;
  /** One per isolate: the Worker builds its app once, and tests build one per simulated browser. */
  portals?: PortalStateCache;
}

/**
 * A change whose dependency failed part-way may have been stored (a D1 write can commit and its
 * answer be lost): the 503 page says only what is known, and how to find out.
 */
function unavailableMessage(method: string, path: string): string {
  if (method === "GET" || method === "HEAD") return "Part of EdgeDesk did not answer. Try again in a moment.";
  if (isPasswordStep(method, path)) return "Part of EdgeDesk did not answer, so this step did not finish. Try again in a moment.";
  return "Part of EdgeDesk did not answer, so we cannot tell whether this change was saved. Reload the page to see, and try again only if it was not.";
}

/**
 * The password step of signing in stores nothing a person needs back (a failed guess, an audit
 * row): failing, it hands over no session either, so it did not finish and can simply be tried
 * again. Every other change may have been stored, a one-time code used or a password set, and
 * keeps whatever cookie it set so far.
 */
function isPasswordStep(method: string, path: string): boolean {
  return method === "POST" && /^\/(agent|support)\/login$/.test(path);
}

/** The API answers in JSON, refusals and failures alike (src/request/api-auth.ts). */
function isApi(path: string): boolean {
  return path === "/api" || path.startsWith("/api/");
}

function apiFailure(error: Error, c: Context<AppEnv>) {
  if (error instanceof HTTPException && error.status < 500)
    return c.json({ error: { code: "refused", message: "The request could not be accepted." } }, error.status);
  const requestId = c.req.header("cf-ray") ?? crypto.randomUUID();
  console.error(`${c.req.method} ${c.req.path} failed (request ${requestId}):`, error);
  if (isDependencyFailure(error)) {
    c.header("Retry-After", String(RETRY_AFTER_SECONDS));
    return c.json(
      { error: { code: "unavailable", message: "Part of EdgeDesk did not answer. Try again in a moment.", request_id: requestId } },
      503,
    );
  }
  return c.json({ error: { code: "internal", message: "The request could not be finished.", request_id: requestId } }, 500);
}

/** What the Worker and the tests use of an app: Hono's own fetch, request and route list. */
export type App = Pick<Hono<AppEnv>, "fetch" | "request" | "routes">;

/** Each request's app options, set by its app's fetch for the routes' first middleware. */
const optionsOf = new WeakMap<Request, Required<AppOptions>>();

/**
 * What the development entry (src/dev/index.tsx) adds to the product: its routes, mounted after
 * the product's middleware, and a middleware run first. The production entry passes none, so
 * nothing of src/dev is in the bundle `wrangler deploy` uploads (scripts/check-bundle.mjs).
 */
export interface AppExtension {
  first: MiddlewareHandler<AppEnv>;
  routes: Hono<AppEnv>;
}

/** The routes, built once per isolate for each extension (or none) and shared by every app made in it. */
const built = new Map<AppExtension | null, Hono<AppEnv>>();

/**
 * Build the Worker's app. Tests pass their own clock; production uses the system clock. The
 * routes are built (and Hono's router compiled) once per isolate: tests make an app per simulated
 * browser, each with its own clock and portal cache, and building 150 routes each time cost more
 * than the requests most of those browsers send.
 */
export function createApp(
  { clock = systemClock, portals = new PortalStateCache() }: AppOptions = {},
  extension: AppExtension | null = null,
): App {
  const shared = built.get(extension) ?? built.set(extension, buildRoutes(extension)).get(extension)!;
  const options = { clock, portals };
  const fetch: App["fetch"] = (request, env, ctx) => {
    optionsOf.set(request, options);
    return shared.fetch(request, env, ctx);
  };
  // As Hono's app.request: a path (or URL) and init, or a Request.
  const request: App["request"] = (input, init, env, ctx) => {
    if (input instanceof Request) return fetch(init ? new Request(input, init) : input, env, ctx);
    const url = String(input);
    // A path is put after the origin as written ("//x" stays a path), as Hono does.
    return fetch(new Request(/^https?:\/\//.test(url) ? url : `http://localhost${url.startsWith("/") ? "" : "/"}${url}`, init), env, ctx);
  };
  return { fetch, request, routes: shared.routes };
}

function buildRoutes(extension: AppExtension | null) {
  const app = new Hono<AppEnv>();

  app.use(async (c, next) => {
    const options = optionsOf.get(c.req.raw);
    if (!options) throw new Error("A request reached the routes without its app's options (createApp's fetch sets them).");
    c.set("clock", options.clock);
    c.set("portals", options.portals);
    await next();
  });
  if (extension) app.use(extension.first);

  app.use(d1Sessions());

  // SECURITY.md 30: a strict CSP with no inline script, no framing, no referrer leaks.
  app.use(
    secureHeaders({
      contentSecurityPolicy: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        styleSrc: ["'self'"],
        imgSrc: ["'self'", "data:"],
        objectSrc: ["'none'"],
        baseUri: ["'none'"],
        formAction: ["'self'"],
        frameAncestors: ["'none'"],
      },
      xFrameOptions: "DENY",
      referrerPolicy: "same-origin",
      strictTransportSecurity: "max-age=63072000; includeSubDomains",
    }),
  );
  // Pages carry personal data and one-time secrets: never cache them.
  app.use(async (c, next) => {
    await next();
    if (!c.res.headers.has("Cache-Control")) c.header("Cache-Control", "no-store");
  });
  // A missing or malformed secret, or a password hash weaker than production allows, stops
  // every request with a page naming the setting (and a log line).
  app.use(async (c, next) => {
    try {
      assertSecrets(c.env);
      scryptParamsFor(c.env);
    } catch (error) {
      if (!(error instanceof SecretConfigurationError || error instanceof PasswordHashConfigurationError)) throw error;
      console.error(error.message);
      return c.html(
        <Layout title="Not configured">
          <Card title="EdgeDesk is not configured yet">
            <p>{error.message}</p>
          </Card>
        </Layout>,
        503,
      );
    }
    await next();
  });
  // SECURITY.md 27: a cross-origin form POST is refused. The API is not a form's target: it takes
  // a bearer token, which no browser sends on its own, so a script's POST is never refused here.
  const sameOriginForms = csrf();
  app.use((c, next) => (isApi(c.req.path) ? next() : sameOriginForms(c, next)));
  // A CSV import carries its file (at most IMPORT_MAX_BYTES, checked with a clear message) and
  // multipart's overhead; every other request fits in 64 KB.
  const smallBodies = bodyLimit({
    maxSize: 64 * 1024,
    onError: (c) =>
      isApi(c.req.path)
        ? c.json({ error: { code: "too_large", message: "The request is too large." } }, 413)
        : c.text("The request is too large.", 413),
  });
  const importBodies = bodyLimit({
    maxSize: IMPORT_MAX_BYTES * 2 + 64 * 1024,
    onError: (c) => c.text(`The file is too large: at most ${IMPORT_MAX_BYTES / 1024} KB can be imported at once.`, 413),
  });
  app.use((c, next) => (/^\/agent\/(assets|software)\/import(\/apply)?$/.test(c.req.path) ? importBodies : smallBodies)(c, next));

  app.get("/", (c) => c.redirect("/agent", 302));
  app.route("/", setupRoutes);
  if (extension) app.route("/", extension.routes);
  for (const portal of ["agent", "support"] as const) {
    app.route(`/${portal}`, signInRoutes(portal));
    app.route(`/${portal}`, accountRoutes(portal));
  }
  app.route("/api/v1", apiRoutes);
  app.route("/agent/settings", settingsHubRoutes);
  app.route("/agent/settings/security", securitySettingsRoutes);
  app.route("/agent/admin/roles", rolesRoutes);
  app.route("/agent/admin/recovery-requests", requestsRoutes);
  app.route("/agent/admin/paused-sign-ins", pausesRoutes);
  app.route("/agent/admin/locations", locationsRoutes);
  app.route("/agent/admin/groups", groupsRoutes);
  app.route("/agent/admin", peopleRoutes);
  app.route(ASSET_KIND.path, importRoutes(ASSET_KIND));
  app.route(SOFTWARE_KIND.path, importRoutes(SOFTWARE_KIND));
  app.route(ASSET_KIND.path, recordFormRoutes(ASSET_KIND, ASSET_FIELDS));
  app.route(ASSET_KIND.path, inventoryRoutes(ASSET_KIND));
  app.route(SOFTWARE_KIND.path, recordFormRoutes(SOFTWARE_KIND, SOFTWARE_FIELDS));
  app.route(SOFTWARE_KIND.path, inventoryRoutes(SOFTWARE_KIND));
  app.route("/support/assets", myAssetsRoutes);
  app.route("/agent", agentHomeRoutes);
  app.route("/support", supportHomeRoutes);

  app.notFound((c) =>
    isApi(c.req.path)
      ? c.json({ error: { code: "not_found", message: "There is no such API route." } }, 404)
      : c.html(
          <Layout title="Not found">
            <Card title="Page not found">
              <p>
                There is nothing at this address. Check the link, or go to the <a href="/agent">agent portal</a> or the{" "}
                <a href="/support">support portal</a>.
              </p>
            </Card>
          </Layout>,
          404,
        ),
  );
  app.onError((error, c) => {
    if (isApi(c.req.path)) return apiFailure(error, c);
    // Refusals raised by middleware (the CSRF check's 403) keep their status, with a page a person can read.
    if (error instanceof HTTPException && error.status < 500) {
      const message =
        error.status === 403
          ? "This request came from another site, so it was refused. Go back to EdgeDesk and try again there."
          : "The request could not be accepted.";
      return c.html(
        <Layout title="Request refused">
          <Card title="Request refused">
            <p>{message}</p>
          </Card>
        </Layout>,
        error.status,
      );
    }
    // One line per failure, with the request's id (Cloudflare's Ray ID, also on the page), so what
    // a person reports can be found in the logs.
    const requestId = c.req.header("cf-ray") ?? crypto.randomUUID();
    const path = new URL(c.req.url).pathname;
    console.error(`${c.req.method} ${path} failed (request ${requestId}):`, error);
    // A password step that failed leaves no cookie behind: a session cookie set before the failure
    // would sign in someone told that the step did not finish (and whose sign-in was never audited).
    if (isPasswordStep(c.req.method, path)) c.header("Set-Cookie", undefined);
    if (isDependencyFailure(error)) {
      c.header("Retry-After", String(RETRY_AFTER_SECONDS));
      return c.html(
        <Layout title="Temporarily unavailable">
          <Card title="Temporarily unavailable">
            <p>{error instanceof Unavailable ? error.personMessage : unavailableMessage(c.req.method, path)}</p>
            <p class="hint">Reference: {requestId}</p>
          </Card>
        </Layout>,
        503,
      );
    }
    return c.html(
      <Layout title="Something went wrong">
        <Card title="Something went wrong">
          {/* A request that failed part-way may have saved a change before it failed: say only what is known. */}
          <p>We could not finish that request. If it was a change, reload the page to see whether it was saved before you try again.</p>
          <p class="hint">Reference: {requestId}</p>
        </Card>
      </Layout>,
      500,
    );
  });

  return app;
}
