// "Download my data" on My account: a person's own data as JSON (profile, how they
// sign in, their sessions and devices, their security activity, the assets they use). Secrets
// are never part of it: no password hash, authenticator secret, recovery code or token.
import type { Auth } from "../access/auth";
import { assetsOfUser } from "../assets/my-assets";
import { userStub } from "../auth/user-object";
import { findUserById } from "../auth/users";
import type { Db } from "../db";
import { listPasskeys } from "../factors/passkeys";
import { countUnusedRecoveryCodes } from "../factors/recovery-codes";
import { hasConfirmedAuthenticator } from "../factors/totp";
import { linkedIdentityOf } from "../sso/invitations";
import { describeDevice } from "../lib/device";
import { personalSecurityLog } from "./security-log";

/** Everything the security log keeps (retention prunes older events), newest first. */
const ACTIVITY_LIMIT = 5000;

const iso = (ms: number | null | undefined) => (ms === null || ms === undefined ? null : new Date(ms).toISOString());

export async function personalData(env: Env, db: Db, auth: Auth, now: number) {
  const id = auth.user.id;
  const stub = userStub(env, id);
  const [user, sessions, devices, hasApp, codesLeft, passkeys, microsoft, activity, assets] = await Promise.all([
    findUserById(db, id),
    stub.listSessions({ generation: auth.policy.generation, policy: auth.policy.session, now }),
    stub.listDevices(auth.policy.generation, now),
    hasConfirmedAuthenticator(db, id),
    countUnusedRecoveryCodes(db, id),
    listPasskeys(db, id),
    linkedIdentityOf(db, id),
    personalSecurityLog(db, id, ACTIVITY_LIMIT),
    assetsOfUser(env.DB, id),
  ]);
  return {
    exportedAt: iso(now),
    portal: auth.portal === "agent" ? "Agent portal" : "Support portal",
    profile: {
      id,
      name: user?.name ?? auth.user.name,
      email: user?.email ?? auth.user.email,
      createdAt: iso(user?.createdAt),
      passwordChangedAt: iso(user?.passwordChangedAt),
    },
    signIn: {
      password: Boolean(user?.passwordHash),
      microsoftAccount: microsoft
        ? { tenantId: microsoft.tenantId, objectId: microsoft.objectId, linkedAt: iso(microsoft.createdAt) }
        : null,
      authenticatorApp: hasApp,
      recoveryCodesLeft: codesLeft,
      passkeys: passkeys.map((p) => ({ name: p.name, addedAt: iso(p.createdAt), lastUsedAt: iso(p.lastUsedAt) })),
    },
    sessions: sessions.map((s) => ({
      current: s.id === auth.session.id,
      device: describeDevice(s.userAgent),
      ip: s.ip,
      startedAt: iso(s.createdAt),
      lastSeenAt: iso(s.lastSeenAt),
    })),
    rememberedDevices: devices.map((d) => ({
      device: describeDevice(d.userAgent),
      ip: d.ip,
      rememberedAt: iso(d.createdAt),
      lastUsedAt: iso(d.lastUsedAt),
      expiresAt: iso(d.expiresAt),
    })),
    securityActivity: activity.map((e) => ({ at: iso(e.at), what: e.text, device: e.device, ip: e.ip })),
    assets: assets.map((a) => ({ name: a.name, assetTag: a.asset_tag, type: a.asset_type, status: a.status, location: a.location })),
  };
}
