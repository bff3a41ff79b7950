export const MIN_PASSWORD_LENGTH = 8;

/** The rules a new password must meet; a message naming the first one it fails, or null. */
export function checkNewPassword(password: string): string | null {
  if ([...password].length < MIN_PASSWORD_LENGTH) return `Use at least ${MIN_PASSWORD_LENGTH} characters.`;
  return null;
}
