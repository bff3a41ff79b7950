// A small OpenID Connect provider in Microsoft Entra's shape, for local use and browser journeys
// only: it signs real RS256 ID tokens with a key it generates at start. Its sign-in page asks for
// an email and name instead of a password. Never point a deployed EdgeDesk at it.
import { createHash, randomBytes } from "node:crypto";
import { createServer } from "node:http";
import { exportJWK, generateKeyPair, SignJWT } from "jose";

export const DEV_TENANT = "dev-tenant";
export const DEV_CLIENT_ID = "edgedesk-local";

export async function startDevOidcProvider({ port = 8790, clientSecret }) {
  const authority = `http://127.0.0.1:${port}`;
  const { publicKey, privateKey } = await generateKeyPair("RS256");
  const jwk = { ...(await exportJWK(publicKey)), kid: "dev-key", alg: "RS256", use: "sig" };
  const grants = new Map();
  const esc = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
  const readBody = (req) => new Promise((resolve) => { let b = ""; req.on("data", (d) => (b += d)); req.on("end", () => resolve(new URLSearchParams(b))); });

  const server = createServer(async (req, res) => {
    const url = new URL(req.url, authority);
    const send = (status, body, type = "application/json") => { res.writeHead(status, { "Content-Type": type }); res.end(typeof body === "string" ? body : JSON.stringify(body)); };
    if (url.pathname.endsWith("/discovery/v2.0/keys")) return send(200, { keys: [jwk] });
    if (url.pathname.endsWith("/oauth2/v2.0/authorize") && req.method === "GET") {
      const hidden = [...url.searchParams].map(([k, v]) => `<input type="hidden" name="${esc(k)}" value="${esc(v)}">`).join("");
      return send(200, `<!doctype html><title>Local Microsoft sign-in</title><body style="font-family:system-ui;max-width:26rem;margin:3rem auto">
        <h1>Local Microsoft sign-in</h1><p>A stand-in for Microsoft Entra ID on this machine. Sign in as:</p>
        <form method="post">${hidden}<p><label>Email<br><input name="email" type="email" required value="contact1@customer.test"></label></p>
        <p><label>Name<br><input name="name" value="Local SSO User"></label></p><button type="submit">Sign in</button></form></body>`, "text/html");
    }
    if (url.pathname.endsWith("/oauth2/v2.0/authorize") && req.method === "POST") {
      const form = await readBody(req);
      const code = randomBytes(16).toString("hex");
      grants.set(code, { challenge: form.get("code_challenge"), nonce: form.get("nonce"), email: form.get("email"), name: form.get("name"), clientId: form.get("client_id"), authTime: Math.floor(Date.now() / 1000) });
      const back = new URL(form.get("redirect_uri"));
      back.searchParams.set("code", code);
      back.searchParams.set("state", form.get("state"));
      res.writeHead(302, { Location: back.toString() });
      return res.end();
    }
    if (url.pathname.endsWith("/oauth2/v2.0/token") && req.method === "POST") {
      const form = await readBody(req);
      const grant = grants.get(form.get("code"));
      grants.delete(form.get("code"));
      const expected = `Basic ${Buffer.from(`${DEV_CLIENT_ID}:${clientSecret}`).toString("base64")}`;
      if (req.headers.authorization !== expected) return send(401, { error: "invalid_client" });
      const verifier = form.get("code_verifier") ?? "";
      if (!grant || createHash("sha256").update(verifier).digest("base64url") !== grant.challenge) return send(400, { error: "invalid_grant" });
      const now = Math.floor(Date.now() / 1000);
      const idToken = await new SignJWT({
        tid: DEV_TENANT, oid: createHash("sha256").update(grant.email.toLowerCase()).digest("hex").slice(0, 32),
        email: grant.email, xms_edov: true, name: grant.name, nonce: grant.nonce,
        // Every sign-in here asks for the form, so auth_time is when it was sent (Entra: an optional claim).
        auth_time: grant.authTime,
      }).setProtectedHeader({ alg: "RS256", kid: "dev-key" }).setIssuer(`${authority}/${DEV_TENANT}/v2.0`).setAudience(DEV_CLIENT_ID)
        .setIssuedAt(now).setExpirationTime(now + 3600).sign(privateKey);
      return send(200, { access_token: randomBytes(16).toString("hex"), token_type: "Bearer", expires_in: 3600, id_token: idToken });
    }
    send(404, { error: "not_found" });
  });
  await new Promise((resolve) => server.listen(port, "127.0.0.1", resolve));
  return { authority, close: () => server.close() };
}
