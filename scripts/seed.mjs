// Demo data for local use (`npm start`) and benchmarks: never run against production.
// Builds one SQL file; password hashes use the same scrypt format as src/auth/password.ts.
import { createHash, createHmac, randomBytes, scryptSync } from "node:crypto";

const NOW = Date.UTC(2026, 10, 1);
const sqlString = (v) =>
  v === null || v === undefined ? "NULL" : typeof v === "number" ? String(v) : `'${String(v).replaceAll("'", "''")}'`;
const id = (prefix) =>
  `${prefix}_${randomBytes(10)
    .toString("hex")
    .slice(0, 16)
    .replace(/[0189]/g, (d) => "abcd"["0189".indexOf(d)])}`;

/** `params` as the Worker's PASSWORD_HASH_PARAMS would choose them (the browser journeys hash cheaply); production's by default. */
export function hashPassword(password, { N, r, p } = { N: 16384, r: 8, p: 5 }) {
  const salt = randomBytes(16);
  const key = scryptSync(password.normalize("NFC"), salt, 32, { N, r, p, maxmem: 64 * 1024 * 1024 });
  return `scrypt$v=1$N=${N}$r=${r}$p=${p}$${salt.toString("base64")}$${key.toString("base64")}`;
}

/** The password-history entry src/auth/password-change.ts passwordHistoryMac writes: `<key id>.<HMAC-SHA-256 under HMAC_KEY, hex>` (src/lib/encryption.ts). */
export function passwordHistoryMac(hmacKey, userId, password) {
  const key = Buffer.from(hmacKey.trim(), "base64");
  const keyId = createHash("sha256")
    .update(Buffer.concat([Buffer.from("edgedesk key id\n"), key]))
    .digest("hex")
    .slice(0, 8);
  return `${keyId}.${createHmac("sha256", key)
    .update(`password-history\n${userId}\n${password.normalize("NFC")}`)
    .digest("hex")}`;
}

function insert(table, rows) {
  if (rows.length === 0) return "";
  const columns = Object.keys(rows[0]);
  const out = [];
  for (let i = 0; i < rows.length; i += 200) {
    const values = rows.slice(i, i + 200).map((row) => `(${columns.map((c) => sqlString(row[c])).join(", ")})`);
    out.push(`INSERT INTO ${table} (${columns.join(", ")}) VALUES\n${values.join(",\n")};`);
  }
  return out.join("\n");
}

const FIRST = ["Ada", "Grace", "Alan", "Linus", "Margaret", "Dennis", "Barbara", "Ken", "Radia", "Edsger", "Frances", "Tim"];
const LAST = [
  "Lovelace",
  "Hopper",
  "Turing",
  "Torvalds",
  "Hamilton",
  "Ritchie",
  "Liskov",
  "Thompson",
  "Perlman",
  "Dijkstra",
  "Allen",
  "Berners-Lee",
];
const TYPES = ["laptop", "desktop", "monitor", "server", "printer", "mobile", "network", "other"];
const MODELS = {
  laptop: "ThinkPad X1",
  desktop: "OptiPlex 7010",
  monitor: "UltraSharp U2723",
  server: "PowerEdge R760",
  printer: "LaserJet M507",
  mobile: "iPhone 16",
  network: "Catalyst 9200",
  other: "Dock WD22",
};
const STATUSES = ["in_use", "in_use", "in_use", "in_stock", "in_repair", "retired"];
const IMPACTS = ["low", "medium", "high"];

/**
 * `hmacKey`: the Worker's HMAC_KEY, so the history entries match. Returns { sql, admin, agents, contacts, groups, locations,
 * assetIds, counts }. `retiredAssets: false` keeps every asset editable (the bench).
 */
export function buildSeed({
  password,
  hmacKey,
  hashParams,
  assetCount = 200,
  softwareCount = 60,
  agentCount = 5,
  contactCount = 8,
  retiredAssets = true,
  auditCount = 0,
}) {
  const hash = hashPassword(password, hashParams);
  const user = (kind, email, name, roleId) => ({
    id: id(kind === "agent" ? "agt" : "cnt"),
    kind,
    email,
    name,
    password_hash: hash,
    password_changed_at: NOW,
    role_id: roleId,
    active: 1,
    created_at: NOW,
    updated_at: NOW,
  });
  const admin = user("agent", "admin@edgedesk.test", "Ada Admin", "role_administrator");
  const agents = [
    admin,
    ...Array.from({ length: agentCount }, (_, i) =>
      user("agent", `agent${i + 1}@edgedesk.test`, `${FIRST[i % 12]} ${LAST[(i + 3) % 12]}`, "role_agent"),
    ),
  ];
  const contacts = Array.from({ length: contactCount }, (_, i) =>
    user("contact", `contact${i + 1}@customer.test`, `${FIRST[(i + 5) % 12]} ${LAST[(i + 7) % 12]}`, null),
  );
  const groups = ["Service Desk", "Infrastructure", "Field Support", "Security"].map((name) => ({ id: id("grp"), name, created_at: NOW }));
  const members = agents.slice(1).map((a, i) => ({ group_id: groups[i % groups.length].id, agent_id: a.id }));
  members.push({ group_id: groups[0].id, agent_id: admin.id });
  const locations = ["London HQ", "New York", "Berlin", "Singapore", "Remote"].map((name) => ({ id: id("loc"), name, created_at: NOW }));
  const groupAgents = (g) => members.filter((m) => m.group_id === g.id).map((m) => m.agent_id);

  const assetContext = { groups, locations, contacts, groupAgents, retiredAssets };
  const assets = Array.from({ length: assetCount }, (_, i) => assetRow(i, assetContext));
  const SOFTWARE = [
    ["Microsoft 365", "Microsoft", "Productivity"],
    ["Slack", "Salesforce", "Communication"],
    ["Zoom", "Zoom", "Communication"],
    ["Adobe Acrobat", "Adobe", "Productivity"],
    ["Visual Studio Code", "Microsoft", "Development"],
    ["1Password", "AgileBits", "Security"],
    ["CrowdStrike Falcon", "CrowdStrike", "Security"],
    ["Figma", "Figma", "Design"],
    ["Jira", "Atlassian", "Project management"],
    ["Tableau", "Salesforce", "Analytics"],
  ];
  const software = Array.from({ length: softwareCount }, (_, i) => {
    const [name, publisher, category] = SOFTWARE[i % SOFTWARE.length];
    return {
      id: id("sw"),
      name: `${name}${i >= SOFTWARE.length ? ` (${Math.floor(i / SOFTWARE.length) + 1})` : ""}`,
      publisher,
      category,
      software_version: `${1 + (i % 9)}.${i % 4}.${i % 7}`,
      status: i % 11 === 0 ? "inactive" : "active",
      impact: IMPACTS[(i + 1) % 3],
      location_id: locations[i % locations.length].id,
      group_id: groups[i % groups.length].id,
      agent_id: null,
      row_version: 1,
      created_at: NOW + i,
      updated_at: NOW + i,
    };
  });

  const sql = [
    "-- EdgeDesk demo data",
    insert("users", [...agents, ...contacts]),
    // Every path that sets a password records it, the seed's too: reuse rules apply to demo users.
    insert(
      "password_history",
      [...agents, ...contacts].map((u) => ({ user_id: u.id, mac: passwordHistoryMac(hmacKey, u.id, password), created_at: NOW })),
    ),
    insert("groups", groups),
    insert("group_members", members),
    insert("locations", locations),
    insert("assets", assets),
    insert("software", software),
    // The bench's audit log: sign-ins with a realistic user agent, for the CSV export at its 10,000-row cap.
    ...(auditCount
      ? [
          insert(
            "audit_events",
            Array.from({ length: auditCount }, (_, i) => ({
              at: NOW - i * 1000,
              event: i % 7 ? "sign_in.succeeded" : "sign_in.failed",
              portal: i % 2 ? "agent" : "support",
              actor_id: contacts[i % contacts.length].id,
              target_id: null,
              ip: `198.51.100.${i % 250}`,
              user_agent: "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/142.0 Safari/537.36",
              details: JSON.stringify({ method: "password" }),
            })),
          ),
        ]
      : []),
    insert("app_flags", [
      { key: "setup_complete", set_at: NOW },
      { key: "demo_seeded", set_at: NOW },
    ]),
  ].join("\n");
  return {
    sql,
    admin,
    agents,
    contacts,
    groups,
    locations,
    assetContext,
    assetIds: assets.map((a) => a.id),
    counts: { agents: agents.length, contacts: contacts.length, assets: assets.length, software: software.length },
  };
}

/** Asset number i (0-based) of the demo data: the same shape at any size. */
function assetRow(i, { groups, locations, contacts, groupAgents, retiredAssets }) {
  const type = TYPES[i % TYPES.length];
  const group = i % 5 === 0 ? null : groups[i % groups.length];
  const agentsOfGroup = group ? groupAgents(group) : [];
  return {
    id: id("ast"),
    name: `${MODELS[type]} ${String(i + 1).padStart(5, "0")}`,
    asset_tag: `AST-${String(i + 1).padStart(5, "0")}`,
    asset_type: type,
    serial_number: `SN${(1_000_000 + i * 7919).toString(36).toUpperCase()}`,
    status: retiredAssets ? STATUSES[i % STATUSES.length] : "in_use",
    impact: IMPACTS[i % 3],
    location_id: locations[i % locations.length].id,
    group_id: group?.id ?? null,
    agent_id: agentsOfGroup.length && i % 3 ? agentsOfGroup[i % agentsOfGroup.length] : null,
    used_by_id: i % 4 === 0 ? contacts[i % contacts.length].id : null,
    description: null,
    version: 1,
    created_at: NOW + i,
    updated_at: NOW + i,
  };
}

/** SQL adding assets numbered from..to-1 to a seeded database (the bench grows one from 1,000 to 100,000). */
export function moreAssetsSql(seed, from, to) {
  return insert(
    "assets",
    Array.from({ length: to - from }, (_, k) => assetRow(from + k, seed.assetContext)),
  );
}
