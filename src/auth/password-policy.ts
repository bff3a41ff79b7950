import { DAY } from "../lib/clock";
import type { PasswordPolicy } from "../portal/policy";
import { COMMON_PASSWORDS } from "./common-passwords";

export interface PasswordRule {
  text: string;
  test(password: string, who: { email: string; name: string }): boolean;
}

function personalWords(who: { email: string; name: string }): string[] {
  const local = who.email.split("@")[0] ?? "";
  return [local, ...who.name.split(/\s+/), ...local.split(/[._+-]/)].map((w) => w.toLowerCase()).filter((w) => [...w].length >= 3);
}

/** The rules a new password must meet under a policy, in the order the form lists them. */
export function passwordRules(policy: PasswordPolicy): PasswordRule[] {
  const rules: PasswordRule[] = [{ text: `At least ${policy.minLength} characters`, test: (p) => [...p].length >= policy.minLength }];
  if (policy.requireUppercase) rules.push({ text: "An upper-case letter", test: (p) => /\p{Lu}/u.test(p) });
  if (policy.requireLowercase) rules.push({ text: "A lower-case letter", test: (p) => /\p{Ll}/u.test(p) });
  if (policy.requireDigit) rules.push({ text: "A digit", test: (p) => /\p{Nd}/u.test(p) });
  if (policy.requireSymbol) rules.push({ text: "A symbol, such as ! or #", test: (p) => /[^\p{L}\p{N}\s]/u.test(p) });
  // Always on, whatever the policy (SECURITY.md 20, NIST SP 800-63B 3.1.1.2).
  rules.push({ text: "Not one of the most commonly used passwords", test: (p) => !COMMON_PASSWORDS.has(p.toLowerCase()) });
  rules.push({
    text: "Not your name or email address",
    test: (p, who) => {
      const lower = p.toLowerCase();
      return lower !== who.email.toLowerCase() && !personalWords(who).some((w) => lower.includes(w));
    },
  });
  return rules;
}

/**
 * Every rule a password breaks, in the words the rules list on the form uses (all at
 * once, so a person fixes them in one go), or null when it meets them all.
 */
export function checkNewPassword(password: string, policy: PasswordPolicy, who: { email: string; name: string }): string | null {
  const failed = passwordRules(policy).filter((rule) => !rule.test(password, who));
  if (failed.length === 0) return null;
  if (failed.length === 1) return `This password does not meet a rule: ${failed[0]!.text.toLowerCase()}.`;
  return `This password does not meet these rules: ${failed.map((r) => r.text.toLowerCase()).join("; ")}.`;
}

export function passwordExpired(passwordChangedAt: number | null, policy: PasswordPolicy, now: number): boolean {
  return policy.expiryDays > 0 && passwordChangedAt !== null && now - passwordChangedAt >= policy.expiryDays * DAY;
}
