import { desc, eq } from "drizzle-orm";
import { Hono } from "hono";
import type { AppEnv } from "../app-env";
import { getDb } from "../db";
import { devMailbox } from "../db/schema";
import { Layout } from "../web/layout";
import { toEml } from "../mail/eml";
import { isDevelopment, type OutgoingMail } from "../mail/mailer";

type Stored = typeof devMailbox.$inferSelect;

async function storedMail(env: Env, id: string): Promise<{ row: Stored; message: OutgoingMail } | null> {
  if (!/^\d{1,15}$/.test(id)) return null;
  const row = await getDb(env.DB)
    .select()
    .from(devMailbox)
    .where(eq(devMailbox.id, Number(id)))
    .get();
  return row ? { row, message: JSON.parse(row.sent) as OutgoingMail } : null;
}

/**
 * The development mailbox: what EdgeDesk handed the send_email binding, newest first, with an .eml
 * of each message to open in a mail client (which shows its HTML part as a recipient would see it).
 * A 404 in every other environment.
 */
export const devMailboxRoutes = new Hono<AppEnv>()
  .use("/dev/mailbox/*", async (c, next) => (isDevelopment(c.env) ? next() : c.notFound()))
  .get("/dev/mailbox", async (c) => {
    if (!isDevelopment(c.env)) return c.notFound();
    const messages = await getDb(c.env.DB).select().from(devMailbox).orderBy(desc(devMailbox.id)).limit(100);
    return c.html(
      <Layout title="Development mailbox">
        <section class="wide">
          <h1>Development mailbox</h1>
          <p class="hint">
            Mail EdgeDesk handed the send_email binding while running locally, newest first. Nothing is delivered from here; this page does
            not exist in production.
          </p>
          {messages.length === 0 && <p>No mail yet.</p>}
          <ol class="mailbox">
            {messages.map((m) => {
              const sent = JSON.parse(m.sent) as Partial<OutgoingMail>;
              return (
                <li class="mail" data-testid="mail">
                  <dl>
                    <dt>From</dt>
                    <dd data-testid="mail-from">{sent.from ? `${sent.from.name} <${sent.from.email}>` : ""}</dd>
                    <dt>To</dt>
                    <dd data-testid="mail-to">{m.to}</dd>
                    <dt>Subject</dt>
                    <dd data-testid="mail-subject">{m.subject}</dd>
                    <dt>Sent</dt>
                    <dd>{new Date(m.sentAt).toISOString()}</dd>
                  </dl>
                  <pre data-testid="mail-body">{m.body}</pre>
                  <p>
                    <a href={`/dev/mailbox/${m.id}/eml`} download={`edgedesk-mail-${m.id}.eml`}>
                      Download .eml
                    </a>
                  </p>
                  <details>
                    <summary>What the binding received</summary>
                    <pre data-testid="mail-sent">{JSON.stringify(sent, null, 2)}</pre>
                  </details>
                </li>
              );
            })}
          </ol>
        </section>
      </Layout>,
    );
  })
  .get("/dev/mailbox/:id/eml", async (c) => {
    const mail = await storedMail(c.env, c.req.param("id"));
    if (!mail) return c.notFound();
    return c.body(toEml(mail.message, `dev-${mail.row.id}-${mail.row.sentAt}`, mail.row.sentAt), 200, {
      "Content-Type": "message/rfc822",
      "Content-Disposition": `attachment; filename="edgedesk-mail-${mail.row.id}.eml"`,
    });
  });
