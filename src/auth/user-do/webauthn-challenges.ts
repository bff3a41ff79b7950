/** WebAuthn challenges by purpose ("register", or a sign-in flow); a new one replaces the earlier. */
export function putWebauthnChallenge(sql: SqlStorage, purpose: string, challenge: string, expiresAt: number): void {
  sql.exec("INSERT OR REPLACE INTO webauthn_challenges (purpose, challenge, expires_at) VALUES (?, ?, ?)", purpose, challenge, expiresAt);
}

/** Single use: the challenge is gone once taken, answered or not; an expired one is never returned. */
export function takeWebauthnChallenge(sql: SqlStorage, purpose: string, now: number): string | null {
  const row = sql
    .exec<{ challenge: string; expires_at: number }>(
      "DELETE FROM webauthn_challenges WHERE purpose = ? RETURNING challenge, expires_at",
      purpose,
    )
    .toArray()[0];
  return row && row.expires_at > now ? row.challenge : null;
}
