// A local Microsoft Entra ID for `npm start` and the browser journeys, built on panva's
// oidc-provider (a maintained, OpenID-certified provider), configured as Entra's v2.0 endpoints
// are: one provider per tenant with issuer {authority}/{tenant id}/v2.0, the endpoints at
// {authority}/{tenant}/oauth2/v2.0/authorize and /token and /discovery/v2.0/keys, and the
// multi-tenant {authority}/organizations/... path in front of them, where the person picks their
// organisation. ID tokens carry tid, oid, email (unless the account has no mailbox), xms_edov,
// name and auth_time, signed RS256; PKCE S256 is required; prompt=login and max_age ask for the
// sign-in again, as Entra does. Its sign-in page asks for an email and a name, not a password:
// never point a deployed EdgeDesk at it.
import { createHash, randomBytes } from "node:crypto";
import { createServer } from "node:http";
import { exportJWK, generateKeyPair } from "jose";
import Provider, { interactionPolicy } from "oidc-provider";

export const DEV_CLIENT_ID = "edgedesk-local";
/** Two tenants: EdgeDesk's local configuration allows Contoso and not Fabrikam. */
export const DEV_TENANTS = {
  contoso: { id: "6c1e3a52-7d0b-4c84-9d0e-3c5a2f6b1a01", name: "Contoso", domain: "contoso.onmicrosoft.com" },
  fabrikam: { id: "b7f4d2c9-1e3a-4f6b-8a5d-9c0e2d4f6b02", name: "Fabrikam", domain: "fabrikam.onmicrosoft.com" },
};

const esc = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const page = (title, body) =>
  `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${esc(title)}</title></head>` +
  `<body style="font-family:system-ui,sans-serif;max-width:28rem;margin:3rem auto;line-height:1.5"><main><h1>${esc(title)}</h1>${body}</main></body></html>`;
const readBody = async (req) => {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  return Buffer.concat(chunks);
};

/** Entra's select_account prompt (EdgeDesk sends it on every ordinary sign-in): show the sign-in page. */
function selectAccountPrompt() {
  const { Prompt, Check } = interactionPolicy;
  return new Prompt(
    { name: "select_account", requestable: true },
    new Check("select_account_requested", "The person chooses the account", (ctx) =>
      ctx.oidc.prompts.has("select_account") && !ctx.oidc.result?.select_account ? Check.REQUEST_PROMPT : Check.NO_NEED_TO_PROMPT,
    ),
  );
}

/**
 * @param {{ port: number, clientSecret: string, redirectUris: string[] }} options
 * @returns {Promise<{ authority: string, tenants: typeof DEV_TENANTS, close: () => void }>}
 */
export async function startDevOidcProvider({ port, clientSecret, redirectUris }) {
  const authority = `http://127.0.0.1:${port}`;
  // Entra signs every tenant's tokens with the same published keys; so does this.
  const { privateKey } = await generateKeyPair("RS256", { extractable: true });
  const signingKey = { ...(await exportJWK(privateKey)), kid: `dev-${randomBytes(4).toString("hex")}`, alg: "RS256", use: "sig" };
  const accounts = new Map(); // `${tid}:${email}` -> { email, name, mailbox }
  const codeTenant = new Map(); // authorization code -> tenant id, for the organizations token endpoint
  const providers = new Map();

  for (const tenant of Object.values(DEV_TENANTS)) {
    const policy = interactionPolicy.base();
    policy.add(selectAccountPrompt(), 0);
    const provider = new Provider(`${authority}/${tenant.id}/v2.0`, {
      clients: [
        {
          client_id: DEV_CLIENT_ID,
          client_secret: clientSecret,
          redirect_uris: redirectUris,
          response_types: ["code"],
          grant_types: ["authorization_code"],
          token_endpoint_auth_method: "client_secret_basic",
          id_token_signed_response_alg: "RS256",
          // Entra's optional claim auth_time: EdgeDesk needs it to accept a re-authentication.
          require_auth_time: true,
        },
      ],
      jwks: { keys: [signingKey] },
      pkce: { required: () => true },
      responseTypes: ["code"],
      scopes: ["openid", "profile", "email"],
      claims: { openid: ["sub", "tid", "oid"], email: ["email", "xms_edov"], profile: ["name", "preferred_username"] },
      // Entra puts these claims in the ID token itself.
      conformIdTokenClaims: false,
      cookies: {
        keys: [randomBytes(32).toString("base64url")],
        names: { session: `_session_${tenant.name}`, interaction: `_interaction_${tenant.name}`, resume: `_resume_${tenant.name}` },
      },
      routes: { authorization: "/oauth2/v2.0/authorize", token: "/oauth2/v2.0/token", jwks: "/discovery/v2.0/keys" },
      features: { devInteractions: { enabled: false } },
      // Entra-like lifetimes: a 10-minute sign-in, 1-hour tokens, and a day-long session at Microsoft.
      ttl: { Interaction: 600, Session: 86_400, Grant: 86_400, AuthorizationCode: 60, IdToken: 3_600, AccessToken: 3_600 },
      interactions: { policy, url: (_ctx, interaction) => `/${tenant.id}/interaction/${interaction.uid}` },
      async findAccount(_ctx, id) {
        const account = accounts.get(id);
        if (!account) return undefined;
        const oid = createHash("sha256").update(`${tenant.id}:${account.email}`).digest("hex").slice(0, 32);
        return {
          accountId: id,
          async claims() {
            return {
              sub: oid,
              tid: tenant.id,
              oid: `${oid.slice(0, 8)}-${oid.slice(8, 12)}-${oid.slice(12, 16)}-${oid.slice(16, 20)}-${oid.slice(20, 32)}`,
              name: account.name,
              preferred_username: account.email,
              // Entra leaves email out for a user without a mailbox, and xms_edov says the domain owner verified it.
              ...(account.mailbox ? { email: account.email, xms_edov: true } : {}),
            };
          },
        };
      },
      async renderError(ctx, out) {
        ctx.type = "html";
        ctx.body = page("Local Microsoft sign-in: error", `<p role="alert">${esc(out.error)}: ${esc(out.error_description ?? "")}</p>`);
      },
    });
    provider.on("authorization_code.saved", (code) => codeTenant.set(code.jti, tenant.id));
    providers.set(tenant.id, { tenant, provider, callback: provider.callback() });
  }

  /** Hand a request to one tenant's provider, as if it were mounted at /{tenant id} (its URLs say so). */
  const dispatch = (entry, req, res, path) => {
    req.originalUrl = `/${entry.tenant.id}${path}`;
    req.url = path;
    return entry.callback(req, res);
  };

  async function interaction(entry, req, res, uid) {
    const { provider, tenant } = entry;
    const details = await provider.interactionDetails(req, res);
    if (req.method === "GET") {
      const hint = details.params.login_hint ?? "";
      res.writeHead(200, { "Content-Type": "text/html; charset=utf-8" });
      return res.end(
        page(
          `Sign in to ${tenant.name}`,
          `<p>A local stand-in for Microsoft Entra ID (tenant ${esc(tenant.name)}, ${esc(tenant.domain)}). Sign in as:</p>
          <form method="post" action="/${tenant.id}/interaction/${esc(uid)}">
            <p><label for="email">Email</label><br><input id="email" name="email" type="email" required value="${esc(hint || "contact1@customer.test")}"></p>
            <p><label for="name">Name</label><br><input id="name" name="name" value="Local SSO User"></p>
            <p><label><input type="checkbox" name="no_mailbox"> This account has no mailbox (Microsoft sends no email claim)</label></p>
            <button type="submit">Sign in</button>
          </form>`,
        ),
      );
    }
    const form = new URLSearchParams((await readBody(req)).toString());
    const email = (form.get("email") ?? "").trim().toLowerCase();
    if (!email) {
      res.writeHead(400, { "Content-Type": "text/html; charset=utf-8" });
      return res.end(page("Sign in", "<p role=alert>Enter an email.</p>"));
    }
    const accountId = `${tenant.id}:${email}`;
    accounts.set(accountId, { email, name: form.get("name")?.trim() || email, mailbox: form.get("no_mailbox") !== "on" });
    // An organisation's admin consented for everyone (as Entra's admin consent does): no consent page.
    const grant = details.grantId ? await provider.Grant.find(details.grantId) : new provider.Grant({ accountId, clientId: DEV_CLIENT_ID });
    grant.addOIDCScope("openid profile email");
    const grantId = await grant.save();
    return provider.interactionFinished(
      req,
      res,
      { select_account: {}, login: { accountId }, consent: { grantId } },
      { mergeWithLastSubmission: false },
    );
  }

  const server = createServer(async (req, res) => {
    try {
      const url = new URL(req.url, authority);
      const [, first, ...rest] = url.pathname.split("/");
      const path = `/${rest.join("/")}${url.search}`;
      // The multi-tenant endpoints: the person picks an organisation, keys are shared, and a code is
      // redeemed at the tenant that issued it.
      if (first === "organizations") {
        if (path.startsWith("/oauth2/v2.0/authorize")) {
          const choices = [...providers.values()]
            .map(({ tenant }) => `<li><a href="/${tenant.id}${esc(path)}">${esc(tenant.name)} (${esc(tenant.domain)})</a></li>`)
            .join("");
          res.writeHead(200, { "Content-Type": "text/html; charset=utf-8" });
          return res.end(page("Choose your organisation", `<p>Which organisation's account do you sign in with?</p><ul>${choices}</ul>`));
        }
        if (path.startsWith("/discovery/v2.0/keys")) return dispatch(providers.values().next().value, req, res, path);
        if (path.startsWith("/oauth2/v2.0/token")) {
          req.body = await readBody(req);
          const code = new URLSearchParams(req.body.toString()).get("code") ?? "";
          const entry = providers.get(codeTenant.get(code));
          if (!entry) {
            res.writeHead(400, { "Content-Type": "application/json" });
            return res.end(
              JSON.stringify({
                error: "invalid_grant",
                error_description: "AADSTS70008: The provided authorization code is invalid or has expired.",
              }),
            );
          }
          return dispatch(entry, req, res, path);
        }
      }
      const tenantId = [...providers.values()].find(({ tenant }) => tenant.id === first || tenant.domain === first?.toLowerCase())?.tenant
        .id;
      const entry = providers.get(tenantId);
      if (!entry) {
        res.writeHead(400, { "Content-Type": "application/json" });
        return res.end(JSON.stringify({ error: "invalid_tenant", error_description: `AADSTS90002: Tenant '${first}' not found.` }));
      }
      // Entra's discovery document lives under /v2.0, by tenant id or by any of its domains.
      if (path.startsWith("/v2.0/.well-known/openid-configuration")) return dispatch(entry, req, res, "/.well-known/openid-configuration");
      const interactionUid = /^\/interaction\/([\w-]+)$/.exec(url.pathname.slice(first.length + 1))?.[1];
      if (interactionUid) return await interaction(entry, req, res, interactionUid);
      return dispatch(entry, req, res, path);
    } catch (error) {
      res.writeHead(500, { "Content-Type": "text/plain" });
      res.end(`Local Microsoft sign-in failed: ${error instanceof Error ? error.message : error}`);
    }
  });
  await new Promise((resolve) => server.listen(port, "127.0.0.1", resolve));
  return { authority, tenants: DEV_TENANTS, close: () => server.close() };
}
