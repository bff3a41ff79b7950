import { type Context, Hono } from "hono";
import { z } from "zod";
import type { AppEnv } from "../app-env";
import { requireSession } from "../request/require-session";
import { findUserByEmail, findUserById } from "../auth/users";
import { getDb } from "../db";
import { type Read, readsForm } from "../request/validation";
import type { FieldErrors } from "../lib/fields";
import { requirePermission } from "../request/guard";
import { Card, FieldError, FormProblems, Layout } from "../web/layout";
import { createRecord, deleteRecord, DUPLICATE_TAG, editRecord } from "./inventory";
import { getRecord, loadOptions, type Options, type Row, settleAssignment } from "./listing";
import { humanize, type InventoryKind } from "./kinds";
import { controlCharacterProblem, type FormField } from "./fields";

function schemaOf(fields: FormField[]) {
  const shape: Record<string, z.ZodType> = {
    rowVersion: z
      .string()
      .regex(/^\d{1,9}$/)
      .optional(),
  };
  for (const f of fields) {
    const lower = f.label.toLowerCase();
    if (f.type === "choice") shape[f.key] = z.enum(f.values as [string, ...string[]], { error: `${f.label}: choose one from the list.` });
    else if (f.type === "ref")
      shape[f.key] = z
        .union([
          z.literal(""),
          z
            .string()
            .max(40)
            .regex(/^[a-z]+_[a-z0-9]+$/, `${f.label}: that choice does not exist.`),
        ])
        .optional();
    else if (f.type === "contact")
      shape[f.key] = z.union([z.literal(""), z.email("Used by: enter the contact's email address.")]).optional();
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

type Columns = Record<string, { key: string; value: string | null }>;
/** A form's check: the columns it writes (and whether its group change cleared the agent), or every field's problem. */
type Checked = { ok: true; columns: Columns; clearedAgent: boolean } | { ok: false; errors: FieldErrors };

/**
 * The columns a form writes, with every reference checked, and the group and agent settled by
 * the one rule (settleAssignment) against the record as stored; or each field's problem.
 */
async function columnsOf(
  c: Context<AppEnv>,
  fields: FormField[],
  input: Record<string, unknown>,
  options: Options,
  row: Row | null,
  typeErrors: FieldErrors = {},
): Promise<Checked> {
  const columns: Columns = {};
  const errors: FieldErrors = { ...typeErrors };
  for (const f of fields) {
    if (errors[f.key]) continue;
    let value = (typeof input[f.key] === "string" ? (input[f.key] as string).trim() : "") || null;
    // The record's own value stays valid when it is no longer offered (a disabled agent): keeping it is no choice.
    if (f.type === "ref" && value && value !== (row?.[f.column] ?? null) && !options[f.ref!].some((o) => o.id === value))
      errors[f.key] = `${f.label}: that choice does not exist.`;
    if (f.type === "contact" && value) {
      const contact = await findUserByEmail(getDb(c.env.DB), "contact", value);
      if (!contact) errors[f.key] = "Used by: no contact has this email address.";
      value = contact?.id ?? null;
    }
    columns[f.column] = { key: f.key, value };
  }
  if (!("group_id" in columns) || !("agent_id" in columns) || errors.group || errors.agent)
    return Object.keys(errors).length ? { ok: false, errors } : { ok: true, columns, clearedAgent: false };
  const current = { group: (row?.group_id as string | null) ?? null, agent: (row?.agent_id as string | null) ?? null };
  const settled = settleAssignment(options, current, { group: columns.group_id!.value, agent: columns.agent_id!.value });
  if (!settled.ok) errors.agent = settled.message;
  if (Object.keys(errors).length || !settled.ok) return { ok: false, errors };
  columns.agent_id!.value = settled.agent;
  return { ok: true, columns, clearedAgent: settled.cleared };
}

const deleteForm = z.object({
  rowVersion: z
    .string({ error: "The version is missing: reload the page." })
    .regex(/^\d{1,9}$/, "The version is missing: reload the page.")
    .transform(Number),
});

function valuesOf(columns: Record<string, { value: string | null }>): Record<string, string | null> {
  return Object.fromEntries(Object.entries(columns).map(([column, { value }]) => [column, value]));
}

/** What a form page shows besides the record: each field's problem, and what was typed (kept over the record's values). */
interface FormState {
  errors?: FieldErrors;
  typed?: Record<string, string>;
  /** A problem of the whole form (a conflict, a duplicate tag), not of one field. */
  error?: string | undefined;
  /** The version the typed values were typed over. */
  typedVersion?: string | undefined;
}

function RecordForm(
  props: {
    kind: InventoryKind;
    fields: FormField[];
    c: Context<AppEnv>;
    title: string;
    action: string;
    options: Options;
    row?: Row | null;
    contactEmail?: string | null;
  } & FormState,
) {
  const r = props.row;
  const errors = props.errors ?? {};
  return (
    <Layout title={props.title} auth={props.c.var.auth}>
      <Card title={props.title}>
        <FormProblems error={props.error} errors={errors} />
        <form method="post" action={props.action} class="stack" novalidate>
          {/* What was typed is shown with the version it was typed over, so a save after a refusal still meets a change made meanwhile (409). */}
          {r && <input type="hidden" name="rowVersion" value={props.typedVersion ?? String(r.row_version_value)} />}
          {props.fields.map((f) => {
            const id = `field-${f.key}`;
            const stored = f.type === "contact" ? (props.contactEmail ?? "") : ((r?.[f.column] as string | null) ?? "");
            const current = props.typed && f.key in props.typed ? props.typed[f.key]! : stored;
            const error = errors[f.key];
            const errorId = error ? `${id}-error` : undefined;
            const message = <FieldError id={id} error={error} />;
            if (f.type === "choice" || f.type === "ref") {
              const offered: { id: string; name: string }[] =
                f.type === "choice" ? f.values!.map((v) => ({ id: v, name: humanize(v) })) : props.options[f.ref!];
              // A stored agent no longer offered (disabled) is still shown chosen, so saving other fields keeps them.
              const storedAgent =
                f.key === "agent" && r?.agent_id && !offered.some((o) => o.id === r.agent_id)
                  ? { id: String(r.agent_id), name: `${String(r.agent_name ?? r.agent_id)} (disabled)` }
                  : null;
              const choices = storedAgent ? [...offered, storedAgent] : offered;
              return (
                <div class={error ? "field invalid" : "field"}>
                  <label for={id}>{f.label}</label>
                  <select id={id} name={f.key} aria-invalid={error ? "true" : undefined} aria-describedby={errorId}>
                    {f.type === "ref" && <option value="">—</option>}
                    {choices.map((o) => (
                      <option value={o.id} selected={o.id === current}>
                        {o.name}
                      </option>
                    ))}
                  </select>
                  {message}
                </div>
              );
            }
            const common = { id, name: f.key, "aria-invalid": error ? "true" : undefined, "aria-describedby": errorId };
            return (
              <div class={error ? "field invalid" : "field"}>
                <label for={id}>
                  {f.label}
                  {f.required ? (
                    <span class="required" aria-hidden="true">
                      {" "}
                      *
                    </span>
                  ) : null}
                </label>
                {f.type === "textarea" ? (
                  <textarea {...common} maxlength={f.max} rows={3}>
                    {current}
                  </textarea>
                ) : (
                  <input
                    {...common}
                    type={f.type === "contact" ? "email" : "text"}
                    value={current}
                    maxlength={f.max ?? 254}
                    required={f.required}
                  />
                )}
                {message}
              </div>
            );
          })}
          <button type="submit" class="primary">
            {r ? "Save" : `Create ${props.kind.noun}`}
          </button>
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

  const render = async (c: Context<AppEnv>, id: string | null, state: FormState = {}, status: 200 | 400 | 404 | 409 = 200) => {
    const [row, options] = await Promise.all([id ? getRecord(c.env.DB, kind, id) : null, loadOptions(c.env.DB)]);
    if (id && !row) return c.notFound();
    const contact = hasContact && row?.used_by_id ? await findUserById(getDb(c.env.DB), String(row.used_by_id)) : null;
    const title = row ? `Edit ${row.name}` : `New ${kind.noun}`;
    return c.html(
      <RecordForm
        kind={kind}
        fields={fields}
        c={c}
        title={title}
        action={row ? `${kind.path}/${row.id}/edit` : `${kind.path}/new`}
        options={options}
        row={row}
        contactEmail={contact?.email}
        {...state}
      />,
      status,
    );
  };

  /** The form read and checked whole: every field's problem at once, with what was typed kept. */
  async function check(c: Context<AppEnv>, form: Read<z.output<typeof schema>>, row: Row | null) {
    const input: Record<string, unknown> = form.ok ? form.data : form.values;
    if (!form.ok && Object.keys(form.errors).length === 0) return { ok: false as const, state: { error: form.message } };
    const checked = await columnsOf(c, fields, input, await loadOptions(c.env.DB), row, form.ok ? {} : form.errors);
    const typed = Object.fromEntries(fields.map((f) => [f.key, typeof input[f.key] === "string" ? (input[f.key] as string) : ""]));
    const typedVersion = typeof input.rowVersion === "string" && /^\d{1,9}$/.test(input.rowVersion) ? input.rowVersion : undefined;
    if (!checked.ok) {
      // A problem with no field of its own on the page (the version) is the form's.
      const elsewhere = Object.entries(checked.errors).find(([key]) => !fields.some((f) => f.key === key));
      return { ok: false as const, state: { errors: checked.errors, typed, typedVersion, error: elsewhere?.[1] } };
    }
    return {
      ok: true as const,
      checked,
      typed,
      typedVersion,
      rowVersion: form.ok ? (form.data.rowVersion as string | undefined) : undefined,
    };
  }

  app.get("/new", ...manage, (c) => render(c, null));
  app.post("/new", ...manage, readsForm(schema), async (c) => {
    const form = await check(c, c.req.valid("form"), null);
    if (!form.ok) return render(c, null, form.state, 400);
    const created = await createRecord(c.env.DB, kind, valuesOf(form.checked.columns), c.var.auth.user.id, c.var.clock.now());
    if (!created.ok) return render(c, null, { error: created.message, typed: form.typed }, created.status);
    return c.redirect(`${kind.path}/${created.id}`, 303);
  });

  app.get("/:id/edit", ...manage, (c) => render(c, c.req.param("id")));
  app.post("/:id/edit", ...manage, readsForm(schema), async (c) => {
    const id = c.req.param("id");
    const row = await getRecord(c.env.DB, kind, id);
    if (!row) return c.notFound();
    const form = await check(c, c.req.valid("form"), row);
    if (!form.ok) return render(c, id, form.state, 400);
    if (!form.rowVersion) return render(c, id, { error: `The ${kind.noun}'s version is missing: reload the page.` }, 400);
    const changed = Object.fromEntries(
      Object.entries(form.checked.columns)
        .filter(([col, v]) => (row[col] ?? null) !== v.value)
        .map(([col, v]) => [v.key, { column: col, value: v.value }]),
    );
    const edited = await editRecord(c.env.DB, kind, id, Number(form.rowVersion), changed, c.var.auth.user.id, c.var.clock.now());
    // A conflict shows the record as it now is; a duplicate tag keeps what was typed.
    if (!edited.ok)
      return render(
        c,
        id,
        edited.status === 409 && edited.message !== DUPLICATE_TAG
          ? { error: edited.message }
          : { error: edited.message, typed: form.typed, typedVersion: form.typedVersion },
        edited.status,
      );
    return c.redirect(`${kind.path}/${id}${form.checked.clearedAgent ? "?saved=agent-cleared" : ""}`, 303);
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
            <button type="submit" class="danger">
              Delete
            </button>
            <a href={`${kind.path}/${row.id}`}>Cancel</a>
          </form>
        </Card>
      </Layout>,
    );
  });
  app.post("/:id/delete", ...manage, readsForm(deleteForm), async (c) => {
    const id = c.req.param("id");
    const form = c.req.valid("form");
    if (!form.ok) return c.text(form.message, 400);
    const deleted = await deleteRecord(c.env.DB, kind, id, form.data.rowVersion);
    if (!deleted.ok) return deleted.status === 404 ? c.notFound() : render(c, id, { error: deleted.message }, deleted.status);
    return c.redirect(kind.path, 303);
  });
  return app;
}
