// An admin ends another person's sessions: one, or all of them, with a reason. Their next request
// is refused (the session is gone from their user object), the entry is written with the change by
// that object, and they are emailed who did it and why. The one access rule decides who may: an
// admin never signs out someone who holds more than they do.
import { Hono } from "hono";
import { z } from "zod";
import type { AppEnv } from "../app-env";
import { requiredText } from "../lib/fields";
import { personToActOn } from "../request/admin-refusals";
import { auditOriginOf } from "../request/audit";
import { actorOf, requirePermission } from "../request/guard";
import { sendAfterResponse } from "../request/mail";
import { readsForm } from "../request/validation";
import { requireRecentAuth } from "../sign-in/reauth";
import { ErrorMessage } from "../web/layout";
import { signOutPerson, signOutRefusal } from "./person-sessions";
import { AdminFrame, personPage } from "./pages";

const CHOOSE = "Choose a session to sign out, or Sign out everywhere.";
const signOutForm = z.object({
  session: z.string({ error: CHOOSE }).regex(/^(all|ses_[a-z2-7]{16})$/, CHOOSE),
  reason: requiredText("a reason", 200),
});

/** Mounted inside the people routes, behind their signed-in check. */
export const personSessionsRoutes = new Hono<AppEnv>();

personSessionsRoutes.post(
  "/people/:id/sessions/sign-out",
  requirePermission("manageAgents"),
  requireRecentAuth(),
  readsForm(signOutForm),
  async (c) => {
    const auth = c.var.auth;
    const found = await personToActOn(c, {
      title: "Sign out",
      what: "sign them out",
      action: "sign out a person",
      refuse: (person) => {
        const refusal = signOutRefusal(actorOf(c), person);
        return refusal ? { message: refusal, status: 403 } : null;
      },
    });
    if (found.refused) return found.refused;
    const { person } = found;
    /** Why nothing was done, and the way back to the person. */
    const nothingDone = (message: string, status: 400 | 409) =>
      c.html(
        <AdminFrame auth={auth} title="Sign out">
          <ErrorMessage message={message} />
          <p>
            <a href={personPage(person)}>Back to {person.name}</a>
          </p>
        </AdminFrame>,
        status,
      );
    const form = c.req.valid("form");
    if (!form.ok) return nothingDone(form.message, 400);
    const { session, reason } = form.data;
    const everywhere = session === "all";
    const { ended, mail } = await signOutPerson(c.env, { person, admin: auth.user, session, reason }, auditOriginOf(c));
    if (ended === 0) {
      return nothingDone(
        everywhere
          ? `${person.name} is not signed in anywhere: nothing was changed, and they were not emailed.`
          : `That session of ${person.name} has already ended (or moved on to a new sign-in step since this page was loaded): nothing was changed.`,
        409,
      );
    }
    await sendAfterResponse(c, mail);
    return c.redirect(`${personPage(person)}?done=${everywhere ? "signed_out_everywhere" : "signed_out"}`, 303);
  },
);
