import { Hono } from "hono";
import { z } from "zod";
import type { AppEnv } from "../app-env";
import { getDb } from "../db";
import { emailField, parseForm, passwordField, safeNextPath } from "../lib/validation";
import type { Portal } from "../portal/policy";
import { SignInPage } from "./pages";
import { endCurrentSession, readSession, startSession } from "./sessions";
import { checkPassword } from "./sign-in";

const signInForm = z.object({
  email: emailField(),
  password: passwordField(),
  next: z.string().max(2048).optional(),
});

export const INVALID_CREDENTIALS = "Invalid email or password";

/** Sign-in and sign-out of one portal, mounted at /agent or /support. */
export function signInRoutes(portal: Portal) {
  const app = new Hono<AppEnv>();
  const home = `/${portal}`;

  app.get("/login", async (c) => {
    const next = safeNextPath(c.req.query("next"), home);
    const auth = await readSession(c, portal);
    if (auth?.session.stage === "full") return c.redirect(next, 303);
    const notice = c.req.query("signed_out") === "1" ? "You have signed out." : undefined;
    return c.html(<SignInPage portal={portal} next={next === home ? undefined : next} notice={notice} />);
  });

  app.post("/login", async (c) => {
    const form = await parseForm(c, signInForm);
    if (!form.ok) return c.html(<SignInPage portal={portal} error={form.message} />, 400);
    const { email, password } = form.data;
    const next = safeNextPath(form.data.next, home);
    const keepNext = next === home ? undefined : next;

    const result = await checkPassword(getDb(c.env.DB), portal, email, password, c.var.clock.now());
    if (!result.ok) {
      const error = result.reason === "disabled" ? "This account is disabled. Ask your administrator to enable it." : INVALID_CREDENTIALS;
      return c.html(<SignInPage portal={portal} email={email} next={keepNext} error={error} />, result.reason === "disabled" ? 403 : 401);
    }
    await startSession(c, portal, result.user.id, { stage: "full", method: "password" });
    return c.redirect(next, 303);
  });

  app.post("/logout", async (c) => {
    await endCurrentSession(c, portal);
    return c.redirect(`/${portal}/login?signed_out=1`, 303);
  });

  return app;
}
