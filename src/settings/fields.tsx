import { type Child, useContext } from "hono/jsx";
import { describedBy, FieldError, FieldErrorsContext } from "../web/layout";
import { z } from "zod";

/** An HTML checkbox: "on" when ticked, absent (or "") when not. Anything else is refused. */
export const checkbox = z
  .union([z.literal("on"), z.literal("")], { error: "A checkbox had an unexpected value. Reload the page and try again." })
  .optional()
  .transform((v) => v === "on");

/** A checkbox whose label is only its name; the explanation is linked, not part of the label. */
export function Toggle(props: { name: string; label: string; checked: boolean; children?: Child }) {
  const id = `field-${props.name}`;
  return (
    <div class="toggle">
      <input type="checkbox" id={id} name={props.name} checked={props.checked} aria-describedby={`${id}-hint`} />
      <div>
        <label for={id}>{props.label}</label>
        <p class="hint" id={`${id}-hint`}>
          {props.children}
        </p>
      </div>
    </div>
  );
}

/** A whole number typed into a form, within bounds, with a message that names the field. */
export function wholeNumber(label: string, min: number, max: number) {
  const message = `${label} must be a whole number from ${min} to ${max}.`;
  return z
    .string({ error: message })
    .trim()
    .regex(/^\d{1,7}$/, message)
    .transform(Number)
    .pipe(z.number().int().min(min, message).max(max, message));
}

export function NumberField(props: { name: string; label: string; value: number | string; min: number; max: number; hint: string }) {
  const id = `field-${props.name}`;
  // A refused save shows each field's problem beside it (the tab's page provides them).
  const error = useContext(FieldErrorsContext)[props.name];
  return (
    <div class={error ? "field invalid" : "field"}>
      <label for={id}>{props.label}</label>
      <input
        id={id}
        name={props.name}
        type="number"
        inputmode="numeric"
        value={String(props.value)}
        min={props.min}
        max={props.max}
        required
        aria-invalid={error ? "true" : undefined}
        aria-describedby={describedBy(id, props.hint, error)}
      />
      <p class="hint" id={`${id}-hint`}>
        {props.hint}
      </p>
      <FieldError id={id} error={error} />
    </div>
  );
}
