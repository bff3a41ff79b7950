import { encodeBase64urlNoPadding } from "@oslojs/encoding";
import { exportJWK, generateKeyPair, type JWTPayload, SignJWT } from "jose";
import { expect, vi } from "vitest";
import type { AccessMode, Portal } from "../../src/portal/policy";
import type { Browser } from "./app";
import { writePortalPolicy } from "./portal";

export const AUTHORITY = "https://login.test";
export const CLIENT_ID = "edgedesk-test-client";

type Key = Awaited<ReturnType<typeof generateKeyPair>>["privateKey"];

/**
 * A small OpenID provider in Entra's shape, answered from inside the test: it publishes an RS256
 * key at the JWKS endpoint, and its token endpoint checks the client secret and PKCE (S256) and
 * returns a really signed ID token. Tests choose the claims, or a whole token, per sign-in.
 */
async function signingKey(kid: string) {
  const { publicKey, privateKey } = await generateKeyPair("RS256", { extractable: true });
  return { kid, privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg: "RS256", use: "sig" } };
}

export async function startProvider() {
  // The published keys; the first signs. rotate() publishes a new one and withdraws the old.
  let keys = [await signingKey("test-key-1")];
  let jwksFetches = 0;
  let tokenRequests = 0;
  /** Domain names a tenant answers to, each resolved through its discovery document. */
  const domains = new Map<string, string>();
  const codes = new Map<string, { challenge: string; idToken: string }>();
  let counter = 0;

  const sign = (claims: JWTPayload, key?: Key, kid?: string) =>
    new SignJWT(claims).setProtectedHeader({ alg: "RS256", kid: kid ?? keys[0]!.kid, typ: "JWT" }).sign(key ?? keys[0]!.privateKey);

  const spy = vi.spyOn(globalThis, "fetch").mockImplementation(async (input, init) => {
    const request = new Request(input, init);
    const url = new URL(request.url);
    if (url.origin !== AUTHORITY) throw new Error(`unexpected fetch to ${url}`);
    if (url.pathname.endsWith("/discovery/v2.0/keys")) {
      jwksFetches++;
      return Response.json({ keys: keys.map((k) => k.jwk) });
    }
    const discovery = /^\/([^/]+)\/v2\.0\/\.well-known\/openid-configuration$/.exec(url.pathname);
    if (discovery) {
      const tid = domains.get(decodeURIComponent(discovery[1]!).toLowerCase());
      return tid ? Response.json({ issuer: `${AUTHORITY}/${tid}/v2.0` }) : Response.json({ error: "invalid_tenant" }, { status: 400 });
    }
    if (url.pathname.endsWith("/oauth2/v2.0/token") && request.method === "POST") {
      tokenRequests++;
      const body = new URLSearchParams(await request.text());
      const grant = codes.get(body.get("code") ?? "");
      const basic = request.headers.get("Authorization") ?? "";
      if (basic !== `Basic ${btoa(`${CLIENT_ID}:test-client-secret`)}`) return Response.json({ error: "invalid_client" }, { status: 401 });
      if (!grant) return Response.json({ error: "invalid_grant" }, { status: 400 });
      codes.delete(body.get("code")!);
      const verifier = body.get("code_verifier") ?? "";
      const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier)));
      if (encodeBase64urlNoPadding(digest) !== grant.challenge)
        return Response.json({ error: "invalid_grant", error_description: "PKCE" }, { status: 400 });
      return Response.json({ access_token: "at", token_type: "Bearer", expires_in: 3600, id_token: grant.idToken });
    }
    return new Response("not found", { status: 404 });
  });

  return {
    sign,
    /** Claims Entra would put in an ID token for this user, for the sign-in with this nonce. */
    claims(nonce: string, now: number, overrides: JWTPayload = {}): JWTPayload {
      const tid = (overrides.tid as string) ?? "tenant-a";
      return {
        iss: `${AUTHORITY}/${tid}/v2.0`,
        aud: CLIENT_ID,
        iat: Math.floor(now / 1000) - 5,
        nbf: Math.floor(now / 1000) - 5,
        exp: Math.floor(now / 1000) + 3600,
        tid,
        oid: "oid-default",
        nonce,
        name: "Sam SSO",
        ...overrides,
      };
    },
    /** What the authorization endpoint does after the person signs in: a code bound to the PKCE challenge. */
    authorize(authorizationUrl: URL, idToken: string): string {
      const code = `code-${++counter}`;
      codes.set(code, { challenge: authorizationUrl.searchParams.get("code_challenge") ?? "", idToken });
      return code;
    },
    /** Publish a new signing key and withdraw the old one, as Microsoft does when it rotates. */
    async rotate(): Promise<string> {
      keys = [await signingKey(`test-key-${++counter}-${crypto.randomUUID().slice(0, 8)}`)];
      return keys[0]!.kid;
    },
    jwksFetches: () => jwksFetches,
    /** Calls to the token endpoint, each with our client secret (Microsoft throttles them per app). */
    tokenRequests: () => tokenRequests,
    domains,
    stop: () => spy.mockRestore(),
  };
}
export type Provider = Awaited<ReturnType<typeof startProvider>>;

/** A JWT with `alg: none` and no signature. */
export function unsignedToken(claims: JWTPayload): string {
  const enc = (v: object) => encodeBase64urlNoPadding(new TextEncoder().encode(JSON.stringify(v)));
  return `${enc({ alg: "none", typ: "JWT" })}.${enc(claims)}.`;
}

export async function setAccess(portal: Portal, access: AccessMode) {
  await writePortalPolicy(portal, { access }, false);
}

export type SsoToken = JWTPayload | ((nonce: string) => Promise<string>);

/** Click "Sign in with Microsoft", sign in at the provider (with these claims, or a token made from the nonce), come back. */
export async function signInThrough(
  provider: Provider,
  client: Browser,
  portal: Portal,
  now: number,
  token: SsoToken,
  startPath = `/${portal}/sso/start`,
) {
  const start = await client.get(startPath);
  await start.text();
  expect(start.status).toBe(302);
  const authorize = new URL(start.headers.get("Location")!);
  const nonce = authorize.searchParams.get("nonce")!;
  const idToken = typeof token === "function" ? await token(nonce) : await provider.sign(provider.claims(nonce, now, token));
  const code = provider.authorize(authorize, idToken);
  const callback = `/${portal}/sso/callback?code=${code}&state=${authorize.searchParams.get("state")}`;
  const flowCookie = `__Host-edgedesk_sso_${portal}=${client.cookie(`__Host-edgedesk_sso_${portal}`)}`;
  const response = await client.get(callback);
  return { response, body: await response.text(), callback, authorize, flowCookie };
}
