import { type Context, Hono } from "hono";
import { z } from "zod";
import type { AppEnv } from "../app-env";
import { requireSession } from "../auth/middleware";
import { findUserByEmail, findUserById } from "../auth/users";
import { getDb } from "../db";
import { parseForm, reads } from "../lib/validation";
import { requirePermission } from "../access/guard";
import { Card, ErrorMessage, Layout } from "../web/layout";
import { createRecord, deleteRecord, editRecord } from "./inventory";
import { agentFitsGroup, getRecord, loadOptions, type Options, type Row } from "./listing";
import { humanize, type InventoryKind } from "./kinds";
import { controlCharacterProblem, type FormField } from "./fields";

function schemaOf(fields: FormField[]) {
  const shape: Record<string, z.ZodType> = { rowVersion: z.string().regex(/^\d{1,9}$/).optional() };
  for (const f of fields) {
    const lower = f.label.toLowerCase();
    if (f.type === "choice") shape[f.key] = z.enum(f.values as [string, ...string[]], { error: `${f.label}: choose one from the list.` });
    else if (f.type === "ref") shape[f.key] = z.union([z.literal(""), z.string().max(40).regex(/^[a-z]+_[a-z0-9]+$/, `${f.label}: that choice does not exist.`)]).optional();
    else if (f.type === "contact") shape[f.key] = z.union([z.literal(""), z.email("Used by: enter the contact's email address.")]).optional();
    else {
      let text = z
        .string({ error: `Enter ${lower}.` })
        .trim()
        .max(f.max ?? 200, `${f.label} must be at most ${f.max} characters.`)
        .check((ctx) => {
          const problem = controlCharacterProblem(f, ctx.value);
          if (problem) ctx.issues.push({ code: "custom", message: problem, input: ctx.value });
        });
      if (f.required) text = text.min(1, `Enter ${f.key === "name" ? "a name" : `the ${lower}`}.`);
      if (f.pattern) text = text.regex(f.pattern[0], f.pattern[1]);
      shape[f.key] = f.required ? text : text.optional();
    }
  }
  return z.object(shape);
}

/** The columns a form writes, with every reference checked; or what is wrong. */
async function columnsOf(c: Context<AppEnv>, fields: FormField[], input: Record<string, unknown>, options: Options) {
  const columns: Record<string, { key: string; value: string | null }> = {};
  for (const f of fields) {
    let value = (input[f.key] as string | undefined) || null;
    if (f.type === "ref" && value && !options[f.ref!].some((o) => o.id === value)) return { ok: false as const, message: `${f.label}: that choice does not exist.` };
    if (f.type === "contact" && value) {
      const contact = await findUserByEmail(getDb(c.env.DB), "contact", value);
      if (!contact) return { ok: false as const, message: "Used by: no contact has this email address." };
      value = contact.id;
    }
    columns[f.column] = { key: f.key, value };
  }
  const agent = columns.agent_id?.value ? options.agents.find((a) => a.id === columns.agent_id!.value) : null;
  if (agent && !agentFitsGroup(agent, columns.group_id?.value)) return { ok: false as const, message: "That agent is not in the chosen Managed By Group." };
  return { ok: true as const, columns };
}

const deleteForm = z.object({ rowVersion: z.string({ error: "The version is missing: reload the page." }).regex(/^\d{1,9}$/, "The version is missing: reload the page.").transform(Number) });

function valuesOf(columns: Record<string, { value: string | null }>): Record<string, string | null> {
  return Object.fromEntries(Object.entries(columns).map(([column, { value }]) => [column, value]));
}

function RecordForm(props: { kind: InventoryKind; fields: FormField[]; c: Context<AppEnv>; title: string; action: string; options: Options; row?: Row | null; contactEmail?: string | null; error?: string }) {
  const r = props.row;
  return (
    <Layout title={props.title} auth={props.c.var.auth}>
      <Card title={props.title}>
        <ErrorMessage message={props.error} />
        <form method="post" action={props.action} class="stack">
          {r && <input type="hidden" name="rowVersion" value={String(r.row_version_value)} />}
          {props.fields.map((f) => {
            const id = `field-${f.key}`;
            const current = f.type === "contact" ? props.contactEmail ?? "" : ((r?.[f.column] as string | null) ?? "");
            if (f.type === "choice" || f.type === "ref") {
              const choices = f.type === "choice" ? f.values!.map((v) => ({ id: v, name: humanize(v) })) : props.options[f.ref!];
              return (
                <div class="field">
                  <label for={id}>{f.label}</label>
                  <select id={id} name={f.key}>
                    {f.type === "ref" && <option value="">—</option>}
                    {choices.map((o) => <option value={o.id} selected={o.id === current}>{o.name}</option>)}
                  </select>
                </div>
              );
            }
            return (
              <div class="field">
                <label for={id}>{f.label}</label>
                {f.type === "textarea" ? <textarea id={id} name={f.key} maxlength={f.max} rows={3}>{current}</textarea> : <input id={id} name={f.key} type={f.type === "contact" ? "email" : "text"} value={current} maxlength={f.max ?? 254} required={f.required} />}
              </div>
            );
          })}
          <button type="submit" class="primary">{r ? "Save" : `Create ${props.kind.noun}`}</button>
        </form>
      </Card>
    </Layout>
  );
}

/** Create, edit and delete pages of one kind (mounted before the list's /:id route). */
export function recordFormRoutes(kind: InventoryKind, fields: FormField[]) {
  const app = new Hono<AppEnv>();
  // Guards per route, not use("*"): this app shares its mount point with the list, which viewers may see.
  const manage = [requireSession("agent"), requirePermission("manageAssets")] as const;
  const schema = schemaOf(fields);
  const hasContact = fields.some((f) => f.type === "contact");

  const render = async (c: Context<AppEnv>, id: string | null, error?: string, status: 200 | 400 | 404 | 409 = 200) => {
    const [row, options] = await Promise.all([id ? getRecord(c.env.DB, kind, id) : null, loadOptions(c.env.DB)]);
    if (id && !row) return c.notFound();
    const contact = hasContact && row?.used_by_id ? await findUserById(getDb(c.env.DB), String(row.used_by_id)) : null;
    const title = row ? `Edit ${row.name}` : `New ${kind.noun}`;
    return c.html(<RecordForm kind={kind} fields={fields} c={c} title={title} action={row ? `${kind.path}/${row.id}/edit` : `${kind.path}/new`} options={options} row={row} contactEmail={contact?.email} error={error} />, status);
  };

  app.get("/new", ...manage, (c) => render(c, null));
  app.post("/new", ...manage, reads(schema), async (c) => {
    const form = await parseForm(c, schema);
    if (!form.ok) return render(c, null, form.message, 400);
    const checked = await columnsOf(c, fields, form.data, await loadOptions(c.env.DB));
    if (!checked.ok) return render(c, null, checked.message, 400);
    const created = await createRecord(c.env.DB, kind, valuesOf(checked.columns), c.var.auth.user.id, c.var.clock.now());
    if (!created.ok) return render(c, null, created.message, created.status);
    return c.redirect(`${kind.path}/${created.id}`, 303);
  });

  app.get("/:id/edit", ...manage, (c) => render(c, c.req.param("id")));
  app.post("/:id/edit", ...manage, reads(schema), async (c) => {
    const id = c.req.param("id");
    const row = await getRecord(c.env.DB, kind, id);
    if (!row) return c.notFound();
    const form = await parseForm(c, schema);
    if (!form.ok) return render(c, id, form.message, 400);
    if (!form.data.rowVersion) return render(c, id, `The ${kind.noun}'s version is missing: reload the page.`, 400);
    const checked = await columnsOf(c, fields, form.data, await loadOptions(c.env.DB));
    if (!checked.ok) return render(c, id, checked.message, 400);
    const changed = Object.fromEntries(Object.entries(checked.columns).filter(([col, v]) => (row[col] ?? null) !== v.value).map(([col, v]) => [v.key, { column: col, value: v.value }]));
    const edited = await editRecord(c.env.DB, kind, id, Number(form.data.rowVersion), changed, c.var.auth.user.id, c.var.clock.now());
    if (!edited.ok) return render(c, id, edited.message, edited.status);
    return c.redirect(`${kind.path}/${id}`, 303);
  });

  app.get("/:id/delete", ...manage, async (c) => {
    const row = await getRecord(c.env.DB, kind, c.req.param("id"));
    if (!row) return c.notFound();
    return c.html(
      <Layout title={`Delete ${row.name}?`} auth={c.var.auth}>
        <Card title={`Delete ${row.name}?`}>
          <p>The {kind.noun} and its history are removed for good.</p>
          <form method="post" action={`${kind.path}/${row.id}/delete`} class="actions">
            <input type="hidden" name="rowVersion" value={String(row.row_version_value)} />
            <button type="submit" class="danger">Delete</button>
            <a href={`${kind.path}/${row.id}`}>Cancel</a>
          </form>
        </Card>
      </Layout>,
    );
  });
  app.post("/:id/delete", ...manage, reads(deleteForm), async (c) => {
    const id = c.req.param("id");
    const form = await parseForm(c, deleteForm);
    if (!form.ok) return c.text(form.message, 400);
    const deleted = await deleteRecord(c.env.DB, kind, id, form.data.rowVersion);
    if (!deleted.ok) return deleted.status === 404 ? c.notFound() : render(c, id, deleted.message, deleted.status);
    return c.redirect(kind.path, 303);
  });
  return app;
}
