import type { PasswordRule } from "../auth/password-policy";

/** The rules that apply, listed beside every new-password field. */
export function PasswordRulesList({ rules }: { rules: PasswordRule[] }) {
  return (
    <div class="password-rules">
      <p class="hint">Your password needs:</p>
      <ul class="hint">
        {rules.map((rule) => (
          <li>{rule.text}</li>
        ))}
      </ul>
    </div>
  );
}
