import { relyingParty } from "../factors/passkeys";
import { allowsPassword, allowsSso, type PortalPolicy } from "../portal/policy";
import { ssoConfig } from "../sso/oidc";

/**
 * The ways a portal offers right now: its access mode, SSO only once it is set up, and a
 * passkey alone where the policy allows it, passkeys are set up, and the password is
 * offered: "SSO only" means no passkey sign-in either, since a passkey stands in for the password.
 */
export function signInWays(env: Env, policy: PortalPolicy) {
  const sso = allowsSso(policy.access) && ssoConfig(env) !== null;
  // A mode of SSO only, with SSO not set up, must not lock everyone out: offer the password.
  const password = allowsPassword(policy.access) || !sso;
  const passkey = password && policy.mfa.passkeys && policy.mfa.passwordlessPasskeys && relyingParty(env) !== null;
  return { password, sso, passkey };
}
