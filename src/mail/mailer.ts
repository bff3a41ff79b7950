import { EmailMessage } from "cloudflare:email";
import { createMimeMessage } from "mimetext";
import { getDb } from "../db";
import { devMailbox } from "../db/schema";
import { randomToken } from "../lib/crypto";

export interface Mail {
  to: string;
  subject: string;
  text: string;
}

export function isDevelopment(env: Env): boolean {
  return env.ENVIRONMENT === "development";
}

/** Build an RFC 5322 message with mimetext (headers, encoding and line folding are its job, not ours). */
export function buildMessage(env: Env, mail: Mail): string {
  const message = createMimeMessage();
  message.setSender({ name: env.MAIL_FROM_NAME, addr: env.MAIL_FROM });
  message.setRecipient(mail.to);
  message.setSubject(mail.subject);
  // Cloudflare's send_email refuses messages without a Message-ID.
  message.setHeader("Message-ID", `<${randomToken()}@${env.MAIL_FROM.split("@")[1]}>`);
  message.addMessage({ contentType: "text/plain", data: mail.text });
  return message.asRaw();
}

/**
 * Send one message through the send_email binding. In development it is also kept in the
 * development mailbox (/dev/mailbox), after the binding accepted it, so a message that failed
 * to send is never shown as sent.
 */
export async function sendMail(env: Env, mail: Mail, now: number): Promise<void> {
  await env.EMAIL.send(new EmailMessage(env.MAIL_FROM, mail.to, buildMessage(env, mail)));
  if (isDevelopment(env)) {
    await getDb(env.DB).insert(devMailbox).values({ to: mail.to, subject: mail.subject, body: mail.text, sentAt: now });
  }
}
