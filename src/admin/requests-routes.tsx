import { type Context, Hono } from "hono";
import { readsNothing } from "../request/validation";
import type { AppEnv } from "../app-env";
import { findUserById } from "../auth/users";
import { sendAfterResponse } from "../request/mail";
import { auditOriginOf } from "../request/audit";
import type { AuditEntry } from "../audit/events";
import { requireSession } from "../request/require-session";
import { requireRecentAuth } from "../sign-in/reauth";
import { getDb } from "../db";
import { requirePermission } from "../request/guard";
import { ErrorMessage, Notice } from "../web/layout";
import { issueRequestedCodes, pendingRecoveryRequests } from "../factors/recovery-requests";
import { AdminFrame } from "./pages";
import { recoveryCodesIssuedNotice } from "./mfa-admin";

/** Pending "I lost my recovery codes" requests: /agent/admin/recovery-requests. */
export const requestsRoutes = new Hono<AppEnv>();
requestsRoutes.use("*", requireSession("agent"), requirePermission("manageRecoveryAndMfaReset"));

async function page(c: Context<AppEnv>, extra: { error?: string; notice?: string } = {}, status: 200 | 400 = 200) {
  const pending = await pendingRecoveryRequests(getDb(c.env.DB));
  return c.html(
    <AdminFrame auth={c.var.auth} title="Recovery code requests">
      <ErrorMessage message={extra.error} />
      <Notice message={extra.notice} />
      {pending.length === 0 ? (
        <p>No pending requests.</p>
      ) : (
        <div class="table-scroll">
          <table>
            <thead>
              <tr>
                <th scope="col">Who</th>
                <th scope="col">Asked</th>
                <th scope="col">
                  <span class="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {pending.map((r) => (
                <tr data-testid="recovery-request">
                  <td>
                    {r.name} ({r.email}, {r.kind})
                  </td>
                  <td>{new Date(r.createdAt).toISOString().slice(0, 16).replace("T", " ")} UTC</td>
                  <td class="actions">
                    <form method="post" action={`/agent/admin/recovery-requests/${r.id}/issue`}>
                      <button type="submit">Issue new codes</button>
                    </form>
                    <a class="button danger" href={`/agent/admin/people/${r.userId}/reset-mfa`}>
                      Reset MFA
                    </a>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </AdminFrame>,
    status,
  );
}

requestsRoutes.get("/", (c) =>
  page(c, { notice: c.req.query("done") === "issued" ? "New codes issued. They will see them at their next sign-in." : undefined }),
);
// New codes are a new way in for that person (SECURITY.md 39).
requestsRoutes.post("/:id/issue", requireRecentAuth(), readsNothing(), async (c) => {
  const db = getDb(c.env.DB);
  const admin = c.var.auth.user;
  // They asked for these codes; should they not have, the notice tells them someone answered.
  const record = {
    origin: auditOriginOf(c),
    build: async ({ userId }: { userId: string }) => {
      const person = await findUserById(db, userId);
      return {
        entries: [{ event: "recovery_codes.issued", portal: "agent", actorId: admin.id, targetId: userId } satisfies AuditEntry],
        notices: person ? [recoveryCodesIssuedNotice(person, admin)] : [],
      };
    },
  };
  const result = await issueRequestedCodes(c.env, db, c.req.param("id"), admin.id, c.var.clock.now(), record);
  if (!result.ok) return page(c, { error: result.message }, 400);
  await sendAfterResponse(c, result.mailIds);
  return c.redirect("/agent/admin/recovery-requests?done=issued", 303);
});
