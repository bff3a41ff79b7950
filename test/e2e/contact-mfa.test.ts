// The support portal: a contact enrolls in the authenticator app, keeps recovery codes, and signs in
// with the app, with the emailed fallback, and with a recovery code that then stops working; then
// forgets the password, sets a new one through the mailed link, and still passes the second factor.
import { afterAll, beforeAll, expect, test } from "vitest";
import {
  emailedCode,
  emailedLink,
  emailedMessage,
  enroll,
  finishEnrollment,
  type Journey,
  openSecuritySettings,
  readDownload,
  saveForNextLogin,
  screenshot,
  shown,
  signInWithPassword,
  signInWithRecoveryCode,
  signOut,
  startJourney,
} from "./harness";

const CONTACT = "contact1@customer.test";
const HOME = { name: "Hello, Dennis Thompson" };

let journey: Journey;
beforeAll(async () => {
  journey = await startJourney();
});
afterAll(async () => {
  await journey?.stop();
});

test("a contact enrolls on the support portal and signs in with the app, the email fallback and a single-use recovery code", async () => {
  const admin = await journey.newPage();
  await signInWithPassword(admin, "agent", "admin@edgedesk.test", journey.password);
  await openSecuritySettings(admin, "Contact Authentication", "Multi-Factor Authentication");
  await admin.getByLabel("Authenticator App").check();
  await admin.getByLabel("Issuer Name").fill("RTX Solutions Support");
  await admin.getByLabel("Email OTP").check();
  await saveForNextLogin(admin, "Email OTP: off → on");

  const context = await journey.newContext();
  const page = await context.newPage();
  await signInWithPassword(page, "support", CONTACT, journey.password);
  const app = await enroll(page, "RTX Solutions Support");
  const codes = (await page.getByTestId("recovery-codes").getByRole("listitem").allInnerTexts()).map((c) => c.trim());
  expect(codes).toHaveLength(10);
  const [download] = await Promise.all([page.waitForEvent("download"), page.getByRole("link", { name: "Download" }).click()]);
  expect(await readDownload(download)).toContain(codes[9]);
  await finishEnrollment(page);
  await shown(page.getByRole("heading", HOME));
  await signOut(page);

  // The app's code; the page names what the app shows (the Issuer Name).
  await signInWithPassword(page, "support", CONTACT, journey.password);
  await shown(page.getByText("Open your authenticator app and enter the 6-digit code it shows for RTX Solutions Support."));
  // The second step as a phone shows it (README).
  await page.setViewportSize({ width: 390, height: 844 });
  await screenshot(page, "phone-second-step", { fullPage: false });
  await page.setViewportSize({ width: 1280, height: 800 });
  await page.getByLabel("Authentication code").fill(app.nextCode());
  await page.getByRole("button", { name: "Verify" }).click();
  await shown(page.getByRole("heading", HOME));
  await signOut(page);

  // The emailed fallback.
  await signInWithPassword(page, "support", CONTACT, journey.password);
  await page.getByRole("button", { name: "Enter OTP received via email" }).click();
  const popup = page.getByRole("dialog", { name: "Check your email" });
  await shown(popup);
  expect(await popup.getByRole("button", { name: "Resend OTP" }).isDisabled()).toBe(true);
  const code = await emailedCode(context, CONTACT);
  // The mail as a mail client reads it: named sender, no code in the subject, both parts.
  const { raw, parsed } = await emailedMessage(context, CONTACT);
  expect(raw).not.toMatch(/[^\r]\n/);
  expect(parsed.from?.value).toEqual([{ address: "no-reply@edgedesk.example", name: "EdgeDesk" }]);
  expect(parsed.subject).toBe("Your EdgeDesk sign-in code");
  expect(parsed.headers.get("auto-submitted")).toBe("auto-generated");
  expect(parsed.text).toContain(`    ${code}\n`);
  expect(parsed.html).toContain(`>${code}</p>`);
  await popup.getByLabel("One-time password").fill(code);
  await popup.getByRole("button", { name: "Verify" }).click();
  await shown(page.getByRole("heading", HOME));
  await signOut(page);

  // A recovery code, twice: the second time it is refused.
  await signInWithRecoveryCode(page, "support", CONTACT, journey.password, codes[3]!);
  await shown(page.getByRole("heading", HOME));
  await signOut(page);
  await signInWithRecoveryCode(page, "support", CONTACT, journey.password, codes[3]!);
  await shown(page.getByRole("heading", { name: "Use a recovery code" }));
  expect(await page.getByRole("alert").innerText()).toMatch(/code/i);
});

// "Forgot password?". Runs after the test above, which turned on the app and email codes for contacts and
// enrolled this contact.
test("a contact who forgot the password sets a new one through the mailed link, then passes the second factor", async () => {
  const context = await journey.newContext();
  const page = await context.newPage();
  await page.goto("/support/login");
  await page.getByRole("link", { name: "Forgot password?" }).click();
  await shown(page.getByRole("heading", { name: "Forgot your password?" }));
  await page.getByLabel("Email").fill(CONTACT);
  await page.getByRole("button", { name: "Email me a link" }).click();
  await shown(page.getByTestId("reset-sent").getByText(`If an account on the support portal uses ${CONTACT}, we have emailed it a link`));

  const link = await emailedLink(context, CONTACT, /^\/support\/login\/reset\/[a-z2-7]{32}$/);
  await page.goto(link.pathname);
  await shown(page.getByRole("heading", { name: "Choose a new password" }));
  const fresh = "a fresh passphrase for the portal 19";
  await page.getByLabel("New password", { exact: true }).fill(fresh);
  await page.getByLabel("Confirm new password").fill(fresh);
  await page.getByRole("button", { name: "Set password and continue" }).click();

  // The reset stands for the password only: the second step follows (here the emailed code).
  await shown(page.getByRole("heading", { name: "Verify it's you" }));
  await page.getByRole("button", { name: "Enter OTP received via email" }).click();
  const popup = page.getByRole("dialog", { name: "Check your email" });
  await shown(popup);
  await popup.getByLabel("One-time password").fill(await emailedCode(context, CONTACT));
  await popup.getByRole("button", { name: "Verify" }).click();
  await shown(page.getByRole("heading", HOME));

  // The link worked once.
  await page.goto(link.pathname);
  await shown(page.getByText("This link has expired or was already used."));
});
