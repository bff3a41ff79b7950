import { z } from "zod";
import { HOUR, MINUTE } from "../lib/clock";
import { SESSION_POLICY_LIMITS, type SessionPolicy } from "../portal/policy";
import { NumberField, wholeNumber } from "./fields";
import type { PolicyTab } from "./policy-tab";

const L = SESSION_POLICY_LIMITS;
const minutes = (ms: number) => Math.round(ms / MINUTE);
const hours = (ms: number) => Math.round(ms / HOUR);

function human(ms: number): string {
  if (ms % (24 * HOUR) === 0) return `${ms / (24 * HOUR)} days`;
  if (ms % HOUR === 0) return `${ms / HOUR} hours`;
  return `${minutes(ms)} minutes`;
}

/** Settings > … > Session Configuration. A shorter value ends sessions at their next request. */
export const sessionTab: PolicyTab<SessionPolicy> = {
  slug: "sessions",
  title: "Session Configuration",
  read: (policy) => policy.session,
  schema: z
    .object({
      idleMinutes: wholeNumber("Inactivity timeout", minutes(L.idleTimeoutMs.min), minutes(L.idleTimeoutMs.max)),
      absoluteHours: wholeNumber("Session lifetime", Math.max(1, hours(L.absoluteLifetimeMs.min)), hours(L.absoluteLifetimeMs.max)),
    })
    .refine((f) => f.absoluteHours * 60 >= f.idleMinutes, {
      message: "The session lifetime cannot be shorter than the inactivity timeout.",
    })
    .transform((f) => ({ idleTimeoutMs: f.idleMinutes * MINUTE, absoluteLifetimeMs: f.absoluteHours * HOUR })),
  describe(before, after) {
    const changes: string[] = [];
    if (before.idleTimeoutMs !== after.idleTimeoutMs)
      changes.push(`Inactivity timeout: ${human(before.idleTimeoutMs)} → ${human(after.idleTimeoutMs)}`);
    if (before.absoluteLifetimeMs !== after.absoluteLifetimeMs)
      changes.push(`Session lifetime: ${human(before.absoluteLifetimeMs)} → ${human(after.absoluteLifetimeMs)}`);
    return changes;
  },
  fields: (v) => ({ idleMinutes: String(minutes(v.idleTimeoutMs)), absoluteHours: String(hours(v.absoluteLifetimeMs)) }),
  write: (session) => ({ session }),
  Form: ({ action, value }) => (
    <form method="post" action={action} class="stack narrow" data-dialog="form.confirm-apply">
      <NumberField
        name="idleMinutes"
        label="Inactivity timeout (minutes)"
        value={minutes(value.idleTimeoutMs)}
        min={15}
        max={43200}
        hint="From 15 minutes to 30 days (43,200 minutes). A session unused this long ends."
      />
      <NumberField
        name="absoluteHours"
        label="Session lifetime (hours)"
        value={hours(value.absoluteLifetimeMs)}
        min={1}
        max={2160}
        hint="However active, a session ends this long after sign-in (up to 90 days)."
      />
      <p class="hint">A shorter value applies to every existing session at its next request.</p>
      <div class="actions">
        <button type="submit" class="primary">
          Save
        </button>
      </div>
    </form>
  ),
};
