import { sql } from "drizzle-orm";
import { index, integer, primaryKey, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";
import type { Permission } from "../access/permissions";

// Agents (helpdesk staff) and contacts (customers) share one table: every sign-in and MFA
// rule is the same for both, and `kind` decides the portal. Emails are stored lower-cased,
// so the unique index compares them case-insensitively.
export const users = sqliteTable(
  "users",
  {
    id: text("id").primaryKey(),
    kind: text("kind", { enum: ["agent", "contact"] }).notNull(),
    email: text("email").notNull(),
    name: text("name").notNull(),
    passwordHash: text("password_hash"),
    passwordChangedAt: integer("password_changed_at"),
    roleId: text("role_id").references(() => roles.id),
    active: integer("active", { mode: "boolean" }).notNull().default(true),
    // The columns an agent chose for each list, in order ({"asset": ["tag", …], "software": […]}).
    listColumns: text("list_columns", { mode: "json" }).$type<Partial<Record<"asset" | "software", string[]>>>(),
    createdAt: integer("created_at").notNull(),
    updatedAt: integer("updated_at").notNull(),
  },
  (t) => [uniqueIndex("users_kind_email_unique").on(t.kind, t.email), index("users_role_idx").on(t.roleId)],
);

export const roles = sqliteTable("roles", {
  id: text("id").primaryKey(),
  name: text("name").notNull().unique(),
  // "administrator" and "agent" are the built-in roles; custom roles have null.
  builtin: text("builtin", { enum: ["administrator", "agent"] }),
  permissions: text("permissions", { mode: "json" }).$type<Permission[]>().notNull().default(sql`'[]'`),
  createdAt: integer("created_at").notNull(),
});

export const groups = sqliteTable("groups", {
  id: text("id").primaryKey(),
  name: text("name").notNull().unique(),
  createdAt: integer("created_at").notNull(),
});

export const groupMembers = sqliteTable(
  "group_members",
  {
    groupId: text("group_id")
      .notNull()
      .references(() => groups.id, { onDelete: "cascade" }),
    agentId: text("agent_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
  },
  (t) => [primaryKey({ columns: [t.groupId, t.agentId] }), index("group_members_agent_idx").on(t.agentId)],
);

export const locations = sqliteTable("locations", {
  id: text("id").primaryKey(),
  name: text("name").notNull().unique(),
  createdAt: integer("created_at").notNull(),
});

export const ASSET_TYPES = ["laptop", "desktop", "monitor", "server", "printer", "mobile", "network", "other"] as const;
export const ASSET_STATUSES = ["in_use", "in_stock", "in_repair", "retired"] as const;
export const IMPACTS = ["low", "medium", "high"] as const;
export const SOFTWARE_STATUSES = ["active", "inactive", "retired"] as const;

export const assets = sqliteTable(
  "assets",
  {
    id: text("id").primaryKey(),
    name: text("name").notNull(),
    assetTag: text("asset_tag").notNull().unique(),
    assetType: text("asset_type", { enum: ASSET_TYPES }).notNull(),
    serialNumber: text("serial_number"),
    status: text("status", { enum: ASSET_STATUSES }).notNull(),
    impact: text("impact", { enum: IMPACTS }).notNull(),
    locationId: text("location_id").references(() => locations.id),
    groupId: text("group_id").references(() => groups.id),
    agentId: text("agent_id").references(() => users.id),
    usedById: text("used_by_id").references(() => users.id),
    description: text("description"),
    // Bumped on every write; an edit made against an older version is refused (no lost updates).
    version: integer("version").notNull().default(1),
    createdAt: integer("created_at").notNull(),
    updatedAt: integer("updated_at").notNull(),
  },
  // Each filter column with the default sort (name, then id for a stable order), and each
  // sortable column with id for the tie-break, so a filtered or sorted page reads its 50 rows from
  // an index instead of sorting every match. Search goes through assets_fts (migration 0012).
  (t) => [
    index("assets_name_idx").on(t.name, t.id),
    index("assets_type_name_idx").on(t.assetType, t.name, t.id),
    index("assets_status_name_idx").on(t.status, t.name, t.id),
    index("assets_impact_name_idx").on(t.impact, t.name, t.id),
    index("assets_location_name_idx").on(t.locationId, t.name, t.id),
    index("assets_group_name_idx").on(t.groupId, t.name, t.id),
    index("assets_agent_name_idx").on(t.agentId, t.name, t.id),
    index("assets_tag_id_idx").on(t.assetTag, t.id),
    index("assets_type_id_idx").on(t.assetType, t.id),
    index("assets_status_id_idx").on(t.status, t.id),
    index("assets_impact_id_idx").on(t.impact, t.id),
    index("assets_updated_id_idx").on(t.updatedAt, t.id),
    index("assets_used_by_idx").on(t.usedById),
  ],
);

export const software = sqliteTable(
  "software",
  {
    id: text("id").primaryKey(),
    name: text("name").notNull(),
    publisher: text("publisher"),
    category: text("category"),
    version: text("software_version"),
    status: text("status", { enum: SOFTWARE_STATUSES }).notNull(),
    impact: text("impact", { enum: IMPACTS }).notNull(),
    locationId: text("location_id").references(() => locations.id),
    groupId: text("group_id").references(() => groups.id),
    agentId: text("agent_id").references(() => users.id),
    rowVersion: integer("row_version").notNull().default(1),
    createdAt: integer("created_at").notNull(),
    updatedAt: integer("updated_at").notNull(),
  },
  // As for assets. Search goes through software_fts (migration 0012).
  (t) => [
    index("software_name_idx").on(t.name, t.id),
    index("software_status_name_idx").on(t.status, t.name, t.id),
    index("software_impact_name_idx").on(t.impact, t.name, t.id),
    index("software_location_name_idx").on(t.locationId, t.name, t.id),
    index("software_group_name_idx").on(t.groupId, t.name, t.id),
    index("software_agent_name_idx").on(t.agentId, t.name, t.id),
    index("software_publisher_id_idx").on(t.publisher, t.id),
    index("software_status_id_idx").on(t.status, t.id),
    index("software_impact_id_idx").on(t.impact, t.id),
    index("software_updated_id_idx").on(t.updatedAt, t.id),
  ],
);

// An authenticator app (TOTP) of a user. The secret is AES-GCM encrypted with the user id as
// associated data. `confirmedAt` is null while enrollment is under way. `lastUsedStep` is the
// last accepted time step: a code of that step or an earlier one is never accepted again.
export const totpCredentials = sqliteTable("totp_credentials", {
  userId: text("user_id")
    .primaryKey()
    .references(() => users.id, { onDelete: "cascade" }),
  secretEncrypted: text("secret_encrypted").notNull(),
  confirmedAt: integer("confirmed_at"),
  lastUsedStep: integer("last_used_step"),
  createdAt: integer("created_at").notNull(),
});

// Passkeys (WebAuthn credentials) a user registered as a second factor. `id` is the
// credential id (base64url); the public key is COSE, base64url. `counter` is the authenticator's
// signature counter, moved forward only by compare-and-swap.
export const passkeys = sqliteTable(
  "passkeys",
  {
    id: text("id").primaryKey(),
    userId: text("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    name: text("name").notNull(),
    publicKey: text("public_key").notNull(),
    counter: integer("counter").notNull(),
    transports: text("transports", { mode: "json" }).$type<string[]>(),
    createdAt: integer("created_at").notNull(),
    lastUsedAt: integer("last_used_at"),
    // Whether the authenticator keeps it as a discoverable credential (the browser's
    // credProps), which signing in without a password needs. Null: unknown (added before it was
    // recorded, or the browser did not say).
    discoverable: integer("discoverable", { mode: "boolean" }),
  },
  (t) => [index("passkeys_user_idx").on(t.userId)],
);

// The challenge of a passkey sign-in before anyone is known, keyed by the SHA-256 of
// the browser's attempt cookie. Taken once (used_at), for 5 minutes.
export const passkeyChallenges = sqliteTable("passkey_challenges", {
  id: text("id").primaryKey(),
  portal: text("portal", { enum: ["agent", "support"] }).notNull(),
  challenge: text("challenge").notNull(),
  createdAt: integer("created_at").notNull(),
  expiresAt: integer("expires_at").notNull(),
  usedAt: integer("used_at"),
});

// Ten single-use recovery codes a user, each encrypted with the user id as associated data
// (admins may view them, so they cannot be one-way hashes). `usedAt` marks a spent code.
export const recoveryCodes = sqliteTable(
  "recovery_codes",
  {
    id: text("id").primaryKey(),
    userId: text("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    position: integer("position").notNull(),
    codeEncrypted: text("code_encrypted").notNull(),
    usedAt: integer("used_at"),
    createdAt: integer("created_at").notNull(),
  },
  (t) => [index("recovery_codes_user_idx").on(t.userId)],
);

// A Microsoft Entra identity linked to a user. Linked on (tenant id, object id), which never
// change, and never on the email claim, which can (the "nOAuth" takeover).
export const ssoIdentities = sqliteTable(
  "sso_identities",
  {
    tenantId: text("tenant_id").notNull(),
    objectId: text("object_id").notNull(),
    userId: text("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    createdAt: integer("created_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.objectId] }), index("sso_identities_user_idx").on(t.userId)],
);

// The security audit log: who did what to whom, from where. Append-only.
export const auditEvents = sqliteTable(
  "audit_events",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    at: integer("at").notNull(),
    event: text("event").notNull(),
    portal: text("portal", { enum: ["agent", "support"] }),
    actorId: text("actor_id"),
    targetId: text("target_id"),
    ip: text("ip"),
    userAgent: text("user_agent"),
    details: text("details", { mode: "json" }).$type<Record<string, unknown>>(),
    // Names an entry owed by a user's object until D1 holds it (src/auth/user-do/owed-audits.ts):
    // stored at most once however often the request and the object's alarm both try.
    eventKey: text("event_key"),
  },
  (t) => [
    uniqueIndex("audit_events_event_key_idx").on(t.eventKey).where(sql`event_key IS NOT NULL`),
    index("audit_events_at_idx").on(t.at),
    index("audit_events_event_idx").on(t.event, t.at),
    index("audit_events_target_idx").on(t.targetId, t.at),
  ],
);

// A user's recent passwords, for the opt-in reuse restriction: HMAC-SHA-256 under the
// HMAC_KEY secret, not scrypt, because checking up to 24 scrypt hashes per change would cost
// seconds of CPU. Without the secret a D1 dump reveals nothing testable offline.
export const passwordHistory = sqliteTable(
  "password_history",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    userId: text("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    mac: text("mac").notNull(),
    createdAt: integer("created_at").notNull(),
  },
  (t) => [index("password_history_user_idx").on(t.userId, t.id)],
);

// "I lost my recovery codes": a user's request, answered by an admin with a new set (shown to
// the user at their next sign-in) or an MFA reset.
export const recoveryCodeRequests = sqliteTable(
  "recovery_code_requests",
  {
    id: text("id").primaryKey(),
    userId: text("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    status: text("status", { enum: ["pending", "issued", "reset", "shown"] }).notNull(),
    createdAt: integer("created_at").notNull(),
    resolvedBy: text("resolved_by"),
    resolvedAt: integer("resolved_at"),
  },
  (t) => [
    index("recovery_code_requests_status_idx").on(t.status, t.createdAt),
    index("recovery_code_requests_user_idx").on(t.userId, t.status),
  ],
);

// Who changed which field of an asset or software record, from what to what, and when. Bulk
// changes share a `batchId`; `versionAfter` is the record's version right after the change, so
// Undo restores only rows nobody has changed since.
export const inventoryHistory = sqliteTable(
  "inventory_history",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    recordType: text("record_type", { enum: ["asset", "software"] }).notNull(),
    recordId: text("record_id").notNull(),
    field: text("field").notNull(),
    oldValue: text("old_value"),
    newValue: text("new_value"),
    versionAfter: integer("version_after").notNull(),
    actorId: text("actor_id"),
    batchId: text("batch_id"),
    at: integer("at").notNull(),
  },
  // `at`: the retention job deletes the oldest entries.
  (t) => [
    index("inventory_history_record_idx").on(t.recordType, t.recordId, t.id),
    index("inventory_history_batch_idx").on(t.batchId),
    index("inventory_history_at_idx").on(t.at),
  ],
);

// A bulk change that can be undone for a few minutes.
export const bulkOperations = sqliteTable("bulk_operations", {
  id: text("id").primaryKey(),
  recordType: text("record_type", { enum: ["asset", "software"] }).notNull(),
  field: text("field").notNull(),
  count: integer("count").notNull(),
  actorId: text("actor_id").notNull(),
  at: integer("at").notNull(),
  undoneAt: integer("undone_at"),
  // Set by the one Undo that claims the operation; its statements run only under that claim.
  undoToken: text("undo_token"),
  // The ids a "selected rows" change was asked for, so the list can select them again.
  selectedIds: text("selected_ids", { mode: "json" }).$type<string[]>(),
  // A change too large for one batch runs as a job (src/assets/bulk-job.ts). "done" for
  // one written at once; a job goes snapshot → applying → done, or → undoing → failed / undone.
  state: text("state", { enum: ["snapshot", "applying", "undoing", "done", "undone", "failed"] })
    .notNull()
    .default("done"),
  // The job's scope (filter, value, the agent's groups) and its plan's counts, as planBulk gave them.
  job: text("job", { mode: "json" }).$type<Record<string, unknown>>(),
  chunks: integer("chunks").notNull().default(0),
  // Where the next step starts: the last record id snapshotted, or (undoing) the last history id put back.
  cursor: text("cursor"),
  appliedChunks: integer("applied_chunks").notNull().default(0),
  // Set by the one attempt that claims a chunk; the chunk's other statements run only under it.
  chunkToken: text("chunk_token"),
  // Records changed (applying) or put back (undoing) so far: the progress shown.
  doneCount: integer("done_count").notNull().default(0),
  // The longest single D1 call of the job, ms: how long it held the database at most.
  longestMs: integer("longest_ms").notNull().default(0),
  message: text("message"),
});

// A token that every change to the lists' dropdown options (locations, groups, their
// members, agents' names and active state) replaces, by triggers (migrations/0018, by hand), so
// each isolate keeps the options while the token stays the same (src/assets/listing.ts).
export const optionListVersion = sqliteTable("option_list_version", {
  id: integer("id").primaryKey(),
  token: text("token").notNull(),
});

// A job's snapshot: which records it changes, at which version, BULK_CHUNK to a row (JSON [[id, version], …]).
export const bulkChunks = sqliteTable(
  "bulk_chunks",
  {
    batchId: text("batch_id")
      .notNull()
      .references(() => bulkOperations.id, { onDelete: "cascade" }),
    seq: integer("seq").notNull(),
    items: text("items").notNull(),
  },
  (t) => [primaryKey({ columns: [t.batchId, t.seq] })],
);

// One-shot flags, e.g. "setup_complete": inserting an existing key fails, which closes /setup for good.
export const appFlags = sqliteTable("app_flags", {
  key: text("key").primaryKey(),
  setAt: integer("set_at").notNull(),
});

// Development mailbox: every message sent while ENVIRONMENT=development, newest first.
/**
 * "Invite to sign in with Microsoft". A one-time, expiring link an admin issues so a
 * person whose Microsoft account carries no (verified) email can link it by tenant and object id.
 * Only the SHA-256 of the link's token is stored. `consumedBy` marks which sign-in used it.
 */
export const ssoInvitations = sqliteTable(
  "sso_invitations",
  {
    id: text("id").primaryKey(),
    tokenHash: text("token_hash").notNull().unique(),
    userId: text("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    createdBy: text("created_by").notNull(),
    createdAt: integer("created_at").notNull(),
    expiresAt: integer("expires_at").notNull(),
    usedAt: integer("used_at"),
    consumedBy: text("consumed_by"),
  },
  (t) => [index("sso_invitations_user_idx").on(t.userId)],
);

export const devMailbox = sqliteTable("dev_mailbox", {
  id: integer("id").primaryKey({ autoIncrement: true }),
  to: text("to_address").notNull(),
  subject: text("subject").notNull(),
  body: text("body").notNull(),
  /** Exactly what the send_email binding received (JSON of the structured message). */
  sent: text("sent").notNull().default("{}"),
  sentAt: integer("sent_at").notNull(),
  /** What the binding answered: the Message-ID Email Service gave the message. */
  messageId: text("message_id"),
});

// "Forgot password?" asked for, kept from before the answer (the same write whoever is asked for,
// SECURITY.md 22) until the work after it has stored a link and its mail, or found no account;
// the minute's scheduled run finishes what a request could not (src/auth/password-reset.ts).
export const resetRequests = sqliteTable(
  "reset_requests",
  {
    id: text("id").primaryKey(),
    portal: text("portal", { enum: ["agent", "support"] }).notNull(),
    email: text("email").notNull(),
    siteOrigin: text("site_origin").notNull(),
    requestedAt: integer("requested_at").notNull(),
    ip: text("ip"),
    userAgent: text("user_agent"),
    /** Not taken up again before this moment (another run's claim, or a backoff). */
    dueAt: integer("due_at").notNull(),
    tries: integer("tries").notNull().default(0),
  },
  (t) => [index("reset_requests_due_idx").on(t.dueAt)],
);

// The durable outbox (src/mail/outbox.ts): a mail EdgeDesk promises is stored in the batch that
// records its cause, then sent after the response and again by the minute's scheduled run until it
// is delivered or a day has passed. The text is sealed for the row's id (it may hold a one-time
// link) and erased once the message is sent or given up.
export const mailOutbox = sqliteTable(
  "mail_outbox",
  {
    id: text("id").primaryKey(),
    to: text("to_address").notNull(),
    subject: text("subject").notNull(),
    sealedText: text("sealed_text").notNull(),
    /** Whom it concerns: the audit row of an undeliverable one names them; removing them removes it. */
    userId: text("user_id").references(() => users.id, { onDelete: "cascade" }),
    createdAt: integer("created_at").notNull(),
    /** Not tried again before this moment (a backoff, or another sender's claim). */
    dueAt: integer("due_at").notNull(),
    attempts: integer("attempts").notNull().default(0),
    lastError: text("last_error"),
    sentAt: integer("sent_at"),
    messageId: text("message_id"),
    gaveUpAt: integer("gave_up_at"),
    /** When what it carries (a one-time link) stops working: given up then rather than sent. */
    expiresAt: integer("expires_at"),
  },
  (t) => [index("mail_outbox_due_idx").on(t.dueAt).where(sql`sent_at IS NULL AND gave_up_at IS NULL`)],
);

export type User = typeof users.$inferSelect;
export type Role = typeof roles.$inferSelect;

// "Forgot password?" links. Only a hash of the token is kept; a link belongs to one
// person and one portal, works once, for 30 minutes, and asking again replaces it.
export const passwordResets = sqliteTable(
  "password_resets",
  {
    id: text("id").primaryKey(),
    tokenHash: text("token_hash").notNull().unique(),
    userId: text("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    portal: text("portal", { enum: ["agent", "support"] }).notNull(),
    createdAt: integer("created_at").notNull(),
    expiresAt: integer("expires_at").notNull(),
    usedAt: integer("used_at"),
  },
  (t) => [index("password_resets_user_idx").on(t.userId, t.portal)],
);

// A temporary access pass an admin issued to a locked-out person. Only its SHA-256
// is kept; it works once, until expires_at, and issuing another (or resetting the person's MFA)
// deletes it. `issuedBy` stays a plain id: the issuer may be removed later.
export const temporaryAccessPasses = sqliteTable(
  "temporary_access_passes",
  {
    id: text("id").primaryKey(),
    userId: text("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    passHash: text("pass_hash").notNull().unique(),
    issuedBy: text("issued_by").notNull(),
    createdAt: integer("created_at").notNull(),
    expiresAt: integer("expires_at").notNull(),
    usedAt: integer("used_at"),
  },
  (t) => [index("temporary_access_passes_user_idx").on(t.userId)],
);

// The "This wasn't me" link of a new-device alert. Only the token's SHA-256 is kept,
// with the browser of that sign-in (the hash of its cookie, its address and user agent, to show
// and to forget); it works once, for 7 days.
export const notMeLinks = sqliteTable(
  "not_me_links",
  {
    id: text("id").primaryKey(),
    tokenHash: text("token_hash").notNull().unique(),
    userId: text("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    portal: text("portal", { enum: ["agent", "support"] }).notNull(),
    deviceHash: text("device_hash").notNull(),
    ip: text("ip").notNull(),
    userAgent: text("user_agent").notNull(),
    createdAt: integer("created_at").notNull(),
    expiresAt: integer("expires_at").notNull(),
    usedAt: integer("used_at"),
  },
  (t) => [index("not_me_links_user_idx").on(t.userId)],
);

// A person an admin removed. Their users row and everything hanging off it are gone;
// the id stays in the audit log and asset history, and this table gives it the stable pseudonym
// shown there instead of the name and email ("Removed contact 7K2QM4XAPB").
export const removedPeople = sqliteTable("removed_people", {
  id: text("id").primaryKey(),
  kind: text("kind", { enum: ["agent", "contact"] }).notNull(),
  pseudonym: text("pseudonym").notNull().unique(),
  removedAt: integer("removed_at").notNull(),
  removedBy: text("removed_by").notNull(),
});

// A person whose sign-in from new browsers is paused by strangers' failures (SECURITY.md 43): one
// row per person and way in, written after the response that paused it (so an unknown email and
// a real one answer alike), for the admins' list and the person's activity. The account's
// limiter decides; this row only says where to look, and is gone once the pause is over.
export const signInPauses = sqliteTable(
  "sign_in_pauses",
  {
    userId: text("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    way: text("way", { enum: ["password", "second_step", "reset"] }).notNull(),
    portal: text("portal", { enum: ["agent", "support"] }).notNull(),
    pausedAt: integer("paused_at").notNull(),
    until: integer("until").notNull(),
    attempts: integer("attempts").notNull(),
    sources: text("sources", { mode: "json" }).$type<{ source: string; country: string | null; count: number }[]>().notNull(),
  },
  (t) => [primaryKey({ columns: [t.userId, t.way] }), index("sign_in_pauses_until_idx").on(t.until)],
);

// API tokens (src/api/tokens.ts): what a script or a SIEM presents instead of a session. Only a
// keyed hash of the secret is kept (HMAC_KEY, so a copy of the database alone cannot try
// guesses); the token acts with its creator's permissions as they are at each request, so a
// token outlives neither its creator nor their role. `createdBy` stays a plain id: a removed
// creator's tokens stay listed (and refused) rather than vanish from the record.
export const apiTokens = sqliteTable(
  "api_tokens",
  {
    id: text("id").primaryKey(),
    name: text("name").notNull(),
    scopes: text("scopes", { mode: "json" }).notNull().$type<string[]>(),
    secretHash: text("secret_hash").notNull(),
    createdBy: text("created_by").notNull(),
    createdAt: integer("created_at").notNull(),
    expiresAt: integer("expires_at").notNull(),
    revokedAt: integer("revoked_at"),
    revokedBy: text("revoked_by"),
    lastUsedAt: integer("last_used_at"),
    lastUsedIp: text("last_used_ip"),
  },
  (t) => [index("api_tokens_created_idx").on(t.createdAt)],
);

// The addresses each token has been used from: a new one is an audit event.
export const apiTokenSources = sqliteTable(
  "api_token_sources",
  {
    tokenId: text("token_id")
      .notNull()
      .references(() => apiTokens.id, { onDelete: "cascade" }),
    ip: text("ip").notNull(),
    firstAt: integer("first_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.tokenId, t.ip] })],
);

// Where the audit log is streamed (src/audit/streaming.ts). The audit table is the outbox: each
// destination's `cursor` is the id of the last event it acknowledged, moved only after a 2xx.
// The secret (the HMAC key EdgeDesk made, or the Splunk HEC token the admin gave) is sealed for
// the destination's id, as TOTP secrets are for their owner's.
export const auditDestinations = sqliteTable("audit_destinations", {
  id: text("id").primaryKey(),
  name: text("name").notNull(),
  kind: text("kind", { enum: ["https", "splunk"] }).notNull(),
  url: text("url").notNull(),
  sealedSecret: text("sealed_secret").notNull(),
  createdBy: text("created_by").notNull(),
  createdAt: integer("created_at").notNull(),
  cursor: integer("cursor").notNull(),
  /** Set while an admin has turned it off, or after a day of failures; nothing is sent meanwhile. */
  pausedAt: integer("paused_at"),
  pausedReason: text("paused_reason"),
  lastDeliveredAt: integer("last_delivered_at"),
  /** The first failure of the present run of them (null once a batch is acknowledged). */
  failingSince: integer("failing_since"),
  attempts: integer("attempts").notNull().default(0),
  nextAttemptAt: integer("next_attempt_at").notNull().default(0),
  lastError: text("last_error"),
});
