import { randomBytes } from "node:crypto";
import {
  decodeChangeEvent,
  decodeEntity,
  decodeEntityChange,
  ENTITY_KINDS,
  encodeChangeEvent,
  SYSTEM_ACCOUNT_ID,
} from "@gatehouse/events";
import { createTestSchema, type TestSchema } from "@gatehouse/testkit";
import { generate } from "otplib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createPostgresStore, type IamStore } from "./index.ts";

const DOC = JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "s3:*", Resource: "*" }] });
const TRUST = JSON.stringify({
  Version: "2012-10-17",
  Statement: [{ Effect: "Allow", Principal: { Service: "ec2.amazonaws.com" }, Action: "sts:AssumeRole" }],
});
const GUARDRAIL = JSON.stringify({
  Version: "2012-10-17",
  Statement: [{ Effect: "Deny", Action: "iam:DeleteAccountPasswordPolicy", Resource: "*" }],
});

// The producer side of the typed states: every document the real store writes to the outbox (the
// SQL-built gh_*_state ones and the TypeScript-built ones) and every exported entity decodes with
// @gatehouse/events' strict decoder, so a producer that emits a field the type lacks (or drops
// one, or changes its type) fails here.
describe("entity states the store emits decode as their typed kinds (real Postgres)", () => {
  let testSchema: TestSchema;
  let store: IamStore;
  let accountId: string;

  beforeAll(async () => {
    testSchema = await createTestSchema({ prefix: "states", migrated: true });
    store = createPostgresStore({
      connectionString: testSchema.databaseUrl,
      schema: testSchema.name,
      secretKey: randomBytes(32),
      poolSize: 4,
    });
    await store.migrate();
    accountId = (await store.createAccount({})).accountId;

    // One entity of every kind, with the optional parts filled so nested documents travel too.
    await store.createAccountAlias(accountId, `states-${accountId}`);
    await store.updatePasswordPolicy(accountId, {
      minimumPasswordLength: 10,
      requireSymbols: false,
      requireNumbers: true,
      requireUppercaseCharacters: true,
      requireLowercaseCharacters: true,
      allowUsersToChangePassword: true,
      maxPasswordAge: 90,
      passwordReusePrevention: 2,
      hardExpiry: false,
    });
    await store.attachAccountGuardrail(accountId, "arn:aws:iam::aws:policy/guardrails/KeepPasswordPolicy", GUARDRAIL);
    const policy = (
      await store.createPolicy(accountId, {
        policyName: "S3",
        path: "/ops/",
        policyDocument: DOC,
        tags: [{ key: "owner", value: "ops" }],
      })
    ).value;
    await store.createPolicyVersion(accountId, policy.arn, { policyDocument: DOC, setAsDefault: true });
    await store.createUser(accountId, {
      userName: "alice",
      path: "/eng/",
      tags: [{ key: "team", value: "a" }],
      permissionsBoundaryArn: policy.arn,
    });
    await store.createGroup(accountId, { groupName: "devs" });
    await store.addUserToGroup(accountId, "devs", "alice");
    await store.attachPolicy(accountId, { kind: "group", name: "devs" }, policy.arn);
    await store.attachPolicy(accountId, { kind: "user", name: "alice" }, "arn:aws:iam::aws:policy/ReadOnlyAccess");
    await store.putInlinePolicy(accountId, { kind: "user", name: "alice" }, "inline", DOC);
    await store.createRole(accountId, {
      roleName: "deployer",
      assumeRolePolicyDocument: TRUST,
      description: "deploys",
      tags: [{ key: "env", value: "prod" }],
      permissionsBoundaryArn: policy.arn,
    });
    await store.putInlinePolicy(accountId, { kind: "role", name: "deployer" }, "inline", DOC);
    await store.createAccessKey(accountId, "alice");
    await store.createLoginProfile(accountId, "alice", { password: "Correct-Horse-42", passwordResetRequired: true });
    const mfa = (
      await store.createVirtualMfaDevice(accountId, {
        deviceName: "alice-phone",
        path: "/",
        tags: [{ key: "owner", value: "alice" }],
      })
    ).value;
    const now = Math.floor(Date.now() / 1000);
    const codes = [
      await generate({ secret: mfa.base32StringSeed, epoch: now - 30 }),
      await generate({ secret: mfa.base32StringSeed, epoch: now }),
    ] as const;
    await store.enableMfaDevice(accountId, "alice", mfa.serialNumber, codes);
    await store.createInstanceProfile(accountId, { instanceProfileName: "web", tags: [{ key: "tier", value: "web" }] });
    await store.addRoleToInstanceProfile(accountId, "web", "deployer");
    await store.createOpenIdConnectProvider(accountId, {
      url: "issuer.example.com",
      clientIds: ["sts.amazonaws.com"],
      thumbprints: ["9e99a48a9960b14926bb7f3b02e22da2b0ab7280"],
      jwks: JSON.stringify({ keys: [] }),
      tags: [{ key: "idp", value: "corp" }],
    });
    await store.putResourcePolicy(accountId, {
      resourceArn: "arn:aws:s3:::states-bucket",
      policyDocument: JSON.stringify({
        Version: "2012-10-17",
        Statement: [
          { Effect: "Allow", Principal: "*", Action: "s3:GetObject", Resource: "arn:aws:s3:::states-bucket/*" },
        ],
      }),
    });
    // Tombstones travel too: a second key, deleted.
    const doomed = (await store.createAccessKey(accountId, "alice")).value.accessKey.accessKeyId;
    await store.deleteAccessKey(accountId, "alice", doomed);
    // The global STS key set travels on the system account's stream.
    await store.ensureStsKey();
  });
  afterAll(async () => {
    await store.close();
    await testSchema.drop();
  });

  it("decodes every outbox payload, of every kind, through the change-event wire form", async () => {
    const rows = await store.pool.query<{ entity_kind: string; entity_id: string; revision: string; payload: unknown }>(
      "SELECT entity_kind, entity_id, revision, payload FROM outbox WHERE account_id IN ($1, $2) ORDER BY id",
      [accountId, SYSTEM_ACCOUNT_ID],
    );
    const upserted = new Set<string>();
    let tombstones = 0;
    for (const row of rows.rows) {
      const bytes = encodeChangeEvent({
        schemaVersion: 0,
        eventId: "",
        accountId,
        revision: Number(row.revision),
        committedAtMs: 0,
        revisionIndex: 0,
        revisionEvents: 0,
        key: { kind: row.entity_kind, id: row.entity_id },
        change:
          row.payload === null
            ? { $case: "delete", value: {} }
            : { $case: "upsertJson", value: JSON.stringify(row.payload) },
        epoch: "",
      });
      const entity = decodeEntityChange(decodeChangeEvent(bytes));
      expect([entity.kind, entity.id]).toEqual([row.entity_kind, row.entity_id]);
      expect(entity.state).toEqual(row.payload);
      if (entity.state === null) tombstones++;
      else upserted.add(entity.kind);
    }
    expect([...upserted].sort()).toEqual([...ENTITY_KINDS].sort());
    expect(tombstones).toBe(1);
  });

  it("decodes every exported entity, with and without sealed secrets", async () => {
    for (const includeSealedSecrets of [false, true]) {
      const exported = await store.exportAccount(accountId, undefined, { includeSealedSecrets });
      const system = await store.exportAccount(SYSTEM_ACCOUNT_ID, undefined, { includeSealedSecrets });
      const kinds = new Set<string>();
      for (const e of [...exported.entities, ...system.entities]) {
        const entity = decodeEntity(e.kind, e.id, e.state);
        kinds.add(entity.kind);
        if (entity.kind === "access-key") {
          expect(entity.state?.secretCiphertext !== undefined).toBe(includeSealedSecrets);
        }
        if (entity.kind === "mfa-device") {
          expect(entity.state?.seedCiphertext !== undefined).toBe(includeSealedSecrets);
        }
        if (entity.kind === "sts-key-set") expect(entity.state?.keys.length).toBe(includeSealedSecrets ? 1 : 0);
        // Typed reads, no casts: what a region does with them.
        if (entity.kind === "user" && entity.state !== null) {
          expect(entity.state.groups.map((g) => g.groupName)).toEqual(["devs"]);
          expect(entity.state.attachedPolicies.map((p) => p.policyArn)).toEqual([
            "arn:aws:iam::aws:policy/ReadOnlyAccess",
          ]);
        }
        if (entity.kind === "instance-profile" && entity.state !== null) {
          expect(entity.state.roles.map((r) => r.roleName)).toEqual(["deployer"]);
        }
      }
      expect([...kinds].sort()).toEqual([...ENTITY_KINDS].sort());
    }
  });
});
