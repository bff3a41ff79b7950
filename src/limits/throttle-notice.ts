import type { Context } from "hono";
import type { AppEnv } from "../app-env";
import { afterResponse } from "../lib/background";
import { sendMail } from "../mail/mailer";
import { type Portal, portalLabel } from "../portal/policy";
import type { LimitResult } from "./limiter-do";
import { waitMessage } from "./limits";

interface Holder {
  email: string;
  name: string;
}

/**
 * Issue 10: the account holder is told by email when their account starts being throttled, once
 * per window (the limiter marks the window's first refusal atomically, so a burst sends one mail).
 * The holder is looked up after the response, so the response cannot tell a real account from an
 * unknown email, by content or by time.
 */
export async function noticeThrottling(c: Context<AppEnv>, result: LimitResult, portal: Portal, what: "password" | "code", holder: () => Promise<Holder | null>) {
  if (result.allowed || !result.firstRefusal) return;
  const now = c.var.clock.now();
  await afterResponse(c, "The throttling notice", async () => {
    const person = await holder();
    if (!person) return;
    const wrong = what === "password" ? "wrong passwords" : "wrong verification codes";
    const advice =
      what === "password"
        ? "If this was you, wait and try again. If it was not, nobody got in; a longer, unique password keeps it that way.\n"
        : "Whoever tried knew your password. If this was not you, change your password now and tell your administrator.\n";
    await sendMail(
      c.env,
      {
        to: person.email,
        subject: "Sign-in to your EdgeDesk account was paused",
        text:
          `Hello ${person.name},\n\nThere were too many ${wrong} for your EdgeDesk ${portalLabel(portal).toLowerCase()} account, ` +
          `so signing in is paused for ${waitMessage(result.retryAfterMs)}.\n${advice}`,
      },
      now,
    );
  });
}
