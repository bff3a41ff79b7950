// An admin ends another person's sessions, from the person's page or through the API: one
// session or all of them, with a reason. The person's object ends them and owes the entry and the
// notice in one transaction; both are then stored in D1 (or by the object's alarm, if D1 fails).
import type { Holder } from "../access/grants";
import type { AuditOrigin } from "../audit/events";
import { owedAudit, storeOwedAudits } from "../auth/owed-audits";
import { withEndedCount } from "../auth/user-do/owed-audits";
import { userStub } from "../auth/user-object";
import { portalOfKind } from "../portal/policy";
import { signedOutByAdminNotice } from "./notices";

interface Person {
  id: string;
  kind: "agent" | "contact";
  email: string;
  name: string;
}

/** Why an admin may not sign this person out here (the access rule is asked before), or null. */
export function signOutRefusal(admin: Holder, person: Person): string | null {
  return person.id === admin.id ? "You cannot sign yourself out here: end your own sessions from My account." : null;
}

/**
 * End `session` ("all", or one session's id) of `person`. How many ended (0: nothing was, and
 * nothing is recorded or sent) and the queued notices' outbox ids, to send.
 */
export async function signOutPerson(
  env: Env,
  request: { person: Person; admin: { id: string; name: string }; session: "all" | string; reason: string; via?: { tokenId: string } },
  origin: AuditOrigin,
): Promise<{ ended: number; mail: string[] }> {
  const { person, admin, session, reason } = request;
  const everywhere = session === "all";
  const audit = owedAudit(
    {
      event: "sessions.revoked",
      portal: portalOfKind(person.kind),
      actorId: admin.id,
      targetId: person.id,
      details: {
        byAdmin: true,
        ...(everywhere ? { scope: "all" } : { scope: "one", sessionId: session }),
        reason,
        ...(request.via ? { via: "api", tokenId: request.via.tokenId } : {}),
      },
    },
    origin,
    [signedOutByAdminNotice(person, admin, reason, everywhere ? "every device" : "one device")],
  );
  const stub = userStub(env, person.id);
  const ended = everywhere
    ? await stub.revokeAllSessions(undefined, [audit], { ifAny: true })
    : Number(await stub.revokeSession(session, [audit]));
  if (ended === 0) return { ended, mail: [] };
  return { ended, mail: await storeOwedAudits(env, person.id, everywhere ? withEndedCount([audit], ended) : [audit]) };
}
