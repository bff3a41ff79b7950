// Settings > Security and Compliance > API tokens: an admin with the authentication permission
// creates (shown once), sees and revokes the tokens the API takes (src/api/tokens.ts).
import { type Context, Hono } from "hono";
import { z } from "zod";
import type { AppEnv } from "../app-env";
import {
  ALL_SCOPES,
  API_SCOPES,
  type ApiScope,
  createToken,
  DEFAULT_TOKEN_DAYS,
  listTokens,
  MAX_TOKEN_DAYS,
  revokeToken,
  tokenStatus,
} from "../api/tokens";
import { holderOf } from "../admin/agents";
import { powersOf } from "../access/grants";
import { PERMISSIONS } from "../access/permissions";
import { getDb } from "../db";
import { utcMinute } from "../lib/clock";
import { requiredText } from "../lib/fields";
import { auditOriginOf } from "../request/audit";
import { actorOf } from "../request/guard";
import { readsFormLists, readsNothing, readsQuery } from "../request/validation";
import { requireRecentAuth } from "../sign-in/reauth";
import { ErrorMessage, Field, Notice } from "../web/layout";
import { SecretOnce, SecurityPage } from "./pages";
import { wholeNumber } from "./fields";

const PATH = "/agent/settings/security/api-tokens";

const createForm = z.object({
  name: requiredText("a name for the token", 80),
  scopes: z
    .union([z.string(), z.array(z.string())], { error: "Choose what the token may do." })
    .transform((v) => [...new Set(Array.isArray(v) ? v : [v])])
    .pipe(z.array(z.enum(ALL_SCOPES as [ApiScope, ...ApiScope[]], { error: "Choose what the token may do from the list." })).min(1)),
  days: wholeNumber("Expires after (days)", 1, MAX_TOKEN_DAYS),
});

function when(ms: number | null): string {
  return ms === null ? "Never" : utcMinute(ms);
}

async function tokensPage(
  c: Context<AppEnv>,
  shown: { created?: { name: string; token: string }; error?: string; notice?: string; values?: Record<string, unknown> } = {},
  status: 200 | 400 | 403 | 409 = 200,
) {
  const now = c.var.clock.now();
  const db = getDb(c.env.DB);
  const tokens = await listTokens(db);
  const creatorIds = [...new Set(tokens.map((t) => t.createdById))];
  const creators = new Map(await Promise.all(creatorIds.map(async (id) => [id, await holderOf(db, id)] as const)));
  const held = powersOf(c.var.auth.user.roleId, c.var.auth.permissions);
  const values = shown.values ?? {};
  const chosen = new Set([values.scopes ?? []].flat().map(String));
  return c.html(
    <SecurityPage title="API tokens" auth={c.var.auth}>
      <p>
        A token lets a script or your SIEM read the audit log, or sign people out, through the API (docs/API.md). It acts with your
        permissions: it stops working if you are removed, disabled, or lose the permission a scope needs.
      </p>
      <ErrorMessage message={shown.error} />
      <Notice message={shown.notice} />
      {shown.created && (
        <SecretOnce testId="new-token" title={`Copy the token “${shown.created.name}” now`} value={shown.created.token}>
          <p>It is shown only this once. Store it in your SIEM's or script's secret store.</p>
        </SecretOnce>
      )}
      <div class="table-scroll" tabindex={0}>
        <table>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Scopes</th>
              <th scope="col">Created by</th>
              <th scope="col">Created</th>
              <th scope="col">Expires</th>
              <th scope="col">Last used</th>
              <th scope="col">Status</th>
              <th scope="col">
                <span class="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {tokens.map((t) => {
              const status = tokenStatus(t, creators.get(t.createdById) ?? null, now);
              return (
                <tr data-testid="token-row">
                  <td>{t.name}</td>
                  <td>{t.scopes.join(", ")}</td>
                  <td>{t.createdBy}</td>
                  <td>{when(t.createdAt)}</td>
                  <td>{when(t.expiresAt)}</td>
                  <td>{t.lastUsedAt === null ? "Never" : `${when(t.lastUsedAt)} from ${t.lastUsedIp}`}</td>
                  <td>{status}</td>
                  <td>
                    {t.revokedAt === null && t.expiresAt > now && (
                      <form method="post" action={`${PATH}/${t.id}/revoke`}>
                        <button type="submit" class="link" aria-label={`Revoke ${t.name}`}>
                          Revoke
                        </button>
                      </form>
                    )}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
      {tokens.length === 0 && <p>No tokens yet.</p>}
      <form method="post" action={PATH} class="stack">
        <h2>Create a token</h2>
        <Field label="Name" name="name" maxlength={80} value={String(values.name ?? "")} hint="What uses it, e.g. “Splunk audit input”." />
        <fieldset>
          <legend>What it may do</legend>
          {ALL_SCOPES.map((scope) => {
            const id = `scope-${scope.replace(":", "-")}`;
            const needs = API_SCOPES[scope].needs;
            const allowed = held.has(needs);
            return (
              <div class="toggle">
                <input
                  type="checkbox"
                  id={id}
                  name="scopes"
                  value={scope}
                  checked={chosen.has(scope)}
                  disabled={!allowed}
                  aria-describedby={`${id}-hint`}
                />
                <div>
                  <label for={id}>
                    {API_SCOPES[scope].label} (<code>{scope}</code>)
                  </label>
                  <p class="hint" id={`${id}-hint`}>
                    {allowed
                      ? `Needs “${PERMISSIONS[needs]}”, which you hold.`
                      : `Needs “${PERMISSIONS[needs]}”, which your role does not hold, so you cannot give it.`}
                  </p>
                </div>
              </div>
            );
          })}
        </fieldset>
        <Field
          label="Expires after (days)"
          name="days"
          inputmode="numeric"
          value={String(values.days ?? DEFAULT_TOKEN_DAYS)}
          hint={`From 1 to ${MAX_TOKEN_DAYS} days.`}
        />
        <div class="actions">
          <button type="submit" class="primary">
            Create token
          </button>
        </div>
      </form>
    </SecurityPage>,
    status,
  );
}

/** Mounted at /agent/settings/security, behind its session and permission checks. */
export const apiTokenRoutes = new Hono<AppEnv>();

apiTokenRoutes.get("/api-tokens", readsQuery(z.object({ done: z.literal("revoked").optional() })), (c) => {
  const query = c.req.valid("query");
  return tokensPage(c, {
    notice: query.ok && query.data.done === "revoked" ? "The token was revoked: its next request is refused." : undefined,
  });
});

apiTokenRoutes.post("/api-tokens", requireRecentAuth(), readsFormLists(createForm), async (c) => {
  const form = c.req.valid("form");
  if (!form.ok) return tokensPage(c, { error: form.message, values: form.input }, 400);
  const created = await createToken(
    c.env,
    getDb(c.env.DB),
    { name: form.data.name, scopes: form.data.scopes, days: form.data.days, creator: actorOf(c) },
    auditOriginOf(c),
  );
  if (!created.ok) return tokensPage(c, { error: created.message, values: form.input }, created.status);
  return tokensPage(c, { created: { name: form.data.name, token: created.token } });
});

apiTokenRoutes.post("/api-tokens/:id/revoke", readsNothing(), async (c) => {
  const revoked = await revokeToken(getDb(c.env.DB), c.req.param("id"), c.var.auth.user.id, auditOriginOf(c));
  if (!revoked) return tokensPage(c, { error: "That token was already revoked, or does not exist: nothing was changed." }, 409);
  return c.redirect(`${PATH}?done=revoked`, 303);
});
