// The page where an agent chooses a list's columns and their order.
import type { Auth } from "../access/auth";
import { Layout } from "../web/layout";
import { availableColumns, type ListColumn } from "./columns";
import type { InventoryKind } from "./kinds";

/**
 * Which columns a list shows, and their order: a checkbox and a position per column,
 * in the order they are shown now (the hidden ones after). Works without JavaScript.
 */
export function ColumnChoicePage(props: {
  auth: Auth;
  kind: InventoryKind;
  chosen: readonly ListColumn[];
  back: string;
  error?: string | undefined;
}) {
  const { kind, chosen } = props;
  const shown = new Set(chosen.map((c) => c.key));
  const all = [...chosen, ...availableColumns(kind).filter((c) => !shown.has(c.key))];
  return (
    <Layout title={`${kind.title}: columns`} auth={props.auth}>
      <section class="narrow">
        <p class="breadcrumb">
          <a href={props.back}>{kind.title}</a> › Columns
        </p>
        <h1>Columns of {kind.title}</h1>
        <p class="hint">
          Name always comes first. Choose the other columns and their order; the CSV export uses the same columns. Your choice is kept for
          your account.
        </p>
        {props.error && (
          <p class="alert error" role="alert">
            {props.error}
          </p>
        )}
        <form method="post" action={`${kind.path}/columns`} class="stack">
          <input type="hidden" name="return" value={props.back} />
          <input type="hidden" name="order" value={all.map((c) => c.key).join(",")} />
          <table class="column-choice">
            <thead>
              <tr>
                <th scope="col">Show</th>
                <th scope="col">Column</th>
                <th scope="col">Position</th>
              </tr>
            </thead>
            <tbody>
              {all.map((c, index) => (
                <tr>
                  <td>
                    <input type="checkbox" id={`show-${c.key}`} name="show" value={c.key} checked={shown.has(c.key)} />
                  </td>
                  <td>
                    <label for={`show-${c.key}`}>{c.label}</label>
                  </td>
                  <td>
                    <select name={`pos_${c.key}`} aria-label={`Position of ${c.label}`}>
                      {all.map((_, n) => (
                        <option value={String(n + 1)} selected={n === index}>
                          {n + 1}
                        </option>
                      ))}
                    </select>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          <div class="actions">
            <button type="submit" class="primary">
              Save columns
            </button>
            <button type="submit" name="reset" value="1">
              Back to the default columns
            </button>
            <a href={props.back}>Cancel</a>
          </div>
        </form>
      </section>
    </Layout>
  );
}
