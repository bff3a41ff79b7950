import { type Context, Hono } from "hono";
import type { Child } from "hono/jsx";
import { z } from "zod";
import type { AppEnv } from "../app-env";
import { auditOriginOf } from "../request/audit";
import type { AuditEntry } from "../audit/events";
import { type Read, readsForm } from "../request/validation";
import type { FieldErrors, FormValues } from "../lib/fields";
import { FieldErrorsContext, FormProblems, Notice } from "../web/layout";
import { AUDIENCES, type Audience, parseAudience, SETTINGS_ROOT } from "./audiences";
import { ApplyChoice, SettingsFrame } from "./pages";
import { ownValue } from "../lib/lookup";
import { portalPolicy, portalWriter } from "../request/portal";
import { changePortalPolicy, freshPolicy } from "../portal/state-cache";
import { requireRecentAuth } from "../sign-in/reauth";
import type { PolicyTab } from "./policy-tab";

const applySchema = z.object({ apply: z.enum(["immediately", "next_login"], { error: "Choose when the change applies." }) });

const SAVED: Record<string, string> = {
  immediately: "Saved. Everyone was signed out and signs in under the new policy.",
  next_login: "Saved. The new policy applies as people next sign in.",
  unchanged: "Nothing changed.",
};

/**
 * Routes for a policy tab at /:audience/<slug>: Save validates and asks when the change applies
 * (nothing is written yet); apply writes it, and "Immediately" moves the portal's session
 * generation on in the same write, so every earlier session ends on its next request.
 */
export function policyTabRoutes<T>(tab: PolicyTab<T>) {
  const app = new Hono<AppEnv>();
  type Ctx = Context<AppEnv>;
  const path = (audience: Audience) => `${SETTINGS_ROOT}/${audience}/${tab.slug}`;

  function page(
    c: Ctx,
    audience: Audience,
    value: T,
    extra: { error?: string; errors?: FieldErrors; notice?: string; confirm?: Child } = {},
    status: 200 | 400 = 200,
  ) {
    const portal = AUDIENCES[audience];
    return c.html(
      <SettingsFrame auth={c.var.auth} audience={audience} tab={tab.slug}>
        <h1>{tab.title}</h1>
        <FormProblems error={extra.error} errors={extra.errors} />
        <Notice message={extra.notice} />
        <FieldErrorsContext.Provider value={extra.errors ?? {}}>
          {extra.confirm ?? <tab.Form action={path(audience)} value={value} portal={portal} env={c.env} />}
        </FieldErrorsContext.Provider>
      </SettingsFrame>,
      status,
    );
  }

  /**
   * A refused form's values over the stored ones: each field the schema accepts on its own, as
   * typed; the others as stored, with their problem beside them.
   */
  function typedOver(before: T, values: FormValues): T {
    const shape = (tab.schema as unknown as { shape?: Record<string, z.ZodType> }).shape;
    if (!shape) return before;
    const typed: Record<string, unknown> = { ...(before as Record<string, unknown>) };
    for (const [key, field] of Object.entries(shape)) {
      const parsed = field.safeParse(values[key]);
      if (parsed.success) typed[key] = parsed.data;
    }
    return typed as T;
  }

  async function current(c: Ctx, audience: Audience): Promise<T> {
    return tab.read(await portalPolicy(c, AUDIENCES[audience]));
  }

  /** The form as its schema read it, and then as the tab checks it against the portal. */
  function checked<U extends T>(c: Ctx, audience: Audience, form: Read<U>): Read<U> | { ok: false; message: string } {
    if (!form.ok) return form;
    const problem = tab.check?.(form.data, c.env, AUDIENCES[audience]);
    return problem ? ({ ok: false, message: problem } as const) : form;
  }

  app.get(`/:audience/${tab.slug}`, async (c) => {
    const audience = parseAudience(c.req.param("audience"));
    if (!audience) return c.notFound();
    return page(c, audience, await current(c, audience), { notice: ownValue(SAVED, c.req.query("saved")) });
  });

  const applyForm = z.intersection(tab.schema, applySchema);
  // SECURITY.md 39: who may sign in, and how, changes only within 5 minutes of confirming it's
  // you; Save asks too, so the admin learns it before the confirmation, not after it.
  app.post(`/:audience/${tab.slug}`, requireRecentAuth(), readsForm(tab.schema), async (c) => {
    const audience = parseAudience(c.req.param("audience"));
    if (!audience) return c.notFound();
    const before = await current(c, audience);
    const form = checked(c, audience, c.req.valid("form") as Read<T>);
    if (!form.ok) {
      const fields = "errors" in form && Object.keys(form.errors).length > 0;
      return page(
        c,
        audience,
        fields ? typedOver(before, form.values) : before,
        fields ? { errors: form.errors } : { error: form.message },
        400,
      );
    }
    const changes = tab.describe(before, form.data, AUDIENCES[audience]);
    if (changes.length === 0) return c.redirect(`${path(audience)}?saved=unchanged`, 303);
    return page(c, audience, before, {
      confirm: (
        <ApplyChoice
          action={`${path(audience)}/apply`}
          fields={tab.fields(form.data)}
          changes={changes}
          cancel={path(audience)}
          audience={audience}
        />
      ),
    });
  });

  app.post(`/:audience/${tab.slug}/apply`, requireRecentAuth(), readsForm(applyForm), async (c) => {
    const audience = parseAudience(c.req.param("audience"));
    if (!audience) return c.notFound();
    const before = await current(c, audience);
    const form = checked(c, audience, c.req.valid("form") as Read<T & z.output<typeof applySchema>>);
    if (!form.ok) return page(c, audience, before, { error: form.message }, 400);
    const { apply, ...value } = form.data;
    const portal = AUDIENCES[audience];
    const changes = tab.describe(before, value as T, portal);
    const context = { before: await freshPolicy(c.env, portal), now: c.var.clock.now() };
    const who = { portal, actorId: c.var.auth.user.id, targetId: null };
    const entries: AuditEntry[] = [{ ...who, event: "settings.changed", details: { audience, tab: tab.slug, changes, apply } }];
    if (apply === "immediately") entries.push({ ...who, event: "policy.applied_immediately", details: { audience, tab: tab.slug } });
    // Stored with its audit rows in the portal's object; answers only once no isolate can still
    // hold the policy from before (src/portal/state-cache.ts).
    await changePortalPolicy(portalWriter(c), portal, tab.write(value as T, context), apply === "immediately", {
      entries,
      origin: auditOriginOf(c),
    });
    // The admin's own agent session ends too when the agents' policy applies immediately.
    if (apply === "immediately" && portal === c.var.auth.portal) return c.redirect("/agent/login?policy_applied=1", 303);
    return c.redirect(`${path(audience)}?saved=${apply}`, 303);
  });

  return app;
}
