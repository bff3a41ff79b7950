/** The person's own Durable Object (src/auth/user-do): sessions, remembered devices, codes in flight, counters. */
export function userStub(env: Env, userId: string) {
  return env.USER_DO.get(env.USER_DO.idFromName(userId));
}
