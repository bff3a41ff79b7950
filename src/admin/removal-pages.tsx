// The "Remove" panel on a person's admin page, and the removal page itself.
import type { Auth } from "../access/auth";
import type { ManagedRecords } from "../lifecycle/removal";
import { ErrorMessage, Field, Notice } from "../web/layout";
import { AdminFrame } from "./pages";

/** On a person's page: a link to remove them, or why this admin cannot yet. */
export function RemovalPanel(props: { person: { id: string; name: string }; blocked?: string | undefined }) {
  return (
    <section class="removal" data-testid="removal-panel">
      <h2>Remove</h2>
      {props.blocked ? (
        <p class="hint">{props.blocked}</p>
      ) : (
        <>
          <p class="hint">
            Removing deletes their account and sign-in data for good; the audit log and asset history keep their records under a pseudonym.
          </p>
          <div class="actions">
            <a class="button danger" href={`/agent/admin/people/${props.person.id}/remove`}>
              Remove {props.person.name}…
            </a>
          </div>
        </>
      )}
    </section>
  );
}

export interface RemovalPageProps {
  auth: Auth;
  person: { id: string; name: string; email: string; kind: "agent" | "contact" };
  back: string;
  pseudonym: string;
  /** For an agent: the open records they manage (removal waits until none are left). */
  managed: ManagedRecords | null;
  usedAssets: number;
  /** The agents the managed records can go to; null when this admin may not change assets. */
  reassignTo: { id: string; name: string }[] | null;
  /** Why this person cannot be removed at all (oneself, an active agent): shown instead of the form. */
  refusal?: string | undefined;
  error?: string | undefined;
  notice?: string | undefined;
}

function ManagedList(props: { person: RemovalPageProps["person"]; managed: ManagedRecords; reassignTo: RemovalPageProps["reassignTo"] }) {
  const { managed, person } = props;
  const more = managed.assets + managed.software - managed.shown.length;
  return (
    <section data-testid="managed-records">
      <h2>Records {person.name} still manages</h2>
      <p>
        {person.name} manages {managed.assets} {managed.assets === 1 ? "asset" : "assets"} and {managed.software} software{" "}
        {managed.software === 1 ? "record" : "records"} that are not retired. Reassign them before removing {person.name}: nobody may be
        left managing records as a removed person.
      </p>
      <div class="table-scroll" tabindex={0}>
        <table data-testid="managed-table">
          <thead>
            <tr>
              <th scope="col">Kind</th>
              <th scope="col">Name</th>
              <th scope="col">Asset tag or version</th>
              <th scope="col">Managed By Group</th>
            </tr>
          </thead>
          <tbody>
            {managed.shown.map((r) => (
              <tr data-testid="managed-record">
                <td>{r.kind === "asset" ? "Asset" : "Software"}</td>
                <td>
                  <a href={`/agent/${r.kind === "asset" ? "assets" : "software"}/${r.id}`}>{r.name}</a>
                </td>
                <td>{r.detail ?? "—"}</td>
                <td>{r.groupName ?? "—"}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {more > 0 && (
        <p class="hint">
          …and {more} more, all in <a href={`/agent/assets?agent=${person.id}`}>the asset list</a> and{" "}
          <a href={`/agent/software?agent=${person.id}`}>the software list</a> filtered by {person.name}.
        </p>
      )}
      {props.reassignTo ? (
        <form method="post" action={`/agent/admin/people/${person.id}/reassign`} class="actions">
          <div class="field">
            <label for="reassign-agent">Reassign all of them to</label>
            <select id="reassign-agent" name="agentId" aria-describedby="reassign-agent-hint">
              <option value="none">No agent (unassigned)</option>
              {props.reassignTo.map((a) => (
                <option value={a.id}>{a.name}</option>
              ))}
            </select>
            <p class="hint" id="reassign-agent-hint">
              A record with a Managed By Group goes only to a member of that group: otherwise nothing of that list changes, and the message
              says how many do not fit.
            </p>
          </div>
          <button type="submit" class="primary">
            Reassign
          </button>
        </form>
      ) : (
        <p class="hint">Reassigning records needs the “Manage Assets” permission: ask someone who holds it.</p>
      )}
    </section>
  );
}

export function RemovalPage(props: RemovalPageProps) {
  const { person } = props;
  const blocked = props.managed !== null && props.managed.assets + props.managed.software > 0;
  return (
    <AdminFrame auth={props.auth} title={`Remove ${person.name}?`}>
      <ErrorMessage message={props.error} />
      <Notice message={props.notice} />
      {props.refusal ? (
        <>
          <p role="alert" class="alert error">
            {props.refusal}
          </p>
          <p>
            <a href={props.back}>Back to {person.name}</a>
          </p>
        </>
      ) : blocked ? (
        <ManagedList person={person} managed={props.managed!} reassignTo={props.reassignTo} />
      ) : (
        <>
          <p>
            Removing {person.name} ({person.email}) cannot be undone. It:
          </p>
          <ul data-testid="removal-effects">
            <li>signs them out everywhere and deletes their account: they can no longer sign in, with a password or with Microsoft;</li>
            <li>destroys their authenticator app secret, passkeys, recovery codes and remembered devices;</li>
            {props.usedAssets > 0 && (
              <li>
                clears “Used by” on the {props.usedAssets === 1 ? "asset" : `${props.usedAssets} assets`} they use (each change is in the
                asset's history);
              </li>
            )}
            {person.kind === "agent" && <li>unassigns the retired records they managed;</li>}
            <li>
              replaces their name and email in the audit log and asset history with “{props.pseudonym}”, so those records stay complete
              without their personal data.
            </li>
          </ul>
          <form method="post" action={`/agent/admin/people/${person.id}/remove`}>
            <Field label={`Type ${person.email} to confirm`} name="confirm" type="email" autocomplete="off" maxlength={254} />
            <div class="actions">
              <button type="submit" class="danger">
                Remove {person.name} permanently
              </button>
              <a href={props.back}>Cancel</a>
            </div>
          </form>
        </>
      )}
    </AdminFrame>
  );
}
