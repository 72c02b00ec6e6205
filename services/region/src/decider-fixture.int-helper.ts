// A live decider for integration tests (a region view under its own Redis key prefix, the gRPC
// server, a client) and builders of the entities its tests apply to the view.
import type { PolicyState, RoleState, TypedEntity, UserState } from "@gatehouse/events";
import { AuthorizerServiceClient } from "@gatehouse/proto";
import { createTestKeyPrefix, testRedis } from "@gatehouse/testkit";
import { createRegionView, type RegionView } from "@gatehouse/view-redis";
import { credentials, type ServiceError } from "@grpc/grpc-js";
import type { Redis } from "ioredis";
import { pino } from "pino";
import { expect } from "vitest";
import { type DeciderServer, type DeciderServerOptions, startDeciderServer } from "./decider-server.ts";

/** A managed policy entity (its state typed, for `attachedPolicies`). */
export type PolicyEntity = TypedEntity & { kind: "policy"; state: PolicyState };

/** Builders of one account's users, roles and managed policies. */
export interface AccountEntities {
  user(name: string, o?: Partial<UserState>): TypedEntity;
  role(name: string, trustPolicy: string, o?: Partial<RoleState>): TypedEntity;
  policy(name: string, document: string): PolicyEntity;
}

/**
 * Entities of `accountId` with ARNs under it; ids are `AIDA`/`AROA`/`ANPA` + the upper-cased name +
 * `idSuffix` (tests with several accounts pass the account id, so names may repeat across them).
 */
export function accountEntities(accountId: string, idSuffix = ""): AccountEntities {
  const arnOf = (kind: string, name: string) => `arn:aws:iam::${accountId}:${kind}/${name}`;
  return {
    user(name, o = {}) {
      const state: UserState = {
        accountId,
        userId: `AIDA${name.toUpperCase()}${idSuffix}`,
        userName: name,
        path: "/",
        arn: arnOf("user", name),
        createdAtMs: 1,
        tags: [],
        permissionsBoundaryArn: null,
        groups: [],
        attachedPolicies: [],
        inlinePolicies: [],
        ...o,
      };
      return { kind: "user", id: state.userId, state };
    },
    role(name, trustPolicy, o = {}) {
      const state: RoleState = {
        accountId,
        roleId: `AROA${name.toUpperCase()}${idSuffix}`,
        roleName: name,
        path: "/",
        arn: arnOf("role", name),
        createdAtMs: 1,
        assumeRolePolicyDocument: trustPolicy,
        description: "",
        maxSessionDuration: 3600,
        tags: [],
        permissionsBoundaryArn: null,
        attachedPolicies: [],
        inlinePolicies: [],
        ...o,
      };
      return { kind: "role", id: state.roleId, state };
    },
    policy(name, document) {
      const state: PolicyState = {
        accountId,
        policyId: `ANPA${name.toUpperCase()}${idSuffix}`,
        policyName: name,
        path: "/",
        arn: arnOf("policy", name),
        description: "",
        defaultVersionId: "v1",
        createdAtMs: 1,
        updatedAtMs: 1,
        tags: [],
        versions: [{ versionId: "v1", document, isDefault: true, createdAtMs: 1 }],
      };
      return { kind: "policy", id: state.policyId, state };
    },
  };
}

/** A running test decider; {@link TestDecider.close} stops it and removes its keys. */
export interface TestDecider {
  readonly redis: Redis;
  /** The notification subscriber the decider reads (a test may pause its socket). */
  readonly subscriber: Redis;
  readonly view: RegionView;
  readonly server: DeciderServer;
  readonly client: AuthorizerServiceClient;
  /** Applies the account's next revision with `entities`; returns that revision. */
  apply(accountId: string, ...entities: TypedEntity[]): Promise<number>;
  /** The account's last applied revision (0 before any). */
  revisionOf(accountId: string): number;
  close(): Promise<void>;
}

/**
 * Starts a decider (region eu-west-1, 1 MiB L1, silent logs, port 0) over a fresh view under a key
 * prefix of its own, and a client to it.
 */
export async function startTestDecider(
  prefix: string,
  options: Partial<Omit<DeciderServerOptions, "view" | "subscriber">> = {},
): Promise<TestDecider> {
  const keys = createTestKeyPrefix({ prefix });
  const redis = testRedis();
  const subscriber = testRedis();
  const view = createRegionView({ redis, keyPrefix: keys.prefix });
  await view.ensureGeneration();
  const server = await startDeciderServer({
    listen: { host: "127.0.0.1", port: 0 },
    region: "eu-west-1",
    l1MaxBytes: 1 << 20,
    logger: pino({ level: "silent" }),
    ...options,
    view,
    subscriber,
  });
  const client = new AuthorizerServiceClient(`127.0.0.1:${server.port}`, credentials.createInsecure());
  const revisions = new Map<string, number>();
  return {
    redis,
    subscriber,
    view,
    server,
    client,
    async apply(accountId, ...entities) {
      const revision = (revisions.get(accountId) ?? 0) + 1;
      revisions.set(accountId, revision);
      expect((await view.applyRevision(accountId, revision, "e", entities)).kind).toBe("applied");
      return revision;
    },
    revisionOf: (accountId) => revisions.get(accountId) ?? 0,
    async close() {
      client.close();
      await server.close();
      await redis.quit();
      await subscriber.quit().catch(() => {});
      await keys.cleanup();
    },
  };
}

/** The gRPC error a call failed with; throws when it succeeded. */
export async function grpcFailure(p: Promise<unknown>): Promise<ServiceError> {
  const e = await p.then(
    () => undefined,
    (x: unknown) => x as ServiceError,
  );
  if (e === undefined) throw new Error("expected the call to fail");
  return e;
}
