import { Hono } from "hono";
import type { AppEnv } from "../app-env";
import { requireSession } from "../request/require-session";
import { Card, Layout } from "../web/layout";
import { settingsSectionsFor } from "../web/navigation";

/**
 * /agent/settings: the help article's path reads as written, "Settings > Security
 * and Compliance > Agent Authentication".
 */
export const settingsHubRoutes = new Hono<AppEnv>();
settingsHubRoutes.get("/", requireSession("agent"), (c) => {
  const sections = settingsSectionsFor(c.var.auth.permissions);
  if (sections.length === 0) {
    return c.html(
      <Layout title="Not allowed" auth={c.var.auth}>
        <Card title="You don't have access to Settings">
          <p>Your role includes none of the settings. Ask an administrator if you need one.</p>
        </Card>
      </Layout>,
      403,
    );
  }
  return c.html(
    <Layout title="Settings" auth={c.var.auth}>
      <section class="wide">
        <h1>Settings</h1>
        <ul class="tiles">
          {sections.map((s) => (
            <li>
              <a href={s.href}>{s.title}</a>
              <p>{s.about}</p>
            </li>
          ))}
        </ul>
      </section>
    </Layout>,
  );
});
