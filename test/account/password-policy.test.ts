import { describe, expect, it } from "vitest";
import { COMMON_PASSWORDS } from "../../src/auth/common-passwords";
import { checkNewPassword, passwordExpired } from "../../src/auth/password-policy";
import { DAY } from "../../src/lib/clock";
import { defaultPortalPolicy, type PasswordPolicy } from "../../src/portal/policy";

const who = { email: "robin.hood@sherwood.example", name: "Robin Hood" };
const nist = defaultPortalPolicy().password;
const strict: PasswordPolicy = {
  ...nist,
  minLength: 12,
  requireUppercase: true,
  requireLowercase: true,
  requireDigit: true,
  requireSymbol: true,
};

describe("password rules", () => {
  it("defaults to NIST: length only, no composition rules, no expiry, no history", () => {
    expect(nist).toEqual({
      minLength: 8,
      requireUppercase: false,
      requireLowercase: false,
      requireDigit: false,
      requireSymbol: false,
      expiryDays: 0,
      reuseCount: 0,
    });
    expect(checkNewPassword("horse battery", nist, who)).toBeNull();
    expect(checkNewPassword("seven77", nist, who)).toContain("at least 8 characters");
  });

  it("names every unmet rule at once, in the words the rules list uses", () => {
    expect(checkNewPassword("longpasswordonly", strict, who)).toBe(
      "This password does not meet these rules: an upper-case letter; a digit; a symbol, such as ! or #.",
    );
    expect(checkNewPassword("robin", strict, who)).toBe(
      "This password does not meet these rules: at least 12 characters; an upper-case letter; a digit; a symbol, such as ! or #; not your name or email address.",
    );
    expect(checkNewPassword("Longpasswordonly1", strict, who)).toBe("This password does not meet a rule: a symbol, such as ! or #.");
  });

  it.each([
    ["Abcdefgh1!xy", null],
    ["abcdefgh1!xy", "an upper-case letter"],
    ["ABCDEFGH1!XY", "a lower-case letter"],
    ["Abcdefghij!x", "a digit"],
    ["Abcdefgh12xy", "a symbol"],
    ["Ab1!short", "at least 12 characters"],
    ["Ünïcödé-Pass1", null],
  ])("under a strict policy, %s → %s", (password, broken) => {
    const result = checkNewPassword(password, strict, who);
    if (broken === null) expect(result).toBeNull();
    else expect(result).toContain(broken);
  });

  it("counts characters, not bytes, and accepts 64+ characters, Unicode and spaces", () => {
    expect(checkNewPassword("ééééééé", nist, who)).toContain("at least 8");
    expect(checkNewPassword("éééééééé", nist, who)).toBeNull();
    expect(checkNewPassword("a very long passphrase ".repeat(5), nist, who)).toBeNull();
    expect(checkNewPassword("鍵盤の上を猫が歩いた日曜日", nist, who)).toBeNull();
  });

  it("always refuses common passwords, whatever the policy, in any case", () => {
    expect(COMMON_PASSWORDS.size).toBe(5000);
    for (const p of ["password", "PASSWORD1", "qwertyuiop", "iloveyou", "trustno1"]) {
      if (p.length >= 8) expect(checkNewPassword(p, nist, who), p).toContain("most commonly used");
    }
  });

  it("always refuses the person's own name or email", () => {
    for (const p of ["robin.hood@sherwood.example", "I am RobinHood!", "hood-is-good-123", "sherwood-forest"]) {
      const result = checkNewPassword(p, nist, who);
      if (p === "sherwood-forest")
        expect(result).toBeNull(); // the domain is not personal
      else expect(result, p).toContain("not your name or email");
    }
  });

  it("expires a password only when the policy has a period", () => {
    const changed = Date.UTC(2026, 0, 1);
    expect(passwordExpired(changed, nist, changed + 10_000 * DAY)).toBe(false);
    const ninety = { ...nist, expiryDays: 90 };
    expect(passwordExpired(changed, ninety, changed + 90 * DAY - 1)).toBe(false);
    expect(passwordExpired(changed, ninety, changed + 90 * DAY)).toBe(true);
  });
});
