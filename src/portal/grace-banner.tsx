import type { Auth } from "../access/auth";
import type { Db } from "../db";
import { inGracePeriod } from "./policy";
import { deadlineText } from "../sign-in/second-step-pages";
import { hasConfirmedAuthenticator } from "../factors/totp";

/** After a skipped set-up, the portal home reminds the person of the deadline. */
export async function GraceReminder({ auth, db, now }: { auth: Auth; db: Db; now: number }) {
  const mfa = auth.policy.mfa;
  if (!inGracePeriod(mfa, now) || (await hasConfirmedAuthenticator(db, auth.user.id))) return null;
  return (
    <p class="alert warning" role="status" data-testid="grace-reminder">
      Your administrator requires an authenticator app from {deadlineText(mfa.graceUntil!)}.{" "}
      <a href={`/${auth.portal}/account#two-step`}>Set up now</a>
    </p>
  );
}
