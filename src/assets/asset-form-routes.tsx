import { type Context, Hono } from "hono";
import { z } from "zod";
import type { AppEnv } from "../app-env";
import { requireSession } from "../auth/middleware";
import { findUserByEmail } from "../auth/users";
import { getDb } from "../db";
import { ASSET_STATUSES, ASSET_TYPES, IMPACTS } from "../db/schema";
import { newId } from "../lib/crypto";
import { parseForm, requiredText } from "../lib/validation";
import { requirePermission } from "../settings/guard";
import { Card, ErrorMessage, Field, Layout } from "../web/layout";
import { getRecord, loadOptions, type Options, type Row, writeVersioned } from "./inventory";
import { ASSET_KIND, humanize } from "./kinds";

const optionalText = (label: string, max: number) => z.string().trim().max(max, `${label} must be at most ${max} characters.`).optional().transform((v) => v || null);
const ref = z.union([z.literal(""), z.string().max(40).regex(/^[a-z]+_[a-z0-9]+$/, "That choice does not exist.")]).optional().transform((v) => v || null);

const assetForm = z.object({
  name: requiredText("a name", 120),
  assetTag: requiredText("an asset tag", 40).pipe(z.string().regex(/^[A-Za-z0-9._-]+$/, "Asset tags use letters, digits, dots, dashes and underscores.")),
  assetType: z.enum(ASSET_TYPES, { error: "Choose a type from the list." }),
  serialNumber: optionalText("The serial number", 80),
  status: z.enum(ASSET_STATUSES, { error: "Choose a status from the list." }),
  impact: z.enum(IMPACTS, { error: "Choose an impact: low, medium or high." }),
  location: ref,
  group: ref,
  agent: ref,
  usedBy: z.union([z.literal(""), z.email("Used by: enter the contact's email address.")]).optional().transform((v) => v || null),
  description: optionalText("The description", 2000),
  version: z.string().regex(/^\d{1,9}$/).optional().transform((v) => (v ? Number(v) : null)),
});
type AssetInput = z.output<typeof assetForm>;

/** The columns an asset form writes, after checking every reference exists. */
async function columnsOf(c: Context<AppEnv>, input: AssetInput, options: Options): Promise<{ ok: true; columns: Record<string, string | null> } | { ok: false; message: string }> {
  if (input.location && !options.locations.some((l) => l.id === input.location)) return { ok: false, message: "That location does not exist." };
  if (input.group && !options.groups.some((g) => g.id === input.group)) return { ok: false, message: "That group does not exist." };
  const agent = input.agent ? options.agents.find((a) => a.id === input.agent) : null;
  if (input.agent && !agent) return { ok: false, message: "That agent does not exist or is disabled." };
  if (agent && input.group && !agent.groupIds.includes(input.group)) return { ok: false, message: "That agent is not in the chosen Managed By Group." };
  let usedById: string | null = null;
  if (input.usedBy) {
    const contact = await findUserByEmail(getDb(c.env.DB), "contact", input.usedBy);
    if (!contact) return { ok: false, message: "Used by: no contact has this email address." };
    usedById = contact.id;
  }
  return {
    ok: true,
    columns: {
      name: input.name, asset_tag: input.assetTag, asset_type: input.assetType, serial_number: input.serialNumber, status: input.status, impact: input.impact,
      location_id: input.location, group_id: input.group, agent_id: input.agent, used_by_id: usedById, description: input.description,
    },
  };
}

function Choice(props: { name: string; label: string; value: string | null; options: { id: string; name: string }[]; none?: boolean }) {
  return (
    <div class="field">
      <label for={`field-${props.name}`}>{props.label}</label>
      <select id={`field-${props.name}`} name={props.name}>
        {props.none && <option value="">—</option>}
        {props.options.map((o) => <option value={o.id} selected={o.id === props.value}>{o.name}</option>)}
      </select>
    </div>
  );
}

function AssetFormPage(props: { c: Context<AppEnv>; title: string; action: string; options: Options; row?: Row | null; usedByEmail?: string | null; error?: string }) {
  const r = props.row;
  const e = (v: readonly string[]) => v.map((x) => ({ id: x, name: humanize(x) }));
  return (
    <Layout title={props.title} auth={props.c.var.auth}>
      <Card title={props.title}>
        <ErrorMessage message={props.error} />
        <form method="post" action={props.action} class="stack">
          {r && <input type="hidden" name="version" value={String(r.row_version_value)} />}
          <Field label="Name" name="name" value={r?.name} maxlength={120} />
          <Field label="Asset tag" name="assetTag" value={(r?.asset_tag as string) ?? undefined} maxlength={40} />
          <Choice name="assetType" label="Asset type" value={(r?.asset_type as string) ?? "laptop"} options={e(ASSET_TYPES)} />
          <Field label="Serial number" name="serialNumber" value={(r?.serial_number as string) ?? undefined} required={false} maxlength={80} />
          <Choice name="status" label="Status" value={(r?.status as string) ?? "in_stock"} options={e(ASSET_STATUSES)} />
          <Choice name="impact" label="Impact" value={r?.impact ?? "low"} options={e(IMPACTS)} />
          <Choice name="location" label="Location" value={(r?.location_id as string) ?? null} options={props.options.locations} none />
          <Choice name="group" label="Managed By Group" value={(r?.group_id as string) ?? null} options={props.options.groups} none />
          <Choice name="agent" label="Managed By Agent" value={(r?.agent_id as string) ?? null} options={props.options.agents} none />
          <Field label="Used by (contact email)" name="usedBy" type="email" value={props.usedByEmail ?? undefined} required={false} maxlength={254} />
          <div class="field">
            <label for="field-description">Description</label>
            <textarea id="field-description" name="description" maxlength={2000} rows={3}>{(r?.description as string) ?? ""}</textarea>
          </div>
          <button type="submit" class="primary">{r ? "Save asset" : "Create asset"}</button>
        </form>
      </Card>
    </Layout>
  );
}

/** Create, edit and delete pages of assets (mounted before the list's /:id route). */
export const assetFormRoutes = new Hono<AppEnv>();
// Guards per route, not use("*"): this app shares its mount point with the list, which viewers may see.
const manage = [requireSession("agent"), requirePermission("manageAssets")] as const;

assetFormRoutes.get("/new", ...manage, async (c) => c.html(<AssetFormPage c={c} title="New asset" action="/agent/assets/new" options={await loadOptions(c.env.DB)} />));
assetFormRoutes.post("/new", ...manage, async (c) => {
  const options = await loadOptions(c.env.DB);
  const form = await parseForm(c, assetForm);
  const fail = (error: string, status: 400 | 409 = 400) => c.html(<AssetFormPage c={c} title="New asset" action="/agent/assets/new" options={options} error={error} />, status);
  if (!form.ok) return fail(form.message);
  const checked = await columnsOf(c, form.data, options);
  if (!checked.ok) return fail(checked.message);
  const id = newId("ast");
  const now = c.var.clock.now();
  const cols = Object.entries(checked.columns);
  const result = await c.env.DB.batch([
    c.env.DB.prepare(`INSERT OR IGNORE INTO assets (id, ${cols.map(([k]) => k).join(", ")}, version, created_at, updated_at) VALUES (?, ${cols.map(() => "?").join(", ")}, 1, ?, ?)`).bind(id, ...cols.map(([, v]) => v), now, now),
    c.env.DB.prepare("INSERT INTO inventory_history (record_type, record_id, field, old_value, new_value, version_after, actor_id, at) SELECT 'asset', ?, 'created', NULL, ?, 1, ?, ? WHERE changes() = 1").bind(id, form.data.name, c.var.auth.user.id, now),
  ]);
  if (result[0]!.meta.changes !== 1) return fail("An asset with this tag already exists.", 409);
  return c.redirect(`/agent/assets/${id}`, 303);
});

async function editPage(c: Context<AppEnv>, id: string, error?: string, status: 200 | 400 | 409 = 200) {
  const [row, options] = await Promise.all([getRecord(c.env.DB, ASSET_KIND, id), loadOptions(c.env.DB)]);
  if (!row) return c.notFound();
  const usedBy = row.used_by_id ? await c.env.DB.prepare("SELECT email FROM users WHERE id = ?").bind(row.used_by_id).first<{ email: string }>() : null;
  return c.html(<AssetFormPage c={c} title={`Edit ${row.name}`} action={`/agent/assets/${id}/edit`} options={options} row={row} usedByEmail={usedBy?.email} error={error} />, status);
}

assetFormRoutes.get("/:id/edit", ...manage, (c) => editPage(c, c.req.param("id")));
assetFormRoutes.post("/:id/edit", ...manage, async (c) => {
  const id = c.req.param("id");
  const [row, options] = await Promise.all([getRecord(c.env.DB, ASSET_KIND, id), loadOptions(c.env.DB)]);
  if (!row) return c.notFound();
  const form = await parseForm(c, assetForm);
  if (!form.ok) return editPage(c, id, form.message, 400);
  if (form.data.version === null) return editPage(c, id, "The asset's version is missing: reload the page.", 400);
  const checked = await columnsOf(c, form.data, options);
  if (!checked.ok) return editPage(c, id, checked.message, 400);
  const clash = await c.env.DB.prepare("SELECT id FROM assets WHERE asset_tag = ? AND id != ?").bind(form.data.assetTag, id).first();
  if (clash) return editPage(c, id, "Another asset already has this tag.", 400);
  const changed = Object.fromEntries(Object.entries(checked.columns).filter(([k, v]) => (row[k] ?? null) !== v).map(([k, v]) => [k.replace(/_id$/, "").replace(/_([a-z])/g, (_, ch: string) => ch.toUpperCase()), { column: k, value: v }]));
  if (Object.keys(changed).length && !(await writeVersioned(c.env.DB, ASSET_KIND, id, form.data.version, changed, c.var.auth.user.id, c.var.clock.now()))) {
    return editPage(c, id, "Changed by someone else while you were editing: the form now shows the current values.", 409);
  }
  return c.redirect(`/agent/assets/${id}`, 303);
});

assetFormRoutes.get("/:id/delete", ...manage, async (c) => {
  const row = await getRecord(c.env.DB, ASSET_KIND, c.req.param("id"));
  if (!row) return c.notFound();
  return c.html(
    <Layout title={`Delete ${row.name}?`} auth={c.var.auth}>
      <Card title={`Delete ${row.name}?`}>
        <p>The asset and its history are removed for good.</p>
        <form method="post" action={`/agent/assets/${row.id}/delete`} class="actions">
          <input type="hidden" name="version" value={String(row.row_version_value)} />
          <button type="submit" class="danger">Delete asset</button>
          <a href={`/agent/assets/${row.id}`}>Cancel</a>
        </form>
      </Card>
    </Layout>,
  );
});
assetFormRoutes.post("/:id/delete", ...manage, async (c) => {
  const id = c.req.param("id");
  const form = await parseForm(c, z.object({ version: z.string().regex(/^\d{1,9}$/, "The asset's version is missing: reload the page.").transform(Number) }));
  if (!form.ok) return c.text(form.message, 400);
  const [deleted] = await c.env.DB.batch([
    c.env.DB.prepare("DELETE FROM assets WHERE id = ? AND version = ?").bind(id, form.data.version),
    c.env.DB.prepare("DELETE FROM inventory_history WHERE record_type = 'asset' AND record_id = ? AND changes() = 1").bind(id),
  ]);
  if (deleted!.meta.changes !== 1) return (await getRecord(c.env.DB, ASSET_KIND, id)) ? editPage(c, id, "Changed by someone else: review the current values before deleting.", 409) : c.notFound();
  return c.redirect("/agent/assets", 303);
});
