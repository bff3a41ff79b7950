// Mail goes through Cloudflare Email Service's structured send(). These tests read what
// EdgeDesk handed the send_email binding (kept verbatim in the development mailbox) and what the
// local binding, which enforces wrangler.toml's sender restriction, accepts.
import { env } from "cloudflare:workers";
import { desc, eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { devMailbox } from "../../src/db/schema";
import { composeMail, MAIL_HEADERS, type OutgoingMail, sendMail } from "../../src/mail/mailer";
import { browser, deployedEnv } from "../helpers/app";
import { db, makeContact } from "../helpers/factories";
import { postPassword, setMfa } from "../helpers/mfa";

/** Email Service's allowlisted custom headers (developers.cloudflare.com/email-service/reference/headers), and any X- header. */
const ALLOWED_HEADERS = new Set(
  [
    "In-Reply-To",
    "References",
    "List-Unsubscribe",
    "List-Unsubscribe-Post",
    "List-Id",
    "List-Archive",
    "List-Help",
    "List-Owner",
    "List-Post",
    "List-Subscribe",
    "Precedence",
    "Auto-Submitted",
    "Content-Language",
    "Keywords",
    "Comments",
    "Importance",
    "Priority",
    "Sensitivity",
    "Organization",
    "Require-Recipient-Valid-Since",
    "Expires",
    "Reply-By",
    "Archived-At",
  ].map((h) => h.toLowerCase()),
);

async function lastSentTo(to: string): Promise<OutgoingMail> {
  const row = await db().select().from(devMailbox).where(eq(devMailbox.to, to)).orderBy(desc(devMailbox.id)).get();
  expect(row, `no mail to ${to}`).toBeTruthy();
  return JSON.parse(row!.sent) as OutgoingMail;
}

describe("mail", () => {
  it("hands the binding a sender with its name, the recipient, a subject without the code, text and HTML parts and Auto-Submitted", async () => {
    await setMfa("support", { authenticatorApp: false, emailOtp: true });
    const contact = await makeContact({ name: "Zoë Ångström" });
    await postPassword(browser(), "support", contact);
    const sent = await lastSentTo(contact.email);
    const code = /\b(\d{6})\b/.exec(sent.text)![1]!;

    expect(sent.from).toEqual({ email: env.MAIL_FROM, name: env.MAIL_FROM_NAME });
    expect(sent.to).toBe(contact.email);
    expect(sent.subject).toBe("Your EdgeDesk sign-in code");
    expect(sent.subject).not.toMatch(/\d{6}/);
    expect(sent.text).toContain("Hello Zoë Ångström,");
    expect(sent.html).toContain(`>${code}</p>`);
    expect(sent.html).toContain("Hello Zoë Ångström,");
    expect(sent.html).toMatch(/^<!doctype html>\n<html lang="en">/);
    expect(sent.html).toContain("<title>Your EdgeDesk sign-in code</title>");
    expect(sent.html).not.toMatch(/<img|<script|src=|url\(/i);
    expect(sent.headers).toEqual({ "Auto-Submitted": "auto-generated" });
    for (const name of Object.keys(MAIL_HEADERS))
      expect(ALLOWED_HEADERS.has(name.toLowerCase()) || /^X-[A-Za-z0-9_-]+$/.test(name)).toBe(true);
  });

  it("writes the HTML part from the text: escaped, paragraphs kept, https links made links, nothing remote", () => {
    const sent = composeMail(env, {
      to: "robin@example.com",
      subject: "<Hi> & welcome",
      text: "Hello <b>Robin</b> & co,\n\nOpen https://helpdesk.example.com/invite?t=a&b=c.\nThen sign in.\n\n    123456\n",
    });
    expect(sent.html).toContain("<title>&lt;Hi&gt; &amp; welcome</title>");
    expect(sent.html).toContain("Hello &lt;b&gt;Robin&lt;/b&gt; &amp; co,");
    expect(sent.html).toContain(
      '<a href="https://helpdesk.example.com/invite?t=a&amp;b=c">https://helpdesk.example.com/invite?t=a&amp;b=c</a>.<br>Then sign in.',
    );
    expect(sent.html).toContain(">123456</p>");
    expect(sent.html).not.toContain("<b>");
  });

  it("sends only from the address wrangler.toml allows, as Email Service will in production", async () => {
    // An RPC promise: awaited through then() so the refusal is observed where it happens.
    const refused = await Promise.resolve()
      .then(() =>
        env.EMAIL.send({ from: { email: "someone-else@edgedesk.example", name: "X" }, to: "robin@example.com", subject: "Hi", text: "Hi" }),
      )
      .then(
        () => null,
        (error: Error) => error.message,
      );
    expect(refused).toMatch(/someone-else@edgedesk\.example not allowed/);
    await expect(env.EMAIL.send(composeMail(env, { to: "robin@example.com", subject: "Hi", text: "Hi" }))).resolves.toHaveProperty(
      "messageId",
    );
  });

  it("keeps sent messages in the development mailbox, newest first, escaped, with an .eml of each", async () => {
    await sendMail(env, { to: "first@example.com", subject: "First", text: "one" }, 1);
    await sendMail(env, { to: "second@example.com", subject: "Second", text: "<script>alert(1)</script>" }, 2);
    const response = await browser().get("/dev/mailbox");
    expect(response.status).toBe(200);
    const page = await response.text();
    expect(page.indexOf("second@example.com")).toBeLessThan(page.indexOf("first@example.com"));
    expect(page).toContain("&lt;script&gt;alert(1)&lt;/script&gt;");
    expect(page).not.toContain("<script>alert(1)");
    const id = /href="\/dev\/mailbox\/(\d+)\/eml"/.exec(page)![1]!;
    const eml = await browser().get(`/dev/mailbox/${id}/eml`);
    expect(eml.headers.get("Content-Type")).toBe("message/rfc822");
    expect(new TextDecoder().decode(await eml.arrayBuffer())).toContain("Subject: Second\r\n");
  });

  it("has no development mailbox outside development", async () => {
    await sendMail(env, { to: "third@example.com", subject: "Third", text: "three" }, 3);
    const [row] = await db().select().from(devMailbox).orderBy(desc(devMailbox.id)).limit(1);
    for (const ENVIRONMENT of ["production", "staging", ""]) {
      for (const path of ["/dev/mailbox", `/dev/mailbox/${row!.id}/eml`]) {
        const response = await browser({ env: deployedEnv(ENVIRONMENT) }).get(path);
        expect(response.status).toBe(404);
        expect(await response.text()).not.toContain("Development mailbox");
      }
    }
  });
});
