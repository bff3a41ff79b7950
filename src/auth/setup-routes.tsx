import { Hono } from "hono";
import { z } from "zod";
import type { AppEnv } from "../app-env";
import { getDb } from "../db";
import { passwordHistory } from "../db/schema";
import { emailField, parseForm, passwordField, requiredText } from "../lib/validation";
import { Card, ErrorMessage, Field, Layout } from "../web/layout";
import { hashPassword, scryptParamsFor } from "./password";
import { checkNewPassword, passwordRules } from "./password-policy";
import { passwordHistoryMac } from "./password-change";
import { portalStub } from "./sessions";
import type { PasswordPolicy } from "../portal/policy";
import { PasswordRulesList } from "../account/pages";
import { findUserByEmail, createFirstAdministrator, setupIsOpen } from "./users";
import { startSession } from "./sessions";

const setupForm = z
  .object({
    name: requiredText("your name", 100),
    email: emailField(),
    password: passwordField("a password"),
    confirm: passwordField("the password again"),
  })
  .refine((f) => f.password === f.confirm, { message: "The two passwords do not match.", path: ["confirm"] });

function SetupPage(props: { policy: PasswordPolicy; error?: string; name?: string; email?: string }) {
  return (
    <Layout title="Set up EdgeDesk">
      <Card title="Create the first administrator">
        <p>EdgeDesk has no agents yet. The account you create here is the Administrator; this page closes once it exists.</p>
        <ErrorMessage message={props.error} />
        <form method="post" action="/setup" class="stack">
          <Field label="Name" name="name" value={props.name} autocomplete="name" maxlength={100} />
          <Field label="Email" name="email" type="email" value={props.email} autocomplete="username" maxlength={254} />
          <Field label="Password" name="password" type="password" autocomplete="new-password" hint="Long passphrases are welcome." />
          <PasswordRulesList rules={passwordRules(props.policy)} />
          <Field label="Confirm password" name="confirm" type="password" autocomplete="new-password" />
          <button type="submit" class="primary">Create administrator</button>
        </form>
      </Card>
    </Layout>
  );
}

/** /setup: creates the first Administrator when no agent exists, then is gone for good. */
export const setupRoutes = new Hono<AppEnv>()
  .get("/setup", async (c) => {
    if (!(await setupIsOpen(getDb(c.env.DB)))) return c.notFound();
    return c.html(<SetupPage policy={(await portalStub(c.env, "agent").getPolicy()).password} />);
  })
  .post("/setup", async (c) => {
    const db = getDb(c.env.DB);
    if (!(await setupIsOpen(db))) return c.notFound();
    const policy = (await portalStub(c.env, "agent").getPolicy()).password;
    const form = await parseForm(c, setupForm);
    if (!form.ok) return c.html(<SetupPage policy={policy} error={form.message} />, 400);
    const { name, email, password } = form.data;
    const weakness = checkNewPassword(password, policy, { email, name });
    if (weakness) return c.html(<SetupPage policy={policy} error={weakness} name={name} email={email} />, 400);

    const now = c.var.clock.now();
    const result = await createFirstAdministrator(db, { name, email, passwordHash: await hashPassword(password, scryptParamsFor(c.env)), now });
    if (result === "closed") return c.notFound();
    const admin = await findUserByEmail(db, "agent", email);
    await db.insert(passwordHistory).values({ userId: admin!.id, mac: await passwordHistoryMac(c.env, admin!.id, password), createdAt: now });
    await startSession(c, "agent", admin!.id, { stage: "full", method: "password" });
    return c.redirect("/agent", 303);
  });
