// Which Microsoft tenants may sign in. Tenant ids compare case-insensitively (Entra
// writes GUIDs in lower case; an admin may paste them in upper case). A tenant given as a domain
// (contoso.onmicrosoft.com, or a verified custom domain) is resolved to its id through its OpenID
// discovery document, whose issuer carries the id; one that cannot be resolved stops SSO with a
// message naming the setting, rather than refusing every person from that tenant.
import { MINUTE } from "../lib/clock";

/** What deciding the allowed tenants needs of the SSO settings (src/sso/oidc.ts SsoConfig). */
export interface TenantSettings {
  authority: string;
  /** As configured: tenant ids (any case) or domains. */
  allowedTenants: string[];
  /** The setting the allowed tenants came from, for messages about it. */
  allowedTenantsSetting: "ENTRA_ALLOWED_TENANT_IDS" | "ENTRA_TENANT_ID";
}

const RESOLVED_FOR_MS = 24 * 60 * MINUTE;
const UNRESOLVED_FOR_MS = MINUTE;

const resolved = new Map<string, { id: string | null; at: number }>();

/** Drops the tenants this isolate resolved: for test files that share one isolate, each with its own provider. */
export function forgetResolvedTenants(): void {
  resolved.clear();
}

export const isTenantDomain = (tenant: string) => tenant.includes(".");

export type AllowedTenants = { ok: true; ids: string[] } | { ok: false; message: string };

async function tenantIdOf(authority: string, domain: string): Promise<string | null> {
  try {
    const response = await fetch(`${authority}/${encodeURIComponent(domain)}/v2.0/.well-known/openid-configuration`, {
      headers: { Accept: "application/json" },
    });
    if (!response.ok) return null;
    const { issuer } = (await response.json()) as { issuer?: unknown };
    const id = typeof issuer === "string" ? /^https:\/\/[^/]+\/([0-9A-Za-z-]{1,64})\/v2\.0\/?$/.exec(issuer)?.[1] : undefined;
    return id ? id.toLowerCase() : null;
  } catch (error) {
    console.warn(`SSO: resolving the tenant ${domain} failed:`, error instanceof Error ? error.message : error);
    return null;
  }
}

/** The allowed tenant ids, lower-cased, with domains resolved (cached per isolate). */
export async function allowedTenantIds(config: TenantSettings, now: number): Promise<AllowedTenants> {
  const ids: string[] = [];
  for (const tenant of config.allowedTenants) {
    if (!isTenantDomain(tenant)) {
      ids.push(tenant.toLowerCase());
      continue;
    }
    const key = `${config.authority} ${tenant.toLowerCase()}`;
    let entry = resolved.get(key);
    const fresh = entry && now >= entry.at && now - entry.at < (entry.id ? RESOLVED_FOR_MS : UNRESOLVED_FOR_MS);
    if (!fresh) {
      entry = { id: await tenantIdOf(config.authority, tenant), at: now };
      resolved.set(key, entry);
    }
    if (!entry!.id) {
      return {
        ok: false,
        message:
          `Single sign-on is not set up correctly: ${config.allowedTenantsSetting} names the tenant "${tenant}", which Microsoft did not ` +
          `resolve to a tenant id. Use the tenant id (a GUID, under Entra ID > Overview), or check the domain.`,
      };
    }
    ids.push(entry!.id);
  }
  return { ok: true, ids };
}
