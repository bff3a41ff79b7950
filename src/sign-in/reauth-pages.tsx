// The parts of a "confirm it's you" form that My account and re-authentication both show.
import type { Portal } from "../portal/policy";
import { Field } from "../web/layout";
import type { secondProofFor } from "./steps";

/**
 * The mailed-code part of an identity form: the code field, and a button that (inside the same
 * form, so no nesting) asks for a code and comes back to `next`.
 */
export function EmailedCodeField(props: { portal: Portal; next: string; optional?: boolean }) {
  const hint = props.optional
    ? "You signed in to this browser with just your password: to change your password or add a passkey or app here, choose “Email me a code”, then enter the 6 digits."
    : "Choose “Email me a code”, then enter the 6 digits here.";
  return (
    <>
      <Field
        label="Code from your email"
        name="code"
        inputmode="numeric"
        autocomplete="one-time-code"
        maxlength={6}
        required={false}
        hint={hint}
      />
      <div class="actions">
        <button
          type="submit"
          formaction={`/${props.portal}/reauth/email?next=${encodeURIComponent(props.next)}`}
          formmethod="post"
          formnovalidate
        >
          Email me a code
        </button>
      </div>
    </>
  );
}

export const CODE_SENT = "We emailed you a code. It works once, for 10 minutes.";

/**
 * What a form that confirms identity asks besides the password, as secondProofFor decides it and
 * confirmIdentity checks it: the app's code, a mailed code (`next`: where asking for one returns), or nothing.
 */
export function SecondProofFields(props: { proof: ReturnType<typeof secondProofFor>; issuer: string; portal: Portal; next: string }) {
  if (props.proof === "none") return null;
  if (props.proof !== "app")
    return <EmailedCodeField portal={props.portal} next={props.next} optional={props.proof === "email_optional"} />;
  return (
    <Field
      label="Authentication code"
      name="code"
      inputmode="numeric"
      autocomplete="one-time-code"
      maxlength={6}
      hint={`The 6 digits your authenticator app shows for ${props.issuer}.`}
    />
  );
}
