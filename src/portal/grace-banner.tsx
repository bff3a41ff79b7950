import type { Context } from "hono";
import type { AppEnv } from "../app-env";
import { getDb } from "../db";
import { inGracePeriod } from "./policy";
import { deadlineText } from "../sign-in/second-step-pages";
import { hasConfirmedAuthenticator } from "../factors/totp";

/** After a skipped set-up, the portal home reminds the person of the deadline. */
export async function GraceReminder({ c }: { c: Context<AppEnv> }) {
  const auth = c.var.auth;
  const mfa = auth.policy.mfa;
  if (!inGracePeriod(mfa, c.var.clock.now()) || (await hasConfirmedAuthenticator(getDb(c.env.DB), auth.user.id))) return null;
  return (
    <p class="alert warning" role="status" data-testid="grace-reminder">
      Your administrator requires an authenticator app from {deadlineText(mfa.graceUntil!)}.{" "}
      <a href={`/${auth.portal}/account#two-step`}>Set up now</a>
    </p>
  );
}
