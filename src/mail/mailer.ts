import { getDb } from "../db";
import { devMailbox } from "../db/schema";
import { htmlOf } from "./html";

/** What a part of EdgeDesk asks to send: one person, a subject without secrets, and plain text. */
export interface Mail {
  to: string;
  subject: string;
  text: string;
}

/**
 * Exactly what EdgeDesk hands the `send_email` binding: Cloudflare Email Service's structured form.
 * Email Service builds the MIME message itself (Message-ID, Date, encodings, DKIM), so
 * nothing here is raw RFC 5322 and any recipient can be reached once the sending domain is onboarded.
 */
export interface OutgoingMail {
  from: { email: string; name: string };
  to: string;
  subject: string;
  text: string;
  html: string;
  headers: Record<string, string>;
}

/**
 * The custom headers EdgeDesk sets, all on Email Service's allowlist
 * (developers.cloudflare.com/email-service/reference/headers): RFC 3834 tells auto-responders
 * ("out of office") not to answer a sign-in code.
 */
export const MAIL_HEADERS: Readonly<Record<string, string>> = Object.freeze({ "Auto-Submitted": "auto-generated" });

export function isDevelopment(env: Env): boolean {
  return env.ENVIRONMENT === "development";
}

export function composeMail(env: Env, mail: Mail): OutgoingMail {
  const text = mail.text.endsWith("\n") ? mail.text : `${mail.text}\n`;
  return {
    from: { email: env.MAIL_FROM, name: env.MAIL_FROM_NAME },
    to: mail.to,
    subject: mail.subject,
    text,
    html: htmlOf(mail.subject, text),
    headers: { ...MAIL_HEADERS },
  };
}

/**
 * Hand one message to the binding once; its Message-ID when accepted. In development it is also
 * kept in the development mailbox (/dev/mailbox), exactly as the binding received it, after the
 * binding accepted it, so a message that failed to send is never shown as sent.
 */
export async function handOver(env: Env, message: OutgoingMail, now: number): Promise<string | null> {
  const answer = (await env.EMAIL.send(message)) as { messageId?: unknown } | undefined;
  const messageId = typeof answer?.messageId === "string" ? answer.messageId : null;
  if (isDevelopment(env)) {
    // Sent is sent: a development copy that could not be kept must not make a sender try again.
    await getDb(env.DB)
      .insert(devMailbox)
      .values({ to: message.to, subject: message.subject, body: message.text, sent: JSON.stringify(message), sentAt: now, messageId })
      .catch((error: unknown) => console.error("The development mailbox could not keep a copy:", error));
  }
  return messageId;
}

/**
 * Send one message while the person waits for it (a sign-in code: worth nothing once its page has
 * gone, so it is not queued in the outbox; the page says whether it was sent).
 */
export async function sendMail(env: Env, mail: Mail, now: number): Promise<void> {
  const message = composeMail(env, mail);
  try {
    await handOver(env, message, now);
  } catch (error) {
    // Workers mark a dropped connection to the binding as retryable: try once more, then let the
    // caller say it could not be sent. (Should the first have got through after all, the person
    // gets the same code twice; a lost one would cost more.)
    if (!(error instanceof Error && (error as { retryable?: unknown }).retryable === true)) throw error;
    await handOver(env, message, now);
  }
}
