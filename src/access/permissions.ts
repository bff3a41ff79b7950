// Every permission a role can hold, in one place: later features add theirs here.
export const PERMISSIONS = {
  manageAuthentication: "Access to Agent & Contact Authentication",
  manageRecoveryAndMfaReset: "Access to Agent Recovery Code and Reset MFA",
  manageAgents: "Manage Agents, Groups and Roles",
  viewAssets: "View Assets",
  manageAssets: "Manage Assets",
} as const;

export type Permission = keyof typeof PERMISSIONS;
export const ALL_PERMISSIONS = Object.keys(PERMISSIONS) as Permission[];

// The built-in Agent role holds none of the security permissions.
export const AGENT_ROLE_PERMISSIONS: Permission[] = ["viewAssets", "manageAssets"];

export function hasPermission(permissions: readonly Permission[] | null | undefined, needed: Permission): boolean {
  return permissions?.includes(needed) ?? false;
}
