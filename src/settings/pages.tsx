import type { Child } from "hono/jsx";
import type { Auth } from "../access/auth";
import { Layout } from "../web/layout";
import { type Audience, audienceTitle, SETTINGS_ROOT } from "./audiences";

export const TABS = [
  { slug: "access", label: "Portal Access" },
  { slug: "mfa", label: "Multi-Factor Authentication" },
  { slug: "password", label: "Password Requirements" },
  { slug: "sessions", label: "Session Configuration" },
] as const;
export type TabSlug = (typeof TABS)[number]["slug"];

/** The frame of Settings > Security and Compliance > {Agent|Contact} Authentication > tab. */
export function SettingsFrame(props: { auth: Auth; audience: Audience; tab: TabSlug; children?: Child }) {
  return (
    <Layout title={`${audienceTitle(props.audience)} · Settings`} auth={props.auth}>
      <section class="wide settings">
        <p class="breadcrumb">
          <a href={SETTINGS_ROOT}>Security and Compliance</a> › {audienceTitle(props.audience)}
        </p>
        <nav class="audience-switch" aria-label="Who signs in">
          {(["agents", "contacts"] as const).map((a) => (
            <a href={`${SETTINGS_ROOT}/${a}/${props.tab}`} aria-current={a === props.audience ? "page" : undefined}>
              {audienceTitle(a)}
            </a>
          ))}
        </nav>
        <nav class="tabs" aria-label="Settings">
          {TABS.map((t) => (
            <a href={`${SETTINGS_ROOT}/${props.audience}/${t.slug}`} aria-current={t.slug === props.tab ? "page" : undefined}>
              {t.label}
            </a>
          ))}
        </nav>
        <div class="panel">{props.children}</div>
      </section>
    </Layout>
  );
}

/** The Immediately / On next login question every policy change asks before it is saved. */
export function ApplyChoice(props: {
  action: string;
  fields: Record<string, string>;
  changes: string[];
  cancel: string;
  audience: Audience;
}) {
  const who = props.audience === "agents" ? "agents" : "contacts";
  return (
    <form method="post" action={props.action} class="stack confirm-apply">
      <h2>When should this apply?</h2>
      <ul class="changes">
        {props.changes.map((change) => (
          <li>{change}</li>
        ))}
      </ul>
      {Object.entries(props.fields).map(([name, value]) => (
        <input type="hidden" name={name} value={value} />
      ))}
      <div class="actions">
        <button type="submit" name="apply" value="immediately" class="primary">
          Immediately (all users will be logged out)
        </button>
        <button type="submit" name="apply" value="next_login">
          On next login
        </button>
        <a href={props.cancel} data-close-dialog>
          Cancel
        </a>
      </div>
      <p class="hint">
        Immediately signs out every {who.slice(0, -1)} at once, on their very next click. On next login lets current sessions continue; the
        policy applies as each of them signs in again.
      </p>
    </form>
  );
}

/** A page of Security and Compliance beside the audiences' tabs (the audit log, tokens, streaming): the way back, and its title. */
export function SecurityPage(props: { auth: Auth; title: string; children?: Child }) {
  return (
    <Layout title={props.title} auth={props.auth}>
      <section class="wide">
        <p class="breadcrumb">
          <a href={SETTINGS_ROOT}>Security and Compliance</a> › {props.title}
        </p>
        <h1>{props.title}</h1>
        {props.children}
      </section>
    </Layout>
  );
}

/** A secret shown this once (an API token, a signing secret): set apart, selectable whole. */
export function SecretOnce(props: { testId: string; title: string; value: string; children?: Child }) {
  return (
    <div class="secret-once" data-testid={props.testId}>
      <h2>{props.title}</h2>
      {props.children}
      <p>
        <code class="secret">{props.value}</code>
      </p>
    </div>
  );
}
