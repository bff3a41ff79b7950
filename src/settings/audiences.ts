import type { Portal } from "../portal/policy";

/** The settings area speaks of "agents" and "contacts"; the rest of the code of portals. */
export const AUDIENCES = { agents: "agent", contacts: "support" } as const satisfies Record<string, Portal>;
export type Audience = keyof typeof AUDIENCES;

export function audienceOf(portal: Portal): Audience {
  return portal === "agent" ? "agents" : "contacts";
}

export function audienceTitle(audience: Audience): string {
  return audience === "agents" ? "Agent Authentication" : "Contact Authentication";
}

export function parseAudience(value: string | undefined): Audience | null {
  return value === "agents" || value === "contacts" ? value : null;
}

export const SETTINGS_ROOT = "/agent/settings/security";
