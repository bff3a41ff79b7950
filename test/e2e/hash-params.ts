// The journeys' Worker and seed hash passwords cheaply (development only; production refuses
// this): sign-in in a journey costs milliseconds, not a production hash. test/auth/password.test.ts
// covers the production parameters, and the bench times them.
export const JOURNEY_HASH_PARAMS = { N: 1024, r: 1, p: 1 } as const;
