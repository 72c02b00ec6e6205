import { randomBytes } from "node:crypto";
import { secretKeyId } from "@gatehouse/auth";
import { createTestSchema, type TestSchema } from "@gatehouse/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createPostgresStore, type IamStore } from "./index.ts";

const doc = (action: string) =>
  JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: action, Resource: "*" }] });
const TRUST = JSON.stringify({
  Version: "2012-10-17",
  Statement: [{ Effect: "Allow", Principal: { Service: "ec2.amazonaws.com" }, Action: "sts:AssumeRole" }],
});

describe("STS keys and what session callers are authorized with (real Postgres)", () => {
  let testSchema: TestSchema;
  let store: IamStore;
  let accountId: string;
  beforeAll(async () => {
    testSchema = await createTestSchema({ prefix: "stskeys", migrated: true });
    store = createPostgresStore({
      connectionString: testSchema.databaseUrl,
      schema: testSchema.name,
      secretKey: randomBytes(32),
      poolSize: 2,
    });
    await store.migrate();
    accountId = (await store.createAccount({})).accountId;
  });
  afterAll(async () => {
    await store.close();
    await testSchema.drop();
  });

  it("unseals the key set for the control plane's verifier, oldest first, ids derived from the keys", async () => {
    await store.ensureStsKey();
    await store.rotateStsKeys({ activationDelayMs: 0 });
    const keys = await store.getStsKeys();
    expect(keys).toHaveLength(2);
    for (const k of keys) {
      expect(k.key).toHaveLength(32);
      expect(secretKeyId(k.key)).toBe(k.keyId);
    }
    expect(keys[0]?.retiredAtMs).not.toBeNull();
    expect(keys[1]?.retiredAtMs).toBeNull();
  });

  it("reads a role's inline, attached and boundary policies and tags; undefined for a role the account does not have", async () => {
    const managed = (
      await store.createPolicy(accountId, { policyName: "Read", path: "/ops/", policyDocument: doc("s3:Get*") })
    ).value;
    const bound = (await store.createPolicy(accountId, { policyName: "Bound", path: "/", policyDocument: doc("s3:*") }))
      .value;
    const role = (
      await store.createRole(accountId, {
        roleName: "app",
        assumeRolePolicyDocument: TRUST,
        tags: [{ key: "env", value: "prod" }],
        permissionsBoundaryArn: bound.arn,
      })
    ).value;
    await store.putInlinePolicy(accountId, { kind: "role", name: "app" }, "inline", doc("sqs:*"));
    await store.attachPolicy(accountId, { kind: "role", name: "app" }, managed.arn);
    const p = await store.getRolePolicies(accountId, role.roleId);
    expect(p?.identityPolicies.map((x) => x.id).sort()).toEqual([managed.arn, "inline:app/inline"].sort());
    expect(p?.permissionsBoundary?.id).toBe(bound.arn);
    expect(p?.principalTags).toEqual([{ key: "env", value: "prod" }]);
    expect(await store.getRolePolicies("999999999999", role.roleId)).toBeUndefined();

    const docs = await store.getPolicyDocuments([
      managed.arn,
      `arn:aws:iam::${accountId}:policy/Read`, // wrong path
      "arn:aws:iam::aws:policy/ReadOnlyAccess",
      "not an arn",
    ]);
    expect([...docs.keys()].sort()).toEqual(["arn:aws:iam::aws:policy/ReadOnlyAccess", managed.arn].sort());
    expect(docs.get(managed.arn)).toContain("s3:Get*");
  });
});
