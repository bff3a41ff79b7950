// Using a temporary access pass to sign in, at the second step after the password or
// (where passkeys may sign in alone) with the email alone. One rule for both: it works once, the
// person's authenticator goes with it where the portal uses the app (they set up a new one next),
// and its use is audited and emailed to them (an admin who issued it could otherwise sign in as
// them unseen).
import type { Context } from "hono";
import type { AppEnv } from "../app-env";
import { requestDetails } from "../request/session-cookie";
import { getDb } from "../db";
import { sendAfterResponse } from "../request/mail";
import { auditOriginOf } from "../request/audit";
import type { AuditEntry } from "../audit/events";
import type { Portal, PortalPolicy } from "../portal/policy";
import { accessPassUsedNotice, useAccessPass } from "../factors/access-pass";

export const PASS_REFUSED =
  "That temporary access pass is not right, was already used, or has expired. Ask your administrator for a new one.";

export async function signInWithAccessPass(
  c: Context<AppEnv>,
  portal: Portal,
  policy: PortalPolicy,
  user: { id: string; email: string; name: string },
  typed: string,
): Promise<boolean> {
  const now = c.var.clock.now();
  const record = {
    origin: auditOriginOf(c),
    build: async ({ issuedBy }: { issuedBy: string }) => ({
      entries: [{ event: "access_pass.used", portal, actorId: user.id, details: { issuedBy } } satisfies AuditEntry],
      notices: [accessPassUsedNotice(user, portal, requestDetails(c), now)],
    }),
  };
  const used = await useAccessPass(c.env, getDb(c.env.DB), user.id, typed, now, { removeApp: policy.mfa.authenticatorApp }, record);
  if (!used) return false;
  await sendAfterResponse(c, used.mailIds);
  return true;
}
