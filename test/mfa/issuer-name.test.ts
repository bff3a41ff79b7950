// Issue 17.2 and 17.3: the person is told to look for the portal's Issuer Name in their app (never
// "EdgeDesk"), and the otpauth:// URI carries it percent-encoded, as RFC 3986 decoders read it.
// The URI is checked with the otpauth library, not with our own parser.
import * as OTPAuth from "otpauth";
import { describe, expect, it } from "vitest";
import { keyUri } from "../../src/mfa/totp";
import { browser, fakeClock } from "../helpers/app";
import { makeContact } from "../helpers/factories";
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
    expect(codePage).toContain("enter the 6-digit code it shows for RTX Solutions – Agent App.");
    const refused = await signIn.post("/support/login/verify/app", { code: "000000" });
    expect(await refused.text()).toContain("Enter the newest code your app shows for RTX Solutions – Agent App.");
  });
});
