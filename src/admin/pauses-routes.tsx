// SECURITY.md 43: who cannot sign in from new browsers because strangers' wrong attempts paused
// it, and the way to let them: /agent/admin/paused-sign-ins. Lifting a pause changes who may sign
// in, so it needs a recent re-authentication and the one access rule (src/request/admin-refusals.tsx).
import { type Context, Hono } from "hono";
import type { AppEnv } from "../app-env";
import { actorOf, requirePermission } from "../request/guard";
import { mayManagePerson } from "../access/grants";
import { auditOriginOf } from "../request/audit";
import { requireSession } from "../request/require-session";
import { liftPause, livePauses, type Pause } from "../auth/pauses";
import { recentlyReauthenticated, requireRecentAuth } from "../sign-in/reauth";
import { getDb } from "../db";
import { utcMinute } from "../lib/clock";
import { readsNothing } from "../request/validation";
import { OTHER_SOURCES } from "../limits/windows";
import { ErrorMessage, Notice } from "../web/layout";
import { holderOf } from "./agents";
import { AdminFrame, ReauthLink } from "./pages";
import { auditRefusal } from "../request/admin-refusals";
import { personPage } from "./pages";

export const PAUSES_PAGE = "/agent/admin/paused-sign-ins";
const WAYS: Record<Pause["way"], string> = { password: "Password", second_step: "Second step", reset: "Reset link" };
const ID = /^(agt|cnt)_[a-z2-7]{16}$/;

export const pausesRoutes = new Hono<AppEnv>();
pausesRoutes.use("*", requireSession("agent"), requirePermission("manageRecoveryAndMfaReset"));

function where(pause: Pause): string {
  return (
    pause.sources
      .map((s) => `${s.source === OTHER_SOURCES ? "other addresses" : s.source}${s.country ? ` (${s.country})` : ""}: ${s.count}`)
      .join(", ") || "—"
  );
}

async function page(c: Context<AppEnv>, extra: { error?: string; notice?: string } = {}, status: 200 | 403 | 404 = 200) {
  const now = c.var.clock.now();
  const pauses = await livePauses(c.env, getDb(c.env.DB), now);
  const actor = actorOf(c);
  const db = getDb(c.env.DB);
  const holders = await Promise.all(pauses.map((p) => holderOf(db, p.userId)));
  return c.html(
    <AdminFrame auth={c.var.auth} title="Paused sign-ins">
      <ErrorMessage message={extra.error} />
      <Notice message={extra.notice} />
      <p>
        After too many wrong attempts from browsers a person never signed in with, signing in from new browsers is paused for them. Browsers
        they signed in with before keep working. Each person was emailed where the attempts came from.
      </p>
      {pauses.length > 0 && !recentlyReauthenticated(c) && <ReauthLink back={PAUSES_PAGE} />}
      {pauses.length === 0 ? (
        <p data-testid="no-pauses">Nobody's sign-in is paused.</p>
      ) : (
        <div class="table-scroll">
          <table data-testid="pauses">
            <thead>
              <tr>
                <th scope="col">Person</th>
                <th scope="col">Way in</th>
                <th scope="col">Paused until (UTC)</th>
                <th scope="col">Wrong attempts</th>
                <th scope="col">From</th>
                <th scope="col">
                  <span class="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {pauses.map((p, i) => {
                const refused = holders[i] ? mayManagePerson(actor, holders[i]!, "let them sign in from new browsers") : null;
                return (
                  <tr>
                    <td>
                      <a href={personPage({ id: p.userId, kind: p.kind })}>{p.name}</a> ({p.email})
                    </td>
                    <td>{WAYS[p.way]}</td>
                    <td>{utcMinute(p.until).replace(" UTC", "")}</td>
                    <td>{p.attempts}</td>
                    <td>{where(p)}</td>
                    <td class="actions">
                      {refused && !refused.ok ? (
                        <span class="hint">{refused.message}</span>
                      ) : (
                        <form method="post" action={`${PAUSES_PAGE}/${p.userId}/lift`}>
                          <button type="submit">Let them sign in</button>
                        </form>
                      )}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
    </AdminFrame>,
    status,
  );
}

pausesRoutes.get("/", (c) =>
  page(c, { notice: c.req.query("done") === "lifted" ? "The pause is lifted: they can sign in from any browser again." : undefined }),
);

pausesRoutes.post("/:id/lift", requireRecentAuth(), readsNothing(), async (c) => {
  const id = c.req.param("id");
  const db = getDb(c.env.DB);
  const target = ID.test(id) ? await holderOf(db, id) : null;
  if (!target) return page(c, { error: "That person does not exist." }, 404);
  const result = await liftPause(c.env, db, actorOf(c), target, auditOriginOf(c));
  if (!result.ok) {
    await auditRefusal(c, { ok: false, status: 403, message: result.message }, "lift a sign-in pause", id);
    return page(c, { error: result.message }, 403);
  }
  return c.redirect(`${PAUSES_PAGE}?done=lifted`, 303);
});
