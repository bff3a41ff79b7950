// The development mailbox's ".eml" download: the structured message EdgeDesk handed the binding,
// written out as an RFC 5322 / MIME message so a person can open it in their own mail client and
// see both parts as a recipient would. Production never builds this: Email Service composes the
// real message. Checked in the tests with mailparser (test/e2e/mail.test.ts).
import type { OutgoingMail } from "./mailer";

const CRLF = "\r\n";
const ASCII = /^[\x20-\x7e]*$/;
const utf8 = new TextEncoder();

function base64(s: string): string {
  let binary = "";
  for (const byte of utf8.encode(s)) binary += String.fromCharCode(byte);
  return btoa(binary);
}

/** RFC 2047: plain ASCII stays readable; anything else is one UTF-8 encoded word per chunk. */
function encodedWords(s: string): string {
  if (ASCII.test(s)) return s;
  const chunks: string[] = [];
  let chunk = "";
  for (const ch of s) {
    // 39 bytes of UTF-8 make 52 base64 characters: a word and its header name fit in 78 (RFC 2047, 2).
    if (utf8.encode(chunk + ch).length > 39) {
      chunks.push(chunk);
      chunk = "";
    }
    chunk += ch;
  }
  chunks.push(chunk);
  return chunks.map((c) => `=?UTF-8?B?${base64(c)}?=`).join(`${CRLF} `);
}

function mailbox(address: { email: string; name: string }): string {
  if (ASCII.test(address.name)) return `"${address.name.replace(/["\\]/g, "\\$&")}" <${address.email}>`;
  return `${encodedWords(address.name)}${CRLF} <${address.email}>`;
}

/** A body part: 7bit when it is short-lined ASCII, otherwise base64 in 76-character lines. */
function part(contentType: string, content: string): string {
  const normalized = content.replace(/\r\n?|\n/g, CRLF);
  const lines = normalized.split(CRLF);
  if (lines.every((line) => ASCII.test(line) && line.length <= 998)) {
    return `Content-Type: ${contentType}; charset=utf-8${CRLF}Content-Transfer-Encoding: 7bit${CRLF}${CRLF}${normalized}`;
  }
  const encoded = base64(content).replace(/.{1,76}/g, `$&${CRLF}`);
  return `Content-Type: ${contentType}; charset=utf-8${CRLF}Content-Transfer-Encoding: base64${CRLF}${CRLF}${encoded}`;
}

export function toEml(message: OutgoingMail, messageId: string, sentAt: number): string {
  const boundary = `edgedesk-${messageId.replace(/[^A-Za-z0-9]/g, "")}`;
  const domain = message.from.email.split("@")[1];
  const headers = [
    `From: ${mailbox(message.from)}`,
    `To: <${message.to}>`,
    `Subject: ${encodedWords(message.subject)}`,
    `Date: ${new Date(sentAt).toUTCString().replace("GMT", "+0000")}`,
    `Message-ID: <${messageId}@${domain}>`,
    ...Object.entries(message.headers).map(([name, value]) => `${name}: ${value}`),
    "MIME-Version: 1.0",
    `Content-Type: multipart/alternative; boundary="${boundary}"`,
  ];
  return (
    headers.join(CRLF) +
    CRLF +
    CRLF +
    `--${boundary}${CRLF}${part("text/plain", message.text)}${CRLF}` +
    `--${boundary}${CRLF}${part("text/html", message.html)}${CRLF}` +
    `--${boundary}--${CRLF}`
  );
}
