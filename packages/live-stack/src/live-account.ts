import { Gatehouse } from "@gatehouse/sdk";
import type { LiveStack } from "./live-stack.ts";

/** A new account of a {@link LiveStack}, and an SDK client of its root user. */
export interface LiveAccount {
  readonly accountId: string;
  readonly rootCredentials: { readonly accessKeyId: string; readonly secretAccessKey: string };
  /**
   * A session of the root user (read-your-writes across its calls) on the stack's control plane and
   * first region; the caller closes it.
   */
  readonly root: Gatehouse;
}

/**
 * Creates an account through the operator credential, as the SDK's and the CLI's integration
 * tests each begin.
 *
 * @example
 * const { accountId, root } = await createLiveAccount(stack);
 * await root.iam.createUser({ userName: "alice" });
 */
export async function createLiveAccount(stack: LiveStack): Promise<LiveAccount> {
  const operator = new Gatehouse({
    credentials: stack.operator,
    endpoints: { controlPlane: stack.controlPlane },
    env: {},
  });
  try {
    const account = await operator.iam.createAccount({ accountAlias: "" });
    const rootCredentials = { accessKeyId: account.rootAccessKeyId, secretAccessKey: account.rootSecretAccessKey };
    const root = new Gatehouse({
      credentials: rootCredentials,
      region: stack.region,
      endpoints: { controlPlane: stack.controlPlane, regions: { [stack.region]: [stack.decider] } },
      env: {},
    }).session();
    return { accountId: account.accountId, rootCredentials, root };
  } finally {
    operator.close();
  }
}
