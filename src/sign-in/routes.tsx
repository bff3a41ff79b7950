// Every way into a portal, and every step of it, under /{portal}: the password and what follows it
// (the second step, setting up the app, the recovery codes, an expired password's change), a passkey alone, a temporary access
// pass, a forgotten password, "This wasn't me", Microsoft sign-in, and signing in again (/reauth).
// What follows each step is decided in one place (steps.ts: nextStage); the factors themselves are
// src/factors, which knows nothing of requests.
import { Hono } from "hono";
import type { AppEnv } from "../app-env";
import type { Portal } from "../portal/policy";
import { expiredPasswordRoutes } from "./expired-password-routes";
import { notMeRoutes } from "./not-me-routes";
import { passwordRoutes } from "./password-routes";
import { passwordlessRoutes } from "./passwordless-routes";
import { reauthRoutes } from "./reauth-routes";
import { passwordResetRoutes } from "./reset-routes";
import { secondStepRoutes } from "./second-step-routes";
import { ssoRoutes } from "./sso-routes";

export function signInRoutes(portal: Portal) {
  return new Hono<AppEnv>()
    .route("/", passwordRoutes(portal))
    .route("/", passwordResetRoutes(portal))
    .route("/", notMeRoutes(portal))
    .route("/", passwordlessRoutes(portal))
    .route("/", secondStepRoutes(portal))
    .route("/", expiredPasswordRoutes(portal))
    .route("/", ssoRoutes(portal))
    .route("/", reauthRoutes(portal));
}
