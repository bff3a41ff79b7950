// The development app: the product (src/app.tsx) with the tools `npm start`, the browser
// journeys, the bench and the tests use, none of which ships (the production entry,
// src/index.tsx, never imports this folder). Each tool also answers 404 unless ENVIRONMENT is
// "development", so even a development build deployed by mistake keeps them shut.
import { Hono } from "hono";
import type { AppEnv } from "../app-env";
import { type AppExtension, type AppOptions, createApp } from "../app";
import { isDevelopment } from "../mail/mailer";
import { devFloorRoutes } from "./floor-route";
import { devMailboxRoutes } from "./mailbox-route";
import { devSessionsRoutes } from "./sessions-route";
import { countingEnv, formatStorageCalls, noStorageCalls } from "./storage-calls";

const DEVELOPMENT: AppExtension = {
  // The bench asks how many storage calls a request makes (X-EdgeDesk-Count-Storage) and reads
  // the count from X-EdgeDesk-Storage-Calls.
  first: async (c, next) => {
    if (!isDevelopment(c.env) || !c.req.header("X-EdgeDesk-Count-Storage")) return next();
    const calls = noStorageCalls();
    c.env = countingEnv(c.env, calls);
    await next();
    c.header("X-EdgeDesk-Storage-Calls", formatStorageCalls(calls));
  },
  routes: new Hono<AppEnv>().route("/", devMailboxRoutes).route("/", devSessionsRoutes).route("/", devFloorRoutes),
};

/** The app with the development tools: the mailbox, minted sessions, the bench's floor and storage counting. */
export const createDevelopmentApp = (options: AppOptions = {}) => createApp(options, DEVELOPMENT);
