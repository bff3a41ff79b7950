import type { Portal } from "../portal/policy";
import { kindOfPortal } from "../portal/policy";

const LISTED = 50;

/**
 * How many of the portal's active people have each second factor, and who has not
 * set up the authenticator app yet. Email OTP needs nothing set up: everyone has an email address.
 */
export async function EnrollmentCoverage({ env, portal }: { env: Env; portal: Portal }) {
  const kind = kindOfPortal(portal);
  const [counts, missing] = await env.DB.batch<Record<string, number | string>>([
    env.DB.prepare(
      `SELECT count(*) AS total, count(t.confirmed_at) AS app,
         (SELECT count(DISTINCT p.user_id) FROM passkeys p JOIN users pu ON pu.id = p.user_id WHERE pu.kind = ? AND pu.active = 1) AS passkey
       FROM users u LEFT JOIN totp_credentials t ON t.user_id = u.id WHERE u.kind = ? AND u.active = 1`,
    ).bind(kind, kind),
    env.DB.prepare(
      `SELECT u.name, u.email FROM users u LEFT JOIN totp_credentials t ON t.user_id = u.id AND t.confirmed_at IS NOT NULL
       WHERE u.kind = ? AND u.active = 1 AND t.user_id IS NULL AND u.password_hash IS NOT NULL ORDER BY u.name LIMIT ?`,
    ).bind(kind, LISTED + 1),
  ]);
  const total = Number(counts!.results[0]?.total ?? 0);
  const app = Number(counts!.results[0]?.app ?? 0);
  const passkey = Number(counts!.results[0]?.passkey ?? 0);
  const people = missing!.results as { name: string; email: string }[];
  const who = kind === "agent" ? "agents" : "contacts";
  return (
    <section class="coverage" aria-label="Enrollment coverage">
      <h2>Enrollment</h2>
      <ul data-testid="coverage">
        <li>
          Authenticator app: <strong>{app}</strong> of {total} active {who}
        </li>
        <li>
          Passkeys: <strong>{passkey}</strong> of {total}
        </li>
        <li>
          Email OTP: <strong>{total}</strong> of {total} (every account has an email address)
        </li>
      </ul>
      {people.length > 0 && (
        <details>
          <summary>Not set up the authenticator app yet{total - app > LISTED ? ` (first ${LISTED} of ${total - app})` : ""}</summary>
          <ul data-testid="not-enrolled">
            {people.slice(0, LISTED).map((p) => (
              <li>
                {p.name} · {p.email}
              </li>
            ))}
          </ul>
          <p class="hint">People who sign in only with Microsoft are not asked for the app and are not listed.</p>
        </details>
      )}
    </section>
  );
}
