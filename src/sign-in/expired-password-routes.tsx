// The last step of a sign-in whose password expired under the portal's policy: the session is at
// the "change_password" stage (steps.ts) and opens the portal only once a new password is set.
import { Hono } from "hono";
import { z } from "zod";
import { changedOwnPassword, matching, newPasswordFields } from "../account/own-password";
import { finishPasswordChange } from "../request/session-cookie";
import type { AppEnv } from "../app-env";
import { auditOriginOf } from "../request/audit";
import { requireSession } from "../request/require-session";
import { setPassword } from "../auth/password-change";
import { passwordRules } from "../auth/password-policy";
import { findUserById } from "../auth/users";
import { getDb } from "../db";
import { readsForm } from "../request/validation";
import { formRefusal } from "../lib/fields";
import type { Portal } from "../portal/policy";
import { ChangeExpiredPasswordPage } from "./pages";

const expiredForm = z.object(newPasswordFields).refine((f) => f.password === f.confirm, matching);

export function expiredPasswordRoutes(portal: Portal) {
  const app = new Hono<AppEnv>();
  const expired = requireSession(portal, ["change_password"]);
  app.get("/login/change-password", expired, (c) =>
    c.html(<ChangeExpiredPasswordPage auth={c.var.auth} rules={passwordRules(c.var.auth.policy.password)} />),
  );
  app.post("/login/change-password", expired, readsForm(expiredForm), async (c) => {
    const auth = c.var.auth;
    const rules = passwordRules(auth.policy.password);
    const form = c.req.valid("form");
    if (!form.ok) return c.html(<ChangeExpiredPasswordPage auth={auth} rules={rules} {...formRefusal(form)} />, 400);
    const db = getDb(c.env.DB);
    const user = await findUserById(db, auth.user.id);
    const told = user ? await changedOwnPassword(c.env, db, auth.portal, user, auditOriginOf(c)) : null;
    const changed =
      user && told
        ? await setPassword(c.env, db, user, form.data.password, auth.policy.password, c.var.clock.now(), told.statements)
        : { ok: false as const, message: "Your account was not found." };
    if (!changed.ok) return c.html(<ChangeExpiredPasswordPage auth={auth} rules={rules} error={changed.message} />, 400);
    await finishPasswordChange(c, auth, false, told!.ids);
    return c.redirect(`/${portal}`, 303);
  });

  return app;
}
