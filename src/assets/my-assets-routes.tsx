import { Hono } from "hono";
import type { AppEnv } from "../app-env";
import { requireSession } from "../request/require-session";
import { Layout } from "../web/layout";
import { humanize } from "./kinds";
import { assetsOfUser } from "./my-assets";

/** Support portal: the assets the signed-in contact uses, read-only. */
export const myAssetsRoutes = new Hono<AppEnv>().get("/", requireSession("support"), async (c) => {
  const results = await assetsOfUser(c.env.DB, c.var.auth.user.id);
  return c.html(
    <Layout title="My assets" auth={c.var.auth}>
      <section class="wide">
        <h1>My assets</h1>
        {results.length === 0 ? (
          <p>No assets are assigned to you.</p>
        ) : (
          <div class="table-scroll" tabindex={0}>
            <table>
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">Asset tag</th>
                  <th scope="col">Type</th>
                  <th scope="col">Status</th>
                  <th scope="col">Location</th>
                </tr>
              </thead>
              <tbody>
                {results.map((a) => (
                  <tr data-testid="my-asset">
                    <td>{a.name}</td>
                    <td>{a.asset_tag}</td>
                    <td>{humanize(a.asset_type)}</td>
                    <td>{humanize(a.status)}</td>
                    <td>{a.location ?? "—"}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>
    </Layout>,
  );
});
