import { CodeChallengeMethod, generateCodeVerifier, generateState, OAuth2Client } from "arctic";
import { decodeJwt, type JWTPayload, jwtVerify } from "jose";
import { randomToken } from "../lib/crypto";
import { microsoftKeys } from "./jwks";
import { allowedTenantIds, type TenantSettings } from "./tenants";

/** Microsoft Entra ID settings, from vars and the ENTRA_CLIENT_SECRET secret; null when SSO is not set up. */
export interface SsoConfig extends TenantSettings {
  clientId: string;
  clientSecret: string;
  /** Path segment of the endpoints: a tenant id, or "organizations" for a multi-tenant app. */
  tenant: string;
}

export function ssoConfig(env: Env): SsoConfig | null {
  const clientId = env.ENTRA_CLIENT_ID?.trim();
  const clientSecret = env.ENTRA_CLIENT_SECRET?.trim();
  const tenant = env.ENTRA_TENANT_ID?.trim();
  if (!clientId || !clientSecret || !tenant) return null;
  const listed = (env.ENTRA_ALLOWED_TENANT_IDS ?? "")
    .split(",")
    .map((t) => t.trim())
    .filter(Boolean);
  const multiTenant = ["organizations", "common"].includes(tenant.toLowerCase());
  const allowedTenants = listed.length > 0 ? listed : multiTenant ? [] : [tenant];
  // A multi-tenant app with no list would let any organisation in: treat that as not set up.
  if (allowedTenants.length === 0) return null;
  return {
    authority: (env.ENTRA_AUTHORITY || "https://login.microsoftonline.com").replace(/\/+$/, ""),
    clientId,
    clientSecret,
    tenant,
    allowedTenants,
    allowedTenantsSetting: listed.length > 0 ? "ENTRA_ALLOWED_TENANT_IDS" : "ENTRA_TENANT_ID",
  };
}

/** Entra's v2.0 endpoints under a configurable authority, so tests and local use can point elsewhere. */
export function endpoints(config: SsoConfig) {
  const base = `${config.authority}/${config.tenant}`;
  return {
    authorization: `${base}/oauth2/v2.0/authorize`,
    token: `${base}/oauth2/v2.0/token`,
    jwks: `${base}/discovery/v2.0/keys`,
    // Entra's multi-tenant issuer template; {tenantid} is the token's own tid (SECURITY.md 25).
    issuerTemplate: `${config.authority}/{tenantid}/v2.0`,
  };
}

/** What the browser carries (in an HttpOnly cookie) from the start of a sign-in to its callback. */
export interface SsoFlow {
  state: string;
  codeVerifier: string;
  nonce: string;
  next: string;
  /** Set when this flow confirms the identity of a signed-in user (re-authentication), not a sign-in. */
  reauthFor?: string | undefined;
  /** Set when this sign-in uses an invitation to link a Microsoft account (the token's SHA-256). */
  invite?: string | undefined;
}

/** How recent Microsoft's own sign-in must be (auth_time) for a re-authentication. */
export const SSO_REAUTH_MAX_AGE_SECONDS = 300;

export function startFlow(
  config: SsoConfig,
  redirectUri: string,
  next: string,
  purpose: { reauthFor?: string | undefined; invite?: string | undefined } = {},
): { url: URL; flow: SsoFlow } {
  const { reauthFor, invite } = purpose;
  const flow: SsoFlow = {
    state: generateState(),
    codeVerifier: generateCodeVerifier(),
    nonce: randomToken(),
    next,
    ...(reauthFor ? { reauthFor } : {}),
    ...(invite ? { invite } : {}),
  };
  const client = new OAuth2Client(config.clientId, config.clientSecret, redirectUri);
  // SECURITY.md 23 and 26: PKCE with S256, state and nonce; the code comes back in the query.
  const url = client.createAuthorizationURLWithPKCE(
    endpoints(config).authorization,
    flow.state,
    CodeChallengeMethod.S256,
    flow.codeVerifier,
    ["openid", "profile", "email"],
  );
  url.searchParams.set("nonce", flow.nonce);
  url.searchParams.set("response_mode", "query");
  if (reauthFor) {
    // A re-authentication makes Microsoft ask for the credentials again, whatever session it holds.
    url.searchParams.set("prompt", "login");
    url.searchParams.set("max_age", String(SSO_REAUTH_MAX_AGE_SECONDS));
  } else {
    url.searchParams.set("prompt", "select_account");
  }
  return { url, flow };
}

/** Exchange the authorization code (with the PKCE verifier) for tokens; returns the raw ID token. */
export async function exchangeCode(config: SsoConfig, redirectUri: string, code: string, codeVerifier: string): Promise<string> {
  const client = new OAuth2Client(config.clientId, config.clientSecret, redirectUri);
  const tokens = await client.validateAuthorizationCode(endpoints(config).token, code, codeVerifier);
  return tokens.idToken();
}

export interface EntraIdentity {
  tenantId: string;
  objectId: string;
  name: string;
  /** Only an email Microsoft says the tenant's domain owner verified (xms_edov), else null. */
  verifiedEmail: string | null;
  /** When Microsoft last had the person enter credentials (auth_time, ms), if the token says. */
  authTime: number | null;
}

export type TokenCheck = { ok: true; identity: EntraIdentity } | { ok: false; reason: string; misconfigured?: true };

/**
 * Verify an ID token (SECURITY.md 24-25): RS256 signature against the tenant's published keys
 * (so `alg: none` and HMAC tricks fail), audience = our client id, not expired, issuer = the
 * template with the token's own tid, that tid on our allowed list, and our nonce.
 */
export async function verifyIdToken(config: SsoConfig, idToken: string, nonce: string, now: number): Promise<TokenCheck> {
  const { jwks, issuerTemplate } = endpoints(config);
  const allowed = await allowedTenantIds(config, now);
  if (!allowed.ok) return { ok: false, reason: allowed.message, misconfigured: true };
  let payload: JWTPayload;
  try {
    const unverified = decodeJwt(idToken);
    const tid = typeof unverified.tid === "string" ? unverified.tid : "";
    if (!allowed.ids.includes(tid.toLowerCase())) return { ok: false, reason: "Your organisation is not allowed to sign in here." };
    ({ payload } = await jwtVerify(idToken, microsoftKeys(jwks, now), {
      algorithms: ["RS256"],
      audience: config.clientId,
      issuer: issuerTemplate.replace("{tenantid}", tid),
      currentDate: new Date(now),
      clockTolerance: 60,
      requiredClaims: ["tid", "oid", "nonce", "exp", "iat"],
    }));
  } catch (error) {
    console.warn("SSO: ID token refused:", error instanceof Error ? error.message : error);
    return { ok: false, reason: "Microsoft's answer could not be verified." };
  }
  if (payload.nonce !== nonce) return { ok: false, reason: "Microsoft's answer does not belong to this sign-in." };
  const email = typeof payload.email === "string" && payload.xms_edov === true ? payload.email.trim().toLowerCase() : null;
  return {
    ok: true,
    identity: {
      tenantId: String(payload.tid).toLowerCase(),
      objectId: String(payload.oid),
      name: typeof payload.name === "string" && payload.name.trim() ? payload.name.trim().slice(0, 100) : (email ?? "Microsoft user"),
      verifiedEmail: email,
      authTime: typeof payload.auth_time === "number" && Number.isFinite(payload.auth_time) ? payload.auth_time * 1000 : null,
    },
  };
}

/**
 * What a person reads when Microsoft sends an error back instead of a code. The
 * AADSTS number in error_description is the precise reason; error is the OAuth category.
 */
export function entraErrorMessage(error: string, description = ""): string {
  const code = /AADSTS(\d+)/.exec(description)?.[1];
  if (code === "50105")
    return (
      "Your Microsoft account is not assigned to EdgeDesk. Ask your administrator to assign you to the EdgeDesk app in Microsoft Entra ID " +
      "(Enterprise applications > EdgeDesk > Users and groups)."
    );
  if (code === "65001" || code === "90094" || error === "consent_required")
    return "Your organisation has not given EdgeDesk permission to sign you in yet. Ask an administrator of your Microsoft tenant to grant consent to the EdgeDesk app, then try again.";
  if (code === "65004")
    return "You declined the permissions EdgeDesk asked for at Microsoft, so you are not signed in. Start again and accept them to sign in with Microsoft.";
  if (code === "50020" || code === "500200")
    return "That Microsoft account does not belong to an organisation EdgeDesk accepts. Sign in with your work account.";
  if (error === "interaction_required" || error === "login_required")
    return "Microsoft needs you to finish signing in there (for example to complete its own verification or accept terms). Start again.";
  if (error === "access_denied")
    return "Microsoft did not sign you in: the sign-in was cancelled or refused. Start again, or ask your administrator.";
  if (error === "temporarily_unavailable" || error === "server_error")
    return "Microsoft could not sign you in just now. Try again in a moment.";
  return "Microsoft did not sign you in. Start again, or ask your administrator.";
}
