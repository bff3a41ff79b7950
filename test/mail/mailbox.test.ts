import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { buildMessage, sendMail } from "../../src/mail/mailer";
import { browser, deployedEnv } from "../helpers/app";

describe("mail", () => {
  it("builds a MIME message with From, To, Subject and a Message-ID", () => {
    const raw = buildMessage(env, { to: "robin@example.com", subject: "Your code: café", text: "Hello ✓" });
    expect(raw).toMatch(/^From: .*<no-reply@edgedesk\.example>/m);
    expect(raw).toMatch(/^To: <?robin@example\.com>?/m);
    expect(raw).toMatch(/^Message-ID: <[a-z2-7]+@edgedesk\.example>/m);
    expect(raw).toMatch(/^Subject: =\?utf-8\?B\?/im);
  });

  it("keeps sent messages in the development mailbox, newest first, and escapes them", async () => {
    await sendMail(env, { to: "first@example.com", subject: "First", text: "one" }, 1);
    await sendMail(env, { to: "second@example.com", subject: "Second", text: "<script>alert(1)</script>" }, 2);
    const response = await browser().get("/dev/mailbox");
    expect(response.status).toBe(200);
    const page = await response.text();
    expect(page.indexOf("second@example.com")).toBeLessThan(page.indexOf("first@example.com"));
    expect(page).toContain("&lt;script&gt;alert(1)&lt;/script&gt;");
    expect(page).not.toContain("<script>alert(1)");
  });

  it("has no development mailbox outside development", async () => {
    for (const ENVIRONMENT of ["production", "staging", ""]) {
      const response = await browser({ env: deployedEnv(ENVIRONMENT) }).get("/dev/mailbox");
      expect(response.status).toBe(404);
      expect(await response.text()).not.toContain("Development mailbox");
    }
  });
});
