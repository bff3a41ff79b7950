import { Hono } from "hono";
import { z } from "zod";
import type { AppEnv } from "../app-env";
import { getDb } from "../db";
import { passwordHistory } from "../db/schema";
import { readsForm } from "../request/validation";
import { emailField, passwordField, requiredText, type FieldErrors } from "../lib/fields";
import { Card, Field, FormProblems, Layout } from "../web/layout";
import { hashPassword, scryptParamsFor } from "../auth/password";
import { constantTimeEqual, sha256Hex } from "../lib/crypto";
import { checkNewPassword, passwordRules } from "../auth/password-policy";
import { passwordHistoryMac } from "../auth/password-change";
import type { PasswordPolicy } from "../portal/policy";
import { PasswordRulesList } from "../account/pages";
import { findUserByEmail, createFirstAdministrator, setupIsOpen } from "../auth/users";
import { startSession } from "../request/session-cookie";
import { portalPolicy } from "../request/portal";

const setupForm = z
  .object({
    setupToken: z.string().max(200, "The setup token is at most 200 characters.").optional(),
    name: requiredText("your name", 100),
    email: emailField(),
    password: passwordField("a password"),
    confirm: passwordField("the password again"),
  })
  .refine((f) => f.password === f.confirm, { message: "The two passwords do not match.", path: ["confirm"] });

const MIN_SETUP_TOKEN = 24;

/**
 * A freshly deployed Worker's /setup is not the first visitor's to claim. Outside
 * development it needs the one-time SETUP_TOKEN secret (README, "Deploy it"): "missing" while the
 * secret is unset or too short to be a secret, then "wrong" or "right" for what was typed.
 */
async function checkSetupToken(env: Env, typed: string | undefined): Promise<"not needed" | "missing" | "wrong" | "right"> {
  if (env.ENVIRONMENT === "development") return "not needed";
  const secret = env.SETUP_TOKEN?.trim() ?? "";
  if (secret.length < MIN_SETUP_TOKEN) return "missing";
  const [a, b] = await Promise.all([sha256Hex(secret), sha256Hex((typed ?? "").trim())]);
  return constantTimeEqual(new TextEncoder().encode(a), new TextEncoder().encode(b)) ? "right" : "wrong";
}

const NO_TOKEN_YET =
  `This EdgeDesk has no administrator yet, and no setup token. Set one with \`wrangler secret put SETUP_TOKEN\` (at least ` +
  `${MIN_SETUP_TOKEN} random characters), then come back and enter it here.`;

function SetupPage(props: {
  policy: PasswordPolicy;
  needsToken: boolean;
  error?: string;
  name?: string | undefined;
  email?: string | undefined;
  errors?: FieldErrors;
}) {
  const errors = props.errors ?? {};
  return (
    <Layout title="Set up EdgeDesk">
      <Card title="Create the first administrator">
        <p>EdgeDesk has no agents yet. The account you create here is the Administrator; this page closes once it exists.</p>
        <FormProblems error={props.error} errors={errors} fields={["setupToken", "name", "email", "password", "confirm"]} />
        <form method="post" action="/setup" class="stack">
          {props.needsToken && (
            <Field
              label="Setup token"
              name="setupToken"
              type="password"
              autocomplete="off"
              hint="The SETUP_TOKEN secret set when EdgeDesk was deployed. Remove the secret once you are in."
              error={errors.setupToken}
            />
          )}
          <Field label="Name" name="name" value={props.name} autocomplete="name" maxlength={100} error={errors.name} />
          <Field label="Email" name="email" type="email" value={props.email} autocomplete="username" maxlength={254} error={errors.email} />
          <Field
            label="Password"
            name="password"
            type="password"
            autocomplete="new-password"
            hint="Long passphrases are welcome."
            error={errors.password}
          />
          <PasswordRulesList rules={passwordRules(props.policy)} />
          <Field label="Confirm password" name="confirm" type="password" autocomplete="new-password" error={errors.confirm} />
          <button type="submit" class="primary">
            Create administrator
          </button>
        </form>
      </Card>
    </Layout>
  );
}

/** Before the Worker has a SETUP_TOKEN secret, /setup says how to set one and takes nothing. */
function NoSetupTokenPage() {
  return (
    <Layout title="Set up EdgeDesk">
      <Card title="Set a setup token first">
        <p>{NO_TOKEN_YET}</p>
      </Card>
    </Layout>
  );
}

/** /setup: creates the first Administrator when no agent exists, then is gone for good. */
export const setupRoutes = new Hono<AppEnv>()
  .get("/setup", async (c) => {
    if (!(await setupIsOpen(getDb(c.env.DB)))) return c.notFound();
    const token = await checkSetupToken(c.env, undefined);
    if (token === "missing") return c.html(<NoSetupTokenPage />, 403);
    return c.html(<SetupPage policy={(await portalPolicy(c, "agent")).password} needsToken={token !== "not needed"} />);
  })
  .post("/setup", readsForm(setupForm), async (c) => {
    const db = getDb(c.env.DB);
    if (!(await setupIsOpen(db))) return c.notFound();
    const policy = (await portalPolicy(c, "agent")).password;
    const form = c.req.valid("form");
    const needsToken = c.env.ENVIRONMENT !== "development";
    if (!form.ok) {
      const typed = (key: string) => (typeof form.values[key] === "string" ? (form.values[key] as string) : undefined);
      const fields = Object.keys(form.errors).length > 0;
      return c.html(
        <SetupPage
          policy={policy}
          needsToken={needsToken}
          error={fields ? undefined : form.message}
          errors={form.errors}
          name={typed("name")}
          email={typed("email")}
        />,
        400,
      );
    }
    const { name, email, password } = form.data;
    const token = await checkSetupToken(c.env, form.data.setupToken);
    if (token === "missing") return c.html(<NoSetupTokenPage />, 403);
    if (token === "wrong")
      return c.html(<SetupPage policy={policy} needsToken error="That setup token is not right." name={name} email={email} />, 403);
    const weakness = checkNewPassword(password, policy, { email, name });
    if (weakness) return c.html(<SetupPage policy={policy} needsToken={needsToken} error={weakness} name={name} email={email} />, 400);

    const now = c.var.clock.now();
    const result = await createFirstAdministrator(db, {
      name,
      email,
      passwordHash: await hashPassword(password, scryptParamsFor(c.env)),
      now,
    });
    if (result === "closed") return c.notFound();
    const admin = await findUserByEmail(db, "agent", email);
    await db
      .insert(passwordHistory)
      .values({ userId: admin!.id, mac: await passwordHistoryMac(c.env, admin!.id, password), createdAt: now });
    await startSession(c, "agent", admin!.id, { stage: "full", method: "password" });
    return c.redirect("/agent", 303);
  });
