// The person is told to look for the portal's Issuer Name in their app (never
// "EdgeDesk"), and the otpauth:// URI carries it percent-encoded, as RFC 3986 decoders read it.
// The URI is checked with the otpauth library, and the QR code read by jsQR, not by our own parsers.
import jsQR from "jsqr";
import * as OTPAuth from "otpauth";
import { describe, expect, it } from "vitest";
import { keyUri } from "../../src/factors/totp";
import { browser, fakeClock } from "../helpers/app";
import { makeContact } from "../helpers/factories";
import { find, findAll, shown, textIn, textOf, cellText } from "../helpers/html";
import { enrollThroughPages, extract, postPassword, setMfa, totpCode } from "../helpers/mfa";

const ISSUER = "RTX Solutions – Agent App";

describe("the Issuer Name", () => {
  it("is percent-encoded in the key URI, and another library reads issuer, label and secret back", () => {
    const key = crypto.getRandomValues(new Uint8Array(20));
    const uri = keyUri(ISSUER, "ada+tag@example.com", key);
    expect(uri).not.toContain("+");
    expect(uri).toContain(`issuer=${encodeURIComponent(ISSUER)}`);
    expect(uri).toContain("issuer=RTX%20Solutions%20%E2%80%93%20Agent%20App");
    const parsed = OTPAuth.URI.parse(uri) as OTPAuth.TOTP;
    expect(parsed).toBeInstanceOf(OTPAuth.TOTP);
    expect(parsed.issuer).toBe(ISSUER);
    expect(parsed.label).toBe("ada+tag@example.com");
    expect(parsed.algorithm).toBe("SHA1");
    expect(parsed.digits).toBe(6);
    expect(parsed.period).toBe(30);
    expect(new Uint8Array(parsed.secret.bytes)).toEqual(key);
    // RFC 3986 decoding (no "+" for space) gives the exact name a person reads.
    expect(decodeURIComponent(new URL(uri.replace("otpauth:", "https:")).search.match(/issuer=([^&]*)/)![1]!)).toBe(ISSUER);
  });

  it("names the Issuer Name wherever the person is told what to look for in their app", async () => {
    await setMfa("support", { authenticatorApp: true, emailOtp: false, issuerName: ISSUER });
    const clock = fakeClock();
    const contact = await makeContact();
    const enrolling = browser({ clock });
    await postPassword(enrolling, "support", contact);
    const page = await (await enrolling.get("/support/login/enroll")).text();
    const manualKey = extract(page, "totp-secret");
    const wrong = await enrolling.post("/support/login/enroll", { code: totpCode(manualKey, clock.now(), 5) });
    expect(wrong.status).toBe(401);
    const wrongText = await wrong.text();
    expect(wrongText).toContain("Check the app shows RTX Solutions – Agent App, and enter the newest code.");
    expect(wrongText).not.toContain("shows EdgeDesk");

    const other = browser({ clock });
    const person = await makeContact();
    await enrollThroughPages(other, "support", person, clock);
    clock.advance(60_000);
    const signIn = browser({ clock });
    await postPassword(signIn, "support", person);
    const codePage = await (await signIn.get("/support/login/verify")).text();
    expect(cellText(codePage)).toContain("enter the 6-digit code it shows for RTX Solutions – Agent App.");
    const refused = await signIn.post("/support/login/verify/app", { code: "000000" });
    expect(await shown(refused)).toContain("Enter the newest code your app shows for RTX Solutions – Agent App.");
  });

  it("says in visible text what the app will call the account, exactly as the QR code adds it", async () => {
    await setMfa("support", { authenticatorApp: true, emailOtp: false, issuerName: ISSUER });
    const contact = await makeContact();
    const enrolling = browser();
    await postPassword(enrolling, "support", contact);
    const page = await (await enrolling.get("/support/login/enroll")).text();

    const added = readQrCode(page);
    expect(added.issuer).toBe(ISSUER);
    expect(added.label).toBe(contact.email);
    const named = findAll(page, "p").find((p) => textIn(p).startsWith("It will appear in the app as"));
    expect(named, "no sentence naming what the app will show").toBeTruthy();
    expect(textIn(named!)).toBe(`It will appear in the app as ${added.issuer} (${added.label}).`);
    expect(Array.from(named!.querySelectorAll("strong")).map(textIn)).toEqual([ISSUER]);
    // A screen reader names the QR code the same way.
    expect(findAll(page, '[role="img"]').map((image) => image.getAttribute("aria-label"))).toContain(
      `QR code for ${added.issuer} (${added.label})`,
    );
  });

  it("tells the person, on every page asking for one, that a code has 6 digits", async () => {
    await setMfa("support", { authenticatorApp: true, emailOtp: true, issuerName: ISSUER });
    const clock = fakeClock();
    const enrolling = browser({ clock });
    const contact = await makeContact();
    await postPassword(enrolling, "support", contact);
    const enrollPage = await (await enrolling.get("/support/login/enroll")).text();

    const person = await makeContact();
    await enrollThroughPages(browser({ clock }), "support", person, clock);
    clock.advance(60_000);
    const signIn = browser({ clock });
    await postPassword(signIn, "support", person);
    const appPage = await (await signIn.get("/support/login/verify")).text();
    const send = await signIn.post("/support/login/verify/email/send");
    await send.text();
    const emailPage = await (await signIn.get("/support/login/verify?method=email")).text();

    for (const [name, page] of [
      ["enrollment", enrollPage],
      ["app code", appPage],
      ["emailed code", emailPage],
    ] as const) {
      const input = find(page, "input#field-code");
      expect(input, `${name}: no code field`).toBeTruthy();
      expect(input!.getAttribute("inputmode"), name).toBe("numeric");
      expect(input!.getAttribute("pattern"), name).toBe("[0-9]{6}");
      expect(input!.getAttribute("maxlength"), name).toBe("6");
      const describedBy = input!.getAttribute("aria-describedby");
      expect(describedBy, `${name}: the code field is described by nothing`).toBeTruthy();
      // What a screen reader says after the field's name: the text of each element it is described by.
      const hint = describedBy!.split(" ").map((id) => textOf(page, `[id="${id}"]`) ?? "");
      expect(hint.join(" "), name).toBe("The code has 6 digits.");
    }
  });
});

/**
 * The enrollment QR code as an app reads it: the SVG's dark modules painted into pixels, decoded
 * by jsQR, and its otpauth:// URI parsed by the otpauth library.
 */
function readQrCode(page: string): OTPAuth.TOTP {
  const svg = find(page, "div.qr svg");
  const size = Number(/^0 0 (\d+) \d+$/.exec(svg?.getAttribute("viewBox") ?? "")?.[1]);
  const path = svg?.querySelector('path[fill="#000000"]')?.getAttribute("d") ?? "";
  const pixels = new Uint8ClampedArray(size * size * 4).fill(255);
  // qrcode-svg draws each dark module as "M x,y V y2 H x2 V y H x Z".
  for (const [, x1, y1, y2, x2] of path.matchAll(/M([\d.]+),([\d.]+) V([\d.]+) H([\d.]+) V[\d.]+ H[\d.]+ Z/g)) {
    for (let y = Math.round(Number(y1)); y < Math.round(Number(y2)); y++) {
      for (let x = Math.round(Number(x1)); x < Math.round(Number(x2)); x++) pixels.fill(0, (y * size + x) * 4, (y * size + x) * 4 + 3);
    }
  }
  const decoded = jsQR(pixels, size, size);
  expect(decoded, "the QR code on the page could not be decoded").toBeTruthy();
  return OTPAuth.URI.parse(decoded!.data) as OTPAuth.TOTP;
}
