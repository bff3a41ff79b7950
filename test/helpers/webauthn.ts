// A software authenticator for tests: a real P-256 key pair that makes real WebAuthn registration
// and assertion responses ("none" attestation), so @simplewebauthn/server checks them for real.
import { isoBase64URL, isoCBOR } from "@simplewebauthn/server/helpers";
import { ORIGIN } from "./app";

const b64 = (bytes: Uint8Array) => isoBase64URL.fromBuffer(bytes as Uint8Array<ArrayBuffer>);
const concat = (...parts: (Uint8Array | number[])[]) => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
};
const sha256 = async (data: Uint8Array) => new Uint8Array(await crypto.subtle.digest("SHA-256", data as Uint8Array<ArrayBuffer>));
const u32 = (n: number) => [(n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255];

/** ECDSA signatures in WebAuthn are DER; WebCrypto gives r || s. */
function der(raw: Uint8Array): Uint8Array {
  const int = (b: Uint8Array) => {
    let i = 0;
    while (i < b.length - 1 && b[i] === 0) i++;
    let v = b.slice(i);
    if (v[0]! & 0x80) v = concat([0], v);
    return concat([0x02, v.length], v);
  };
  const r = int(raw.slice(0, 32));
  const s = int(raw.slice(32));
  return concat([0x30, r.length + s.length], r, s);
}

export async function softwareAuthenticator(rpId = "edgedesk.test") {
  const keys = (await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, ["sign", "verify"])) as CryptoKeyPair;
  const jwk = (await crypto.subtle.exportKey("jwk", keys.publicKey)) as JsonWebKey;
  const credentialId = crypto.getRandomValues(new Uint8Array(16));
  const rpIdHash = await sha256(new TextEncoder().encode(rpId));
  const clientData = (type: string, challenge: string, origin: string) =>
    new TextEncoder().encode(JSON.stringify({ type, challenge, origin, crossOrigin: false }));
  let counter = 0;
  let userHandle: string | undefined;
  return {
    id: b64(credentialId),
    /** navigator.credentials.create(), answered; `discoverable` is what credProps reports (absent: the browser says nothing). */
    register(options: { challenge: string; user?: { id: string } }, origin = ORIGIN, { discoverable }: { discoverable?: boolean } = {}) {
      if (options.user) userHandle = options.user.id;
      const cose = new Map<number, number | Uint8Array>([
        [1, 2],
        [3, -7],
        [-1, 1],
        [-2, isoBase64URL.toBuffer(jwk.x!)],
        [-3, isoBase64URL.toBuffer(jwk.y!)],
      ]);
      const authData = concat(
        rpIdHash,
        [0x45],
        u32(0),
        new Uint8Array(16),
        [credentialId.length >> 8, credentialId.length & 255],
        credentialId,
        isoCBOR.encode(cose as never),
      );
      const attestationObject = isoCBOR.encode(
        new Map<string, unknown>([
          ["fmt", "none"],
          ["attStmt", new Map()],
          ["authData", authData],
        ]) as never,
      );
      return {
        id: b64(credentialId),
        rawId: b64(credentialId),
        type: "public-key",
        response: {
          clientDataJSON: b64(clientData("webauthn.create", options.challenge, origin)),
          attestationObject: b64(attestationObject),
          transports: ["internal"],
        },
        clientExtensionResults: discoverable === undefined ? {} : { credProps: { rk: discoverable } },
      };
    },
    /**
     * navigator.credentials.get(), answered; `signCount` overrides the signature counter (a cloned
     * authenticator), `userVerified: false` leaves out the UV flag (presence only), and with
     * `withUserHandle` it names the account it holds the passkey for, as a discoverable one does.
     */
    async assert(
      options: { challenge: string },
      {
        origin = ORIGIN,
        signCount,
        userVerified = true,
        withUserHandle = false,
      }: { origin?: string; signCount?: number; userVerified?: boolean; withUserHandle?: boolean } = {},
    ) {
      counter = signCount ?? counter + 1;
      const authData = concat(rpIdHash, [userVerified ? 0x05 : 0x01], u32(counter));
      const clientDataJSON = clientData("webauthn.get", options.challenge, origin);
      const signed = concat(authData, await sha256(clientDataJSON));
      const signature = new Uint8Array(
        await crypto.subtle.sign({ name: "ECDSA", hash: "SHA-256" }, keys.privateKey, signed as Uint8Array<ArrayBuffer>),
      );
      return {
        id: b64(credentialId),
        rawId: b64(credentialId),
        type: "public-key",
        response: {
          clientDataJSON: b64(clientDataJSON),
          authenticatorData: b64(authData),
          signature: b64(der(signature)),
          ...(withUserHandle && userHandle ? { userHandle } : {}),
        },
        clientExtensionResults: {},
      };
    },
  };
}
