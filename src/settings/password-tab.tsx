import { z } from "zod";
import { PASSWORD_POLICY_LIMITS, type PasswordPolicy } from "../portal/policy";
import { checkbox, NumberField, Toggle, wholeNumber } from "./fields";
import type { PolicyTab } from "./policy-tab";

const L = PASSWORD_POLICY_LIMITS;
const onOff = (v: boolean) => (v ? "required" : "not required");
const RULES = [
  ["requireUppercase", "Upper-case letter"],
  ["requireLowercase", "Lower-case letter"],
  ["requireDigit", "Digit"],
  ["requireSymbol", "Symbol"],
] as const;

/** Settings > … > Password Requirements. */
export const passwordTab: PolicyTab<PasswordPolicy> = {
  slug: "password",
  title: "Password Requirements",
  read: (policy) => policy.password,
  schema: z.object({
    minLength: wholeNumber("Minimum length", L.minLength.min, L.minLength.max),
    requireUppercase: checkbox,
    requireLowercase: checkbox,
    requireDigit: checkbox,
    requireSymbol: checkbox,
    expiryDays: wholeNumber("Expiration period", L.expiryDays.min, L.expiryDays.max),
    reuseCount: wholeNumber("Reuse restriction", L.reuseCount.min, L.reuseCount.max),
  }),
  describe(before, after) {
    const changes: string[] = [];
    if (before.minLength !== after.minLength) changes.push(`Minimum length: ${before.minLength} → ${after.minLength}`);
    for (const [key, label] of RULES)
      if (before[key] !== after[key]) changes.push(`${label}: ${onOff(before[key])} → ${onOff(after[key])}`);
    const days = (n: number) => (n === 0 ? "never" : `${n} days`);
    if (before.expiryDays !== after.expiryDays) changes.push(`Expiration period: ${days(before.expiryDays)} → ${days(after.expiryDays)}`);
    if (before.reuseCount !== after.reuseCount) changes.push(`Reuse restriction: last ${before.reuseCount} → last ${after.reuseCount}`);
    return changes;
  },
  fields: (v) => ({
    minLength: String(v.minLength),
    ...Object.fromEntries(RULES.map(([key]) => [key, v[key] ? "on" : ""])),
    expiryDays: String(v.expiryDays),
    reuseCount: String(v.reuseCount),
  }),
  write: (password) => ({ password }),
  Form: ({ action, value }) => (
    <form method="post" action={action} class="stack narrow" data-dialog="form.confirm-apply">
      <p class="hint">
        The defaults follow NIST SP 800-63B: length matters most, while composition rules and forced expiry push people to predictable
        passwords. Common passwords and the person's own name or email are always refused.
      </p>
      <NumberField
        name="minLength"
        label="Minimum length"
        value={value.minLength}
        min={L.minLength.min}
        max={L.minLength.max}
        hint="8 to 128 characters."
      />
      <fieldset class="choices">
        <legend>Complexity</legend>
        {RULES.map(([key, label]) => (
          <Toggle name={key} label={`At least one ${label.toLowerCase()}`} checked={value[key]}>
            Off by default.
          </Toggle>
        ))}
      </fieldset>
      <NumberField
        name="expiryDays"
        label="Expiration period (days)"
        value={value.expiryDays}
        min={0}
        max={L.expiryDays.max}
        hint="0 means passwords never expire."
      />
      <NumberField
        name="reuseCount"
        label="Reuse restriction"
        value={value.reuseCount}
        min={0}
        max={24}
        hint="How many previous passwords cannot be used again (0 to 24)."
      />
      <div class="actions">
        <button type="submit" class="primary">
          Save
        </button>
      </div>
    </form>
  ),
};
