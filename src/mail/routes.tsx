import { desc } from "drizzle-orm";
import { Hono } from "hono";
import type { AppEnv } from "../app-env";
import { getDb } from "../db";
import { devMailbox } from "../db/schema";
import { Layout } from "../web/layout";
import { isDevelopment } from "./mailer";

/** The development mailbox: what EdgeDesk sent, newest first. A 404 in every other environment. */
export const devMailboxRoutes = new Hono<AppEnv>().get("/dev/mailbox", async (c) => {
  if (!isDevelopment(c.env)) return c.notFound();
  const messages = await getDb(c.env.DB).select().from(devMailbox).orderBy(desc(devMailbox.id)).limit(100);
  return c.html(
    <Layout title="Development mailbox">
      <section class="wide">
        <h1>Development mailbox</h1>
        <p class="hint">Mail EdgeDesk sent while running locally, newest first. This page does not exist in production.</p>
        {messages.length === 0 && <p>No mail yet.</p>}
        <ol class="mailbox">
          {messages.map((m) => (
            <li class="mail" data-testid="mail">
              <dl>
                <dt>To</dt>
                <dd data-testid="mail-to">{m.to}</dd>
                <dt>Subject</dt>
                <dd data-testid="mail-subject">{m.subject}</dd>
                <dt>Sent</dt>
                <dd>{new Date(m.sentAt).toISOString()}</dd>
              </dl>
              <pre data-testid="mail-body">{m.body}</pre>
            </li>
          ))}
        </ol>
      </section>
    </Layout>,
  );
});
