import { hasPermission, type Permission } from "../access/permissions";

/** Each section of Settings, and the permission that opens it. */
export const SETTINGS_SECTIONS: { title: string; href: string; about: string; permission: Permission }[] = [
  {
    title: "Security and Compliance",
    href: "/agent/settings/security",
    about: "How agents and contacts sign in: portal access, multi-factor authentication, passwords, sessions, and the audit log.",
    permission: "manageAuthentication",
  },
  {
    title: "Agents",
    href: "/agent/admin/agents",
    about: "Helpdesk staff, their roles and groups; contacts; roles and their permissions.",
    permission: "manageAgents",
  },
  {
    title: "Recovery code requests",
    href: "/agent/admin/recovery-requests",
    about: "People who lost their recovery codes and asked for new ones.",
    permission: "manageRecoveryAndMfaReset",
  },
  { title: "Locations", href: "/agent/admin/locations", about: "The places assets and software are kept.", permission: "manageAssets" },
];

/** The sections this agent may open; Settings is in the navigation only when there is one. */
export function settingsSectionsFor(permissions: readonly Permission[]) {
  return SETTINGS_SECTIONS.filter((s) => hasPermission(permissions, s.permission));
}
