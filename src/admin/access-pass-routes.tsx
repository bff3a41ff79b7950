// The admin's side of "Issue temporary access pass", for a locked-out agent or contact,
// instead of reading their recovery codes to them. "Access to Agent Recovery Code and Reset MFA",
// a re-authentication within 5 minutes, and the one access rule (the issuer must hold at least
// what the person holds: a pass signs in as them). Shown once, kept only as a hash, audited, and
// the person is emailed (never the pass).
import { type Context, Hono } from "hono";
import { z } from "zod";
import type { AppEnv } from "../app-env";
import { requireRecentAuth } from "../sign-in/reauth";
import { getDb } from "../db";
import { sendAfterResponse } from "../request/mail";
import { auditOriginOf } from "../request/audit";
import { readsForm } from "../request/validation";
import { utcMinute } from "../lib/clock";
import { requirePermission } from "../request/guard";
import { ACCESS_PASS_MINUTES, DEFAULT_ACCESS_PASS_MINUTES, formatPass, issueAccessPass, lifetimeText } from "../factors/access-pass";
import { ErrorMessage } from "../web/layout";
import { AdminFrame, CopyableSecret } from "./pages";
import { personToActOn } from "../request/admin-refusals";
import { personPage } from "./pages";

type Ctx = Context<AppEnv>;
const CHOOSE = "Choose how long the pass works: from 10 minutes to 8 hours.";
const passForm = z.object({ minutes: z.enum(ACCESS_PASS_MINUTES.map(String) as [string, ...string[]], { error: CHOOSE }) });

/** Mounted inside the people routes, behind their signed-in check. */
export const accessPassRoutes = new Hono<AppEnv>();
const recovery = requirePermission("manageRecoveryAndMfaReset");

/** The person, when this admin may issue them a pass now; otherwise the page that says why not. */
function holderOfPass(c: Ctx) {
  return personToActOn(c, {
    title: "Temporary access pass",
    what: "issue them a temporary access pass",
    action: "issue a temporary access pass",
    refuse: (person) =>
      person.id === c.var.auth.user.id
        ? { message: "You cannot issue yourself a temporary access pass. Ask another administrator.", status: 403 }
        : !person.active
          ? { message: `${person.name} is disabled. Enable them first.`, status: 409 }
          : // The pass stands in for the second step of a password sign-in.
            !person.passwordHash
            ? {
                message: `${person.name} signs in with Microsoft only, so a temporary access pass would not help them: their second step is Microsoft's.`,
                status: 409,
              }
            : null,
  });
}

function IssueForm({ person, error }: { person: { id: string; name: string; kind: "agent" | "contact" }; error?: string | undefined }) {
  return (
    <>
      <ErrorMessage message={error} />
      <p>
        A temporary access pass is a one-time code that {person.name} types, after their password, in place of their authenticator app,
        passkey or emailed code. It counts as both steps once; they then set up their authenticator app (or a passkey) again before anything
        else. Any earlier pass stops working.
      </p>
      <p>
        You see the pass once, to give to {person.name} yourself (by phone, or in person). We email them that it was issued, never the pass.
      </p>
      <form method="post" action={`/agent/admin/people/${person.id}/access-pass`} class="stack">
        <div class="field">
          <label for="field-minutes">Works for</label>
          <select id="field-minutes" name="minutes">
            {ACCESS_PASS_MINUTES.map((m) => (
              <option value={String(m)} selected={m === DEFAULT_ACCESS_PASS_MINUTES}>
                {lifetimeText(m)}
              </option>
            ))}
          </select>
        </div>
        <div class="actions">
          <button type="submit" class="primary">
            Issue pass
          </button>
          <a href={personPage(person)}>Cancel</a>
        </div>
      </form>
    </>
  );
}

accessPassRoutes.get("/people/:id/access-pass", recovery, requireRecentAuth(), async (c) => {
  const found = await holderOfPass(c);
  if (found.refused) return found.refused;
  return c.html(
    <AdminFrame auth={c.var.auth} title={`Issue a temporary access pass to ${found.person.name}?`}>
      <IssueForm person={found.person} />
    </AdminFrame>,
  );
});

accessPassRoutes.post("/people/:id/access-pass", recovery, requireRecentAuth(), readsForm(passForm), async (c) => {
  const found = await holderOfPass(c);
  if (found.refused) return found.refused;
  const { person } = found;
  const auth = c.var.auth;
  const form = c.req.valid("form");
  if (!form.ok) {
    return c.html(
      <AdminFrame auth={auth} title={`Issue a temporary access pass to ${person.name}?`}>
        <IssueForm person={person} error={CHOOSE} />
      </AdminFrame>,
      400,
    );
  }
  const minutes = Number(form.data.minutes);
  const { pass, expiresAt, mailIds } = await issueAccessPass(c.env, getDb(c.env.DB), person, auth.user, minutes, auditOriginOf(c));
  await sendAfterResponse(c, mailIds);
  const shown = formatPass(pass);
  c.header("Cache-Control", "no-store");
  return c.html(
    <AdminFrame auth={auth} title={`Temporary access pass for ${person.name}`}>
      <p>
        Give this pass to {person.name} yourself. It is shown only now; it works once, with their password, for {lifetimeText(minutes)}{" "}
        (until {utcMinute(expiresAt)}).
      </p>
      <CopyableSecret id="access-pass" label="Temporary access pass" noun="pass" value={shown} class="code" />
      <p class="hint">We emailed {person.email} that you issued it (not the pass). It is in the audit log, and so will its use be.</p>
      <p>
        <a href={personPage(person)}>Back to {person.name}</a>
      </p>
    </AdminFrame>,
  );
});
