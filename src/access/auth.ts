// Who is asking: the signed-in person of a request, as the session check (src/auth/sessions.ts)
// leaves it on the context (AppEnv) for the guards, the pages and the routes. A type only, here so
// that the app's context type and the session code do not import each other.
import type { Permission } from "./permissions";
import type { Portal, PortalPolicy } from "../portal/policy";
import type { SessionInfo, UserProfile } from "../auth/user-do";

export interface Auth {
  portal: Portal;
  user: UserProfile;
  session: SessionInfo;
  tokenHash: string;
  permissions: Permission[];
  policy: PortalPolicy;
}
