import { raw } from "hono/html";
import { type Child, createContext, useContext } from "hono/jsx";
import type { Auth } from "../access/auth";
import { hasPermission } from "../access/permissions";
import { settingsSectionsFor } from "./navigation";

export interface LayoutProps {
  title: string;
  auth?: Auth | undefined;
  /** Pages with inline editing load htmx (served from our origin; configured for the CSP). */
  htmx?: boolean;
  /** Pages that register or use a passkey load @simplewebauthn/browser and web/passkeys.js. */
  passkeys?: boolean;
  /** The portal of a signed-out page (sign-in), for the header. */
  portal?: "agent" | "support";
  /** More of the page's <head> (a list page's way for browsers without JavaScript). */
  head?: Child;
  children?: Child;
}

function AgentNav({ auth }: { auth: Auth }) {
  const can = (p: Parameters<typeof hasPermission>[1]) => hasPermission(auth.permissions, p);
  return (
    <nav aria-label="Main">
      <a href="/agent">Home</a>
      {can("viewAssets") && <a href="/agent/assets">Assets</a>}
      {can("viewAssets") && <a href="/agent/software">Software</a>}
      {settingsSectionsFor(auth.permissions).length > 0 && <a href="/agent/settings">Settings</a>}
    </nav>
  );
}

function SignOut({ auth }: { auth: Auth }) {
  return (
    <form method="post" action={`/${auth.portal}/logout`} class="sign-out">
      {auth.session.stage === "full" ? <a href={`/${auth.portal}/account`}>My account</a> : <span class="who">{auth.user.name}</span>}
      <button type="submit" class="link">
        Sign out
      </button>
    </form>
  );
}

/** The one page frame of both portals. No inline script or style: the CSP forbids them. */
// htmx must not inject its indicator <style> (the CSP forbids inline styles), nor eval; and the
// refusals the rows explain (400, 403, 409) swap in like successes.
const HTMX_CONFIG = JSON.stringify({
  includeIndicatorStyles: false,
  allowEval: false,
  allowScriptTags: false,
  responseHandling: [
    { code: "204", swap: false },
    { code: "[23]..", swap: true },
    { code: "40[039]", swap: true, error: false },
    { code: "[45]..", swap: false, error: true },
  ],
});

export function Layout({ title, auth, portal = auth?.portal, htmx, passkeys, head, children }: LayoutProps) {
  const portalName = portal === "support" ? "Support portal" : portal === "agent" ? "Agent portal" : null;
  // The doctype keeps browsers in standards mode (without it they lay the page out in quirks mode).
  // The title's dot is written as a character reference so the page's own markup stays ASCII:
  // workerd writes an ASCII string out as it is, but converts one with a single other character
  // character by character (a 100 KB list page: about 155 µs instead of 30, profiled).
  return (
    <>
      {raw("<!DOCTYPE html>")}
      <html lang="en">
        <head>
          <meta charset="utf-8" />
          <meta name="viewport" content="width=device-width, initial-scale=1" />
          <title>
            {title} {raw("&middot;")} EdgeDesk
          </title>
          <link rel="stylesheet" href="/styles.css" />
          <link rel="icon" href="/favicon.svg" type="image/svg+xml" />
          <script src="/app.js" defer></script>
          {htmx && <meta name="htmx-config" content={HTMX_CONFIG} />}
          {htmx && <script src="/vendor/htmx-2.0.11.min.js" defer></script>}
          {passkeys && <script src="/vendor/simplewebauthn-browser-14.0.0.umd.min.js" defer></script>}
          {passkeys && <script src="/passkeys.js" defer></script>}
          {head}
        </head>
        <body>
          <header class="topbar">
            <a class="brand" href={portal ? `/${portal}` : "/"}>
              EdgeDesk {portalName && <span class="portal-name">{portalName}</span>}
            </a>
            {/* Wide screens show the menu in the bar; narrow ones fold it into a Menu button that needs no script. */}
            {auth && (
              <div class="topbar-menu wide-only">
                {auth.portal === "agent" && auth.session.stage === "full" && <AgentNav auth={auth} />}
                <SignOut auth={auth} />
              </div>
            )}
            {auth && (
              <details class="menu narrow-only">
                <summary>Menu</summary>
                <div class="topbar-menu">
                  {auth.portal === "agent" && auth.session.stage === "full" && <AgentNav auth={auth} />}
                  <SignOut auth={auth} />
                </div>
              </details>
            )}
          </header>
          <main>{children}</main>
        </body>
      </html>
    </>
  );
}

/** A one-column card, used by sign-in, setup and error pages. */
export function Card({ title, children }: { title: string; children?: Child }) {
  return (
    <section class="card">
      <h1>{title}</h1>
      {children}
    </section>
  );
}

export function ErrorMessage({ message }: { message?: string | undefined }) {
  return message ? (
    <p class="alert error" role="alert">
      {message}
    </p>
  ) : null;
}

export function Notice({ message }: { message?: string | undefined }) {
  return message ? (
    <p class="alert success" role="status">
      {message}
    </p>
  ) : null;
}

/**
 * A form's answer when it was refused: a problem of the whole form, or (when fields have their
 * own, shown beside them) how many fields need attention.
 */
export function FormProblems({
  error,
  errors,
  fields,
}: {
  error?: string | undefined;
  errors?: Record<string, string> | undefined;
  fields?: readonly string[];
}) {
  // A problem of a field the page has no control for (a version, a list of ids) is the form's own.
  const elsewhere = fields && Object.entries(errors ?? {}).find(([key]) => !fields.includes(key));
  if (!error && elsewhere) return <ErrorMessage message={elsewhere[1]} />;
  const count = Object.keys(errors ?? {}).length;
  const summary =
    count > 1
      ? `${count} fields need attention: see the messages beside them.`
      : count === 1
        ? "A field needs attention: see the message beside it."
        : undefined;
  return <ErrorMessage message={error ?? summary} />;
}

/**
 * Each field's problem for the fields a page renders deep inside components that do not take
 * them one by one (the settings tabs): Field and the settings' NumberField read theirs from here.
 */
export const FieldErrorsContext = createContext<Readonly<Record<string, string>>>({});

/** The ids a field's control is described by: its hint and its error, where it has them. */
export function describedBy(id: string, hint: unknown, error: unknown): string | undefined {
  return [hint ? `${id}-hint` : "", error ? `${id}-error` : ""].filter(Boolean).join(" ") || undefined;
}

export function FieldError({ id, error }: { id: string; error?: string | undefined }) {
  return error ? (
    <p class="field-error" id={`${id}-error`}>
      {error}
    </p>
  ) : null;
}

export function Field(props: {
  label: string;
  name: string;
  type?: string;
  value?: string | undefined;
  autocomplete?: string;
  required?: boolean;
  hint?: string;
  inputmode?: "numeric" | "text" | "email";
  maxlength?: number;
  autofocus?: boolean;
  readonly?: boolean;
  /** This field's problem, shown beside it and announced with it. */
  error?: string | undefined;
}) {
  const id = `field-${props.name}`;
  const error = props.error ?? useContext(FieldErrorsContext)[props.name];
  return (
    <div class={error ? "field invalid" : "field"}>
      <label for={id}>{props.label}</label>
      <input
        id={id}
        name={props.name}
        type={props.type ?? "text"}
        value={props.value}
        autocomplete={props.autocomplete}
        required={props.required ?? true}
        inputmode={props.inputmode}
        maxlength={props.maxlength}
        autofocus={props.autofocus}
        readonly={props.readonly}
        aria-invalid={error ? "true" : undefined}
        aria-describedby={describedBy(id, props.hint, error)}
      />
      <FieldError id={id} error={error} />
      {props.hint && (
        <p class="hint" id={`${id}-hint`}>
          {props.hint}
        </p>
      )}
    </div>
  );
}
