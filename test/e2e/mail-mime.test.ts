// The one place EdgeDesk writes raw MIME is the development mailbox's .eml download
// (production hands Email Service structured fields). Someone else's parser, mailparser, reads it:
// CRLF line endings only, plain ASCII left readable, UTF-8 names and bodies correctly encoded.
import { simpleParser } from "mailparser";
import { describe, expect, it } from "vitest";
import { toEml } from "../../src/mail/eml";
import { composeMail } from "../../src/mail/mailer";

const env = (name: string) => ({ MAIL_FROM: "no-reply@edgedesk.example", MAIL_FROM_NAME: name }) as Env;
const SENT_AT = Date.UTC(2026, 11, 1, 9, 30);

function headerBlock(raw: string): string {
  return raw.slice(0, raw.indexOf("\r\n\r\n"));
}

describe("the .eml of a sent mail", () => {
  it("parses cleanly with ASCII headers left as they are and CRLF everywhere", async () => {
    const message = composeMail(env("EdgeDesk"), {
      to: "robin@example.com",
      subject: "Your EdgeDesk sign-in code",
      text: "Hello Robin,\n\n    123456\n\nIt works once.\n",
    });
    const raw = toEml(message, "dev-1", SENT_AT);
    expect(raw).not.toMatch(/[^\r]\n/);
    expect(raw.split("\r\n").every((line) => line.length <= 998)).toBe(true);
    const headers = headerBlock(raw);
    expect(headers).toContain('From: "EdgeDesk" <no-reply@edgedesk.example>');
    expect(headers).toContain("Subject: Your EdgeDesk sign-in code");
    expect(headers).not.toContain("=?");

    const parsed = await simpleParser(raw);
    expect(parsed.from?.value).toEqual([{ address: "no-reply@edgedesk.example", name: "EdgeDesk" }]);
    expect(parsed.to).toMatchObject({ value: [{ address: "robin@example.com" }] });
    expect(parsed.subject).toBe("Your EdgeDesk sign-in code");
    expect(parsed.headers.get("auto-submitted")).toBe("auto-generated");
    expect(parsed.date?.getTime()).toBe(SENT_AT);
    expect(parsed.messageId).toBe("<dev-1@edgedesk.example>");
    expect(parsed.text).toBe(message.text);
    expect(parsed.html).toBe(message.html);
    expect(raw).toMatch(/Content-Type: text\/plain; charset=utf-8\r\nContent-Transfer-Encoding: 7bit\r\n/);
  });

  it("encodes a non-ASCII sender name, subject and body so they read back exactly", async () => {
    const name = "Zoë's Ünterstützung — Helpdesk für Überwachung und Ärger mit Gerät";
    const message = composeMail(env(name), {
      to: "zoe@example.com",
      subject: "Willkommen, Zoë Ångström",
      text: "Hallo Zoë Ångström,\n\nIhr Konto ist bereit. ✓\n",
    });
    const raw = toEml(message, "dev-2", SENT_AT);
    expect(raw).not.toMatch(/[^\r]\n/);
    // biome-ignore lint/suspicious/noControlCharactersInRegex: anything outside ASCII, control characters being inside it.
    expect(raw).not.toMatch(/[^\x00-\x7f]/);
    expect(headerBlock(raw)).toMatch(/^From: =\?UTF-8\?B\?/m);
    expect(
      headerBlock(raw)
        .split("\r\n")
        .every((line) => line.length <= 78),
    ).toBe(true);
    expect(raw).toMatch(/Content-Type: text\/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n/);

    const parsed = await simpleParser(raw);
    expect(parsed.from?.value).toEqual([{ address: "no-reply@edgedesk.example", name }]);
    expect(parsed.subject).toBe("Willkommen, Zoë Ångström");
    expect(parsed.text).toBe(message.text);
    expect(parsed.html).toBe(message.html);
  });
});
