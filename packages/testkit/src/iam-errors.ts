import { IamError } from "@gatehouse/core";

/**
 * Awaits a call that must fail with an {@link IamError} and returns that error, for assertions
 * on its AWS name, field and message; anything else (success, another error) fails the test.
 *
 * @example
 * expect((await iamErrorOf(store.createUser(acct, { userName: "x" }))).awsName).toBe("LimitExceeded");
 */
export async function iamErrorOf(p: Promise<unknown>): Promise<IamError> {
  try {
    await p;
  } catch (e) {
    if (IamError.is(e)) return e;
    throw e;
  }
  throw new Error("expected the call to fail with an IamError, but it succeeded");
}
