/**
 * Loads the population of `dataset-plan.ts` through the public API (the SDK, signed with each
 * account's root key). Every run creates its own accounts (aliases `lt-<run>-<n>`), so runs never
 * collide and a rerun needs no cleanup.
 */
import type { Credentials } from "@gatehouse/auth";
import { Gatehouse } from "@gatehouse/sdk";
import {
  forAccount,
  GROUPS,
  MANAGED_POLICIES,
  ROLES,
  USER_QUEUE_POLICY,
  userPlan,
  writesPerAccount,
} from "./dataset-plan.ts";
import type { Progress } from "./progress.ts";
import type { SystemEndpoints } from "./system.ts";

/** One loaded account: its id, root key and the revision its last dataset write returned. */
export interface LoadedAccount {
  readonly accountId: string;
  readonly root: Credentials;
  readonly users: number;
  /** The probe user the propagation phase rewrites (`lt-probe`). */
  readonly probeArn: string;
  revision: number;
}

/** Options of {@link loadDataset}. */
export interface DatasetOptions {
  readonly accounts: number;
  readonly users: number;
  /** Accounts loaded at once (each account's writes are sequential). */
  readonly concurrency: number;
  readonly runId: string;
}

/** A client for one account's root (or the operator) against the system. */
export function clientFor(system: SystemEndpoints, credentials: Credentials, region?: string): Gatehouse {
  return new Gatehouse({
    credentials,
    region: region ?? system.regions[0]?.name ?? "us-east-1",
    endpoints: {
      controlPlane: system.controlPlane,
      regions: Object.fromEntries(system.regions.map((r) => [r.name, r.deciders])),
    },
    env: {},
    timeoutMs: 30_000,
  });
}

/** Creates `accounts` accounts with their population; returns them with their last revision. */
export async function loadDataset(
  system: SystemEndpoints,
  options: DatasetOptions,
  progress: Progress,
): Promise<{ accounts: LoadedAccount[]; writes: number; ms: number }> {
  const operator = clientFor(system, system.operator);
  const perAccount = writesPerAccount(options.users);
  const total = options.accounts * perAccount;
  let writes = 0;
  const started = performance.now();
  progress.start("dataset", total);
  const accounts: LoadedAccount[] = [];
  let next = 0;
  const worker = async () => {
    while (next < options.accounts) {
      const n = next++;
      const created = await operator.iam.createAccount({ accountAlias: `lt-${options.runId}-${n}` });
      const root = { accessKeyId: created.rootAccessKeyId, secretAccessKey: created.rootSecretAccessKey };
      const gh = clientFor(system, root);
      const account: LoadedAccount = {
        accountId: created.accountId,
        root,
        users: options.users,
        probeArn: `arn:aws:iam::${created.accountId}:user/lt-probe`,
        revision: 0,
      };
      const note = (r: { revision?: { revision: number } }) => {
        account.revision = Math.max(account.revision, r.revision?.revision ?? 0);
        writes++;
        progress.tick();
      };
      try {
        await loadAccount(gh, account, note);
      } finally {
        gh.close();
      }
      accounts.push(account);
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.max(1, options.concurrency) }, worker));
  } finally {
    operator.close();
    progress.done();
  }
  return { accounts, writes, ms: performance.now() - started };
}

type Note = (r: { revision?: { revision: number } }) => void;

async function loadAccount(gh: Gatehouse, a: LoadedAccount, note: Note): Promise<void> {
  const id = a.accountId;
  const arnOf = (name: string) => `arn:aws:iam::${id}:policy/${name}`;
  for (const [name, document] of Object.entries(MANAGED_POLICIES)) {
    note(await gh.iam.createPolicy({ policyName: name, policyDocument: forAccount(document, id) }));
  }
  for (const g of GROUPS) {
    note(await gh.iam.createGroup({ groupName: g.name }));
    for (const m of g.managed) note(await gh.iam.attachGroupPolicy({ groupName: g.name, policyArn: arnOf(m) }));
    for (const [policyName, document] of Object.entries(g.inline)) {
      note(await gh.iam.putGroupPolicy({ groupName: g.name, policyName, policyDocument: forAccount(document, id) }));
    }
  }
  for (const r of ROLES) {
    note(await gh.iam.createRole({ roleName: r.name, assumeRolePolicyDocument: forAccount(r.trust, id) }));
    for (const m of r.managed) note(await gh.iam.attachRolePolicy({ roleName: r.name, policyArn: arnOf(m) }));
    note(
      await gh.iam.putRolePolicy({ roleName: r.name, policyName: "inline", policyDocument: forAccount(r.inline, id) }),
    );
  }
  note(await gh.iam.createUser({ userName: "lt-probe" }));
  for (let i = 0; i < a.users; i++) {
    const u = userPlan(i);
    note(
      await gh.iam.createUser({
        userName: u.name,
        tags: [{ key: "team", value: u.team }],
        ...(u.boundary ? { permissionsBoundaryArn: arnOf("LtDeveloperBoundary") } : {}),
      }),
    );
    for (const g of u.groups) note(await gh.iam.addUserToGroup({ groupName: g, userName: u.name }));
    if (u.queuePolicy) {
      note(
        await gh.iam.putUserPolicy({
          userName: u.name,
          policyName: "queues",
          policyDocument: forAccount(USER_QUEUE_POLICY, id),
        }),
      );
    }
  }
}
