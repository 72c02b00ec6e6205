// CreateUser, AttachPolicy and PutInlinePolicy run as one SQL function call each (migration 0013).
// These tests pin what they must keep from the TypeScript writes they replaced: the same checks in
// the same order, the same quotas, client request tokens, outbox rows and NOTIFYs, and state
// documents equal to what the API's reads (mapped in TypeScript) return, in any partition.
import { randomBytes } from "node:crypto";
import { type IamError, newId } from "@gatehouse/core";
import { createTestSchema, iamErrorOf, type TestSchema } from "@gatehouse/testkit";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createPostgresStore, type IamStore, loadMigrations, migrate, type PrincipalRef } from "./index.ts";

const DOC = JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "s3:*", Resource: "*" }] });
const TRUST = JSON.stringify({
  Version: "2012-10-17",
  Statement: [{ Effect: "Allow", Principal: { Service: "ec2.amazonaws.com" }, Action: "sts:AssumeRole" }],
});
const awsManaged = (name: string, partition = "aws") => `arn:${partition}:iam::aws:policy/${name}`;
const tagsOf = (n: number) => Array.from({ length: n }, (_, i) => ({ key: `k${i}`, value: `v${i}` }));

interface OutboxDbRow {
  entity_kind: string;
  entity_id: string;
  payload: Record<string, unknown> | null;
}

describe("single-call writes (CreateUser, AttachPolicy, PutInlinePolicy)", () => {
  let testSchema: TestSchema;
  let store: IamStore;
  /** The same schema seen from the aws-cn partition. */
  let cn: IamStore;

  beforeAll(async () => {
    testSchema = await createTestSchema({ prefix: "single", migrated: true });
    const base = { connectionString: testSchema.databaseUrl, schema: testSchema.name, poolSize: 8 };
    store = createPostgresStore({
      ...base,
      secretKey: randomBytes(32),
      quotas: { usersPerAccount: 5, attachedPoliciesPerEntity: 3, inlinePoliciesPerEntity: 3, tagsPerEntity: 3 },
    });
    await store.migrate();
    cn = createPostgresStore({ ...base, secretKey: randomBytes(32), partition: "aws-cn" });
  });
  afterAll(async () => {
    await cn.close();
    await store.close();
    await testSchema.drop();
  });

  const newAccount = async (s: IamStore = store) => (await s.createAccount({})).accountId;

  async function outboxAt(accountId: string, revision: number): Promise<OutboxDbRow[]> {
    const r = await store.pool.query<OutboxDbRow>(
      "SELECT entity_kind, entity_id, payload FROM outbox WHERE account_id = $1 AND revision = $2 ORDER BY id",
      [accountId, revision],
    );
    return r.rows;
  }

  /** The state document of a write's first outbox row. */
  async function stateAt(accountId: string, revision: number): Promise<Record<string, unknown>> {
    return (await outboxAt(accountId, revision))[0]?.payload ?? {};
  }

  /** One property of each element of a state document's list. */
  function listed(state: Record<string, unknown> | null | undefined, list: string, key: string): unknown[] {
    return ((state?.[list] ?? []) as Record<string, unknown>[]).map((x) => x[key]);
  }

  async function outboxCount(accountId: string): Promise<number> {
    const r = await store.pool.query<{ n: number }>("SELECT count(*)::int AS n FROM outbox WHERE account_id = $1", [
      accountId,
    ]);
    return r.rows[0]?.n ?? -1;
  }

  /** The account's user count as the quota reads it, and as counted. */
  async function userCounts(accountId: string, pool: pg.Pool = store.pool): Promise<{ kept: number; n: number }> {
    const r = await pool.query<{ kept: number; n: number }>(
      `SELECT user_count AS kept, (SELECT count(*)::int FROM users WHERE account_id = $1) AS n
       FROM accounts WHERE account_id = $1`,
      [accountId],
    );
    return r.rows[0] ?? { kept: -1, n: -1 };
  }

  /** The error `write` fails with, after checking it wrote nothing (no revision, no outbox row). */
  async function failsWithoutWriting(accountId: string, write: () => Promise<unknown>): Promise<IamError> {
    const before = await outboxCount(accountId);
    const revision = (await store.getAccount(accountId).catch(() => undefined))?.revision;
    const e = await iamErrorOf(write());
    expect(await outboxCount(accountId)).toBe(before);
    expect((await store.getAccount(accountId).catch(() => undefined))?.revision).toBe(revision);
    return e;
  }

  /** A managed policy's state document as the API's reads give it (counts left out, versions oldest first). */
  async function policyDocument(s: IamStore, accountId: string, arn: string) {
    const { attachmentCount: _a, permissionsBoundaryUsageCount: _b, ...policy } = await s.getPolicy(accountId, arn);
    const versions = (await s.listPolicyVersions(accountId, arn, { maxItems: 1000 })).items.reverse();
    // An AWS managed policy's state carries its default version only (migration 0035).
    return { ...policy, versions: policy.accountId === "aws" ? versions.filter((v) => v.isDefault) : versions };
  }

  /** A user's, group's or role's state document as the API's reads give it. */
  async function principalDocument(s: IamStore, accountId: string, ref: PrincipalRef) {
    // A user's console password use is not in its state document (it changes with every sign-in
    // and is not replicated).
    const record =
      ref.kind === "user"
        ? await s.getUser(accountId, ref.name).then(({ passwordLastUsedMs: _, ...user }) => user)
        : ref.kind === "group"
          ? await s.getGroup(accountId, ref.name)
          : await s.getRole(accountId, ref.name);
    const attachedPolicies = [];
    for (const a of (await s.listAttachedPolicies(accountId, ref, {})).items) {
      attachedPolicies.push({ policyId: (await s.getPolicy(accountId, a.policyArn)).policyId, policyArn: a.policyArn });
    }
    const inlinePolicies = [];
    for (const policyName of (await s.listInlinePolicies(accountId, ref, {})).items) {
      inlinePolicies.push({
        policyName,
        policyDocument: (await s.getInlinePolicy(accountId, ref, policyName)).document,
      });
    }
    const groups =
      ref.kind === "user"
        ? {
            groups: (await s.listGroupsForUser(accountId, ref.name, {})).items.map((g) => ({
              groupId: g.groupId,
              groupName: g.groupName,
            })),
          }
        : {};
    return { ...record, ...groups, attachedPolicies, inlinePolicies };
  }

  const idOf = async (accountId: string, ref: PrincipalRef): Promise<string> =>
    ref.kind === "user"
      ? (await store.getUser(accountId, ref.name)).userId
      : ref.kind === "group"
        ? (await store.getGroup(accountId, ref.name)).groupId
        : (await store.getRole(accountId, ref.name)).roleId;

  it("users, groups and roles: each write's outbox rows carry the API's full state, in order, names matched case-insensitively", async () => {
    const acct = await newAccount();
    const own = await store.createPolicy(acct, { policyName: "Mine", path: "/team/", policyDocument: DOC });
    await store.createGroup(acct, { groupName: "Devs", path: "/eng/" });
    await store.createRole(acct, {
      roleName: "Deployer",
      path: "/svc/",
      assumeRolePolicyDocument: TRUST,
      description: "deploys",
      maxSessionDuration: 7200,
      tags: [{ key: "team", value: "infra" }],
      permissionsBoundaryArn: awsManaged("PowerUserAccess"),
    });

    // CreateUser with an AWS managed boundary: the user, then the boundary policy it carries.
    const created = await store.createUser(acct, {
      userName: "Ada",
      path: "/eng/",
      tags: [{ key: "a", value: "1" }],
      permissionsBoundaryArn: awsManaged("ReadOnlyAccess"),
    });
    // The write's answer is the read's, the console password's last use included (null: none).
    expect(created.value.passwordLastUsedMs).toBeNull();
    expect(created.value).toEqual(await store.getUser(acct, "ada"));
    expect(await outboxAt(acct, created.revision)).toEqual([
      {
        entity_kind: "user",
        entity_id: created.value.userId,
        payload: await principalDocument(store, acct, { kind: "user", name: "Ada" }),
      },
      {
        entity_kind: "policy",
        entity_id: "ANPAILL3HVNFSB6DCOWYQ",
        payload: await policyDocument(store, acct, awsManaged("ReadOnlyAccess")),
      },
    ]);
    // With its own policy as the boundary, only the user.
    const bounded = await store.createUser(acct, { userName: "Bob", permissionsBoundaryArn: own.value.arn });
    expect(bounded.value.permissionsBoundaryArn).toBe(own.value.arn);
    expect((await outboxAt(acct, bounded.revision)).map((r) => r.entity_kind)).toEqual(["user"]);
    await store.addUserToGroup(acct, "devs", "ada");

    for (const ref of [
      { kind: "user", name: "ADA" },
      { kind: "group", name: "dEVS" },
      { kind: "role", name: "deployer" },
    ] as const) {
      const id = await idOf(acct, ref);
      const attached = await store.attachPolicy(acct, ref, own.value.arn);
      expect(attached.value).toBeNull();
      const ownRows = await outboxAt(acct, attached.revision);
      expect(ownRows.map((r) => [r.entity_kind, r.entity_id])).toEqual([[ref.kind, id]]);

      const carried = await store.attachPolicy(acct, ref, awsManaged("IAMReadOnlyAccess"));
      expect(carried.revision).toBe(attached.revision + 1);
      const carriedRows = await outboxAt(acct, carried.revision);
      expect(carriedRows.map((r) => r.entity_kind)).toEqual([ref.kind, "policy"]);
      expect(carriedRows[1]?.payload).toEqual(await policyDocument(store, acct, awsManaged("IAMReadOnlyAccess")));

      await store.putInlinePolicy(acct, ref, "zeta", DOC);
      const last = await store.putInlinePolicy(acct, ref, "Alpha", DOC.replace("s3:*", "s3:Get*"));
      const rows = await outboxAt(acct, last.revision);
      expect(rows).toEqual([
        { entity_kind: ref.kind, entity_id: id, payload: await principalDocument(store, acct, ref) },
      ]);
      const state = rows[0]?.payload ?? {};
      expect(listed(state, "attachedPolicies", "policyArn").sort()).toEqual(
        [own.value.arn, awsManaged("IAMReadOnlyAccess")].sort(),
      );
      expect(listed(state, "inlinePolicies", "policyName").sort()).toEqual(["Alpha", "zeta"]);
      // Overwriting an inline policy (exact name) replaces its document.
      const replaced = await store.putInlinePolicy(acct, ref, "zeta", DOC.replace("s3:*", "s3:Put*"));
      expect((await store.getInlinePolicy(acct, ref, "zeta")).document).toContain("s3:Put*");
      expect((await outboxAt(acct, replaced.revision))[0]?.payload).toEqual(await principalDocument(store, acct, ref));
    }
    // The user's state lists its group; the role's keeps its trust policy, tags and boundary.
    const user = await principalDocument(store, acct, { kind: "user", name: "ada" });
    expect(user.groups).toEqual([{ groupId: await idOf(acct, { kind: "group", name: "devs" }), groupName: "Devs" }]);
    const role = (await store.exportAccount(acct)).entities.find((e) => e.kind === "role")?.state;
    expect(role).toMatchObject({
      assumeRolePolicyDocument: TRUST,
      description: "deploys",
      maxSessionDuration: 7200,
      tags: [{ key: "team", value: "infra" }],
      permissionsBoundaryArn: awsManaged("PowerUserAccess"),
    });
  });

  it("state documents list attached and inline policies and groups in the order the API lists them", async () => {
    const acct = await newAccount();
    // An own policy named like an AWS managed one: the two sort by owner, as ListAttachedPolicies.
    const own = await store.createPolicy(acct, { policyName: "readonlyaccess", policyDocument: DOC });
    await store.createRole(acct, { roleName: "r", assumeRolePolicyDocument: TRUST });
    const ref = { kind: "role", name: "r" } as const;
    await store.attachPolicy(acct, ref, awsManaged("ReadOnlyAccess"));
    await store.attachPolicy(acct, ref, own.value.arn);
    const last = await store.attachPolicy(acct, ref, awsManaged("AdministratorAccess"));
    const state = (await outboxAt(acct, last.revision))[0]?.payload ?? {};
    const arns = (await store.listAttachedPolicies(acct, ref, {})).items.map((a) => a.policyArn);
    expect(arns).toEqual([awsManaged("AdministratorAccess"), own.value.arn, awsManaged("ReadOnlyAccess")]);
    expect(listed(state, "attachedPolicies", "policyArn")).toEqual(arns);

    await store.putInlinePolicy(acct, ref, "b", DOC);
    await store.putInlinePolicy(acct, ref, "C", DOC);
    const inline = await store.putInlinePolicy(acct, ref, "a", DOC);
    const names = listed(await stateAt(acct, inline.revision), "inlinePolicies", "policyName");
    expect(names).toEqual((await store.listInlinePolicies(acct, ref, {})).items);

    await store.createUser(acct, { userName: "u" });
    for (const g of ["beta", "Alpha", "gamma"]) {
      await store.createGroup(acct, { groupName: g });
      await store.addUserToGroup(acct, g, "u");
    }
    const put = await store.putInlinePolicy(acct, { kind: "user", name: "u" }, "p", DOC);
    const groups = listed(await stateAt(acct, put.revision), "groups", "groupName");
    expect(groups).toEqual(["Alpha", "beta", "gamma"]);
    expect(groups).toEqual((await store.listGroupsForUser(acct, "u", {})).items.map((g) => g.groupName));
  });

  it("attaching an attached policy changes nothing: the current revision, no outbox row, no NOTIFY, no token kept", async () => {
    const acct = await newAccount();
    const own = await store.createPolicy(acct, { policyName: "p", policyDocument: DOC });
    await store.createUser(acct, { userName: "u" });
    await store.createGroup(acct, { groupName: "g" });
    await store.createRole(acct, { roleName: "r", assumeRolePolicyDocument: TRUST });
    const refs = [
      { kind: "user", name: "u" },
      { kind: "group", name: "g" },
      { kind: "role", name: "r" },
    ] as const;
    for (const ref of refs) {
      await store.attachPolicy(acct, ref, own.value.arn);
      await store.attachPolicy(acct, ref, awsManaged("ReadOnlyAccess"));
    }
    const listener = new pg.Client({ connectionString: testSchema.databaseUrl });
    await listener.connect();
    try {
      const woken: string[] = [];
      listener.on("notification", (n) => {
        if (n.payload === acct) woken.push(n.channel);
      });
      await listener.query(`LISTEN ${store.channel}`);
      const before = await outboxCount(acct);
      const current = (await store.getAccount(acct)).revision;
      for (const ref of refs) {
        for (const arn of [own.value.arn, awsManaged("ReadOnlyAccess")]) {
          const again = await store.attachPolicy(acct, { ...ref, name: ref.name.toUpperCase() }, arn, {
            clientRequestToken: `again-${ref.kind}`,
          });
          expect(again).toEqual({
            value: null,
            accountId: acct,
            revision: current,
            epoch: expect.stringMatching(/^\d+:\d+$/),
          });
        }
      }
      expect(await outboxCount(acct)).toBe(before);
      expect((await store.getAccount(acct)).revision).toBe(current);
      // Nothing was kept for the tokens: they are free for another request.
      const other = await store.putInlinePolicy(acct, refs[0], "x", DOC, { clientRequestToken: "again-user" });
      expect(other.revision).toBe(current + 1);
      // Notifications arrive in commit order: the write's is the only one.
      await expect.poll(() => woken.length, { timeout: 5000 }).toBe(1);
      for (const write of [
        () => store.createUser(acct, { userName: "woke" }),
        () => store.attachPolicy(acct, { kind: "user", name: "woke" }, own.value.arn),
      ]) {
        const n = woken.length;
        await write();
        await expect.poll(() => woken.length, { timeout: 5000 }).toBe(n + 1);
      }
      expect(new Set(woken)).toEqual(new Set([store.channel]));
    } finally {
      await listener.end();
    }
  });

  it("client request tokens: a retry replays the first response and revision; another request or operation is InvalidInput", async () => {
    const acct = await newAccount();
    const own = await store.createPolicy(acct, { policyName: "p", policyDocument: DOC });
    const other = await store.createPolicy(acct, { policyName: "q", policyDocument: DOC });
    const unrelated = () => store.createGroup(acct, { groupName: `g${randomBytes(4).toString("hex")}` });

    const user = await store.createUser(acct, { userName: "u", tags: tagsOf(2), clientRequestToken: "cu" });
    await unrelated();
    const userAgain = await store.createUser(acct, { userName: "u", tags: tagsOf(2), clientRequestToken: "cu" });
    expect(userAgain).toEqual(user);
    const ref = { kind: "user", name: "u" } as const;

    const attach = await store.attachPolicy(acct, ref, own.value.arn, { clientRequestToken: "ap" });
    await unrelated();
    expect(await store.attachPolicy(acct, ref, own.value.arn, { clientRequestToken: "ap" })).toEqual(attach);

    const put = await store.putInlinePolicy(acct, ref, "i", DOC, { clientRequestToken: "pi" });
    await unrelated();
    expect(await store.putInlinePolicy(acct, ref, "i", DOC, { clientRequestToken: "pi" })).toEqual(put);
    // The replays wrote nothing: one outbox row per first call.
    for (const r of [user, attach, put]) expect(await outboxAt(acct, r.revision)).toHaveLength(1);

    const misuses: [() => Promise<unknown>, string][] = [
      [() => store.createUser(acct, { userName: "v", clientRequestToken: "cu" }), "CreateUser"],
      [() => store.createUser(acct, { userName: "u", tags: tagsOf(1), clientRequestToken: "cu" }), "CreateUser"],
      [() => store.attachPolicy(acct, ref, other.value.arn, { clientRequestToken: "ap" }), "AttachPolicy"],
      [
        () => store.attachPolicy(acct, { kind: "role", name: "u" }, own.value.arn, { clientRequestToken: "ap" }),
        "AttachPolicy",
      ],
      [
        () => store.putInlinePolicy(acct, ref, "i", DOC.replace("s3", "ec2"), { clientRequestToken: "pi" }),
        "PutInlinePolicy",
      ],
      [() => store.putInlinePolicy(acct, ref, "j", DOC, { clientRequestToken: "pi" }), "PutInlinePolicy"],
      // Another operation with the token.
      [() => store.attachPolicy(acct, ref, own.value.arn, { clientRequestToken: "cu" }), "CreateUser"],
      [() => store.createUser(acct, { userName: "w", clientRequestToken: "pi" }), "PutInlinePolicy"],
      [() => store.putInlinePolicy(acct, ref, "i", DOC, { clientRequestToken: "ap" }), "AttachPolicy"],
      // A different request that fails a check made before the call is still a reused token.
      [() => store.attachPolicy(acct, ref, "not-an-arn", { clientRequestToken: "ap" }), "AttachPolicy"],
      [
        () => store.attachPolicy(acct, ref, own.value.arn.replace(acct, "999999999999"), { clientRequestToken: "ap" }),
        "AttachPolicy",
      ],
      [() => store.createUser(acct, { userName: "u", tags: tagsOf(9), clientRequestToken: "cu" }), "CreateUser"],
      [
        () => store.createUser(acct, { userName: "u", permissionsBoundaryArn: "arn:nope", clientRequestToken: "cu" }),
        "CreateUser",
      ],
    ];
    for (const [write, first] of misuses) {
      const e = await failsWithoutWriting(acct, write);
      expect([e.awsName, e.field, e.code]).toEqual(["InvalidInput", "clientRequestToken", "INVALID_ARGUMENT"]);
      expect(e.message).toMatch(/^clientRequestToken ".+" was already used for a different request \(/);
      expect(e.message).toContain(`(${first})`);
    }
    const badToken = await iamErrorOf(
      store.attachPolicy("099999999999", ref, "x", { clientRequestToken: "has space" }),
    );
    expect([badToken.awsName, badToken.field]).toEqual(["InvalidInput", "clientRequestToken"]);
  });

  it("client request tokens: concurrent calls with one token write once and all answer the first response", async () => {
    const acct = await newAccount();
    const own = await store.createPolicy(acct, { policyName: "p", policyDocument: DOC });
    const users = await Promise.all(
      [1, 2, 3, 4].map(() => store.createUser(acct, { userName: "racer", clientRequestToken: "same-cu" })),
    );
    const ref = { kind: "user", name: "racer" } as const;
    const attaches = await Promise.all(
      [1, 2, 3, 4].map(() =>
        store.attachPolicy(acct, ref, awsManaged("ReadOnlyAccess"), { clientRequestToken: "same-ap" }),
      ),
    );
    const puts = await Promise.all(
      [1, 2, 3, 4].map(() => store.putInlinePolicy(acct, ref, "i", DOC, { clientRequestToken: "same-pi" })),
    );
    for (const results of [users, attaches, puts]) {
      for (const r of results) expect(r).toEqual(results[0]);
    }
    const revisions = await store.pool.query<{ revision: string; n: number }>(
      `SELECT revision, count(*)::int AS n FROM outbox WHERE account_id = $1 AND revision > $2
       GROUP BY revision ORDER BY revision`,
      [acct, own.revision],
    );
    expect(revisions.rows).toEqual([
      { revision: String(users[0]?.revision), n: 1 },
      { revision: String(attaches[0]?.revision), n: 2 },
      { revision: String(puts[0]?.revision), n: 1 },
    ]);
  });

  it("a retry replays its answer even after the tags quota was lowered", async () => {
    const acct = await newAccount();
    const strict = createPostgresStore({
      connectionString: testSchema.databaseUrl,
      schema: testSchema.name,
      poolSize: 2,
      secretKey: randomBytes(32),
      quotas: { tagsPerEntity: 1 },
    });
    try {
      const first = await store.createUser(acct, { userName: "t", tags: tagsOf(3), clientRequestToken: "tags" });
      expect(await strict.createUser(acct, { userName: "t", tags: tagsOf(3), clientRequestToken: "tags" })).toEqual(
        first,
      );
      const fresh = await iamErrorOf(
        strict.createUser(acct, { userName: "t2", tags: tagsOf(2), clientRequestToken: "new" }),
      );
      expect([fresh.awsName, fresh.field, fresh.message]).toEqual([
        "LimitExceeded",
        "tags",
        "tags has 2 entries (quota 1)",
      ]);
    } finally {
      await strict.close();
    }
  });

  it("checks come in the TypeScript writes' order: account, token, principal, policy ARN, boundary, tags, quota", async () => {
    const acct = await newAccount();
    await store.createUser(acct, { userName: "u" });
    await store.createGroup(acct, { groupName: "g" });
    const foreign = `arn:aws:iam::999999999999:policy/p`;
    const absent = `arn:aws:iam::${acct}:policy/absent`;
    // Account ids start at 100000000000 (000000000000 is the system account, migration 0028).
    const missingAccount = "099999999999";
    const cases: [string, () => Promise<unknown>, string, string, string?][] = [
      [
        "attach: missing account before a malformed ARN",
        () => store.attachPolicy(missingAccount, { kind: "user", name: "u" }, "nope"),
        "NoSuchEntity",
        "accountId",
        `account "${missingAccount}" does not exist`,
      ],
      [
        "attach: malformed account id",
        () => store.attachPolicy("12", { kind: "user", name: "u" }, absent),
        "NoSuchEntity",
        "accountId",
      ],
      [
        "attach: missing user before a malformed ARN",
        () => store.attachPolicy(acct, { kind: "user", name: "nobody" }, "nope"),
        "NoSuchEntity",
        "userName",
        'user "nobody" does not exist',
      ],
      [
        "attach: missing group before a foreign ARN",
        () => store.attachPolicy(acct, { kind: "group", name: "nobody" }, foreign),
        "NoSuchEntity",
        "groupName",
        'group "nobody" does not exist',
      ],
      [
        "attach: missing role before a missing policy",
        () => store.attachPolicy(acct, { kind: "role", name: "nobody" }, absent),
        "NoSuchEntity",
        "roleName",
        'role "nobody" does not exist',
      ],
      [
        "attach: malformed ARN",
        () => store.attachPolicy(acct, { kind: "user", name: "U" }, "arn:aws:s3:::bucket"),
        "InvalidInput",
        "policyArn",
        'policyArn "arn:aws:s3:::bucket" is not a managed policy ARN',
      ],
      [
        "attach: foreign ARN",
        () => store.attachPolicy(acct, { kind: "group", name: "G" }, foreign),
        "NoSuchEntity",
        "policyArn",
        `policy ${JSON.stringify(foreign)} does not exist`,
      ],
      [
        "attach: missing policy",
        () => store.attachPolicy(acct, { kind: "user", name: "u" }, absent),
        "NoSuchEntity",
        "policyArn",
        `policy ${JSON.stringify(absent)} does not exist`,
      ],
      [
        "attach: AWS managed policy with a wrong path",
        () => store.attachPolicy(acct, { kind: "user", name: "u" }, "arn:aws:iam::aws:policy/team/ReadOnlyAccess"),
        "NoSuchEntity",
        "policyArn",
      ],
      [
        "create: missing account before a bad boundary and tags",
        () => store.createUser(missingAccount, { userName: "x", tags: tagsOf(9), permissionsBoundaryArn: "nope" }),
        "NoSuchEntity",
        "accountId",
      ],
      [
        "create: malformed boundary before tags",
        () => store.createUser(acct, { userName: "x", tags: tagsOf(9), permissionsBoundaryArn: "nope" }),
        "InvalidInput",
        "permissionsBoundaryArn",
        'permissionsBoundaryArn "nope" is not a managed policy ARN',
      ],
      [
        "create: foreign boundary before tags",
        () => store.createUser(acct, { userName: "x", tags: tagsOf(9), permissionsBoundaryArn: foreign }),
        "NoSuchEntity",
        "permissionsBoundaryArn",
      ],
      [
        "create: missing boundary before tags",
        () => store.createUser(acct, { userName: "x", tags: tagsOf(9), permissionsBoundaryArn: absent }),
        "NoSuchEntity",
        "permissionsBoundaryArn",
        `policy ${JSON.stringify(absent)} does not exist`,
      ],
      [
        "create: tags before the name clash",
        () =>
          store.createUser(acct, {
            userName: "U",
            tags: tagsOf(4),
            permissionsBoundaryArn: awsManaged("ReadOnlyAccess"),
          }),
        "LimitExceeded",
        "tags",
        "tags has 4 entries (quota 3)",
      ],
      [
        "create: the name clash",
        () => store.createUser(acct, { userName: "U" }),
        "EntityAlreadyExists",
        "userName",
        "CreateUser: the user already exists",
      ],
      ["create: a bad name", () => store.createUser(acct, { userName: "bad name" }), "InvalidInput", ""],
      [
        "put: missing account",
        () => store.putInlinePolicy(missingAccount, { kind: "user", name: "u" }, "p", DOC),
        "NoSuchEntity",
        "accountId",
      ],
      [
        "put: missing group",
        () => store.putInlinePolicy(acct, { kind: "group", name: "nobody" }, "p", DOC),
        "NoSuchEntity",
        "groupName",
        'group "nobody" does not exist',
      ],
      [
        "put: a bad policy name",
        () => store.putInlinePolicy(acct, { kind: "user", name: "u" }, "bad name", DOC),
        "InvalidInput",
        "",
      ],
    ];
    for (const [what, write, awsName, field, message] of cases) {
      const e = await failsWithoutWriting(acct, write);
      expect([what, e.awsName, e.field ?? ""]).toEqual([what, awsName, field]);
      if (message !== undefined) expect([what, e.message]).toEqual([what, message]);
    }
    // Names in messages raised in SQL are quoted as JSON.stringify quotes them.
    for (const name of ['we"ird', "tab\there", "back\\slash", "ünï"]) {
      const e = await iamErrorOf(store.putInlinePolicy(acct, { kind: "role", name }, "p", DOC));
      expect(e.message).toBe(`role ${JSON.stringify(name)} does not exist`);
    }
  });

  it("quotas: the last place is taken and the next fails; an overwrite or a re-attach at the quota goes through", async () => {
    const acct = await newAccount();
    for (let i = 1; i <= 5; i++) await store.createUser(acct, { userName: `u${i}`, tags: tagsOf(i === 1 ? 3 : 0) });
    const users = await failsWithoutWriting(acct, () => store.createUser(acct, { userName: "u6" }));
    expect([users.awsName, users.code, users.field, users.message]).toEqual([
      "LimitExceeded",
      "RESOURCE_EXHAUSTED",
      "userName",
      "too many users in the account (quota 5)",
    ]);
    await store.createGroup(acct, { groupName: "g" });
    await store.createRole(acct, { roleName: "r", assumeRolePolicyDocument: TRUST });
    const arns = [awsManaged("ReadOnlyAccess"), awsManaged("IAMReadOnlyAccess"), awsManaged("AdministratorAccess")];
    for (const ref of [
      { kind: "user", name: "u1" },
      { kind: "group", name: "g" },
      { kind: "role", name: "r" },
    ] as const) {
      for (const arn of arns) await store.attachPolicy(acct, ref, arn);
      const over = await failsWithoutWriting(acct, () => store.attachPolicy(acct, ref, awsManaged("PowerUserAccess")));
      expect([over.awsName, over.field, over.message]).toEqual([
        "LimitExceeded",
        "policyArn",
        `${ref.kind} ${JSON.stringify(ref.name)} already has the maximum of attached managed policies (quota 3)`,
      ]);
      const current = (await store.getAccount(acct)).revision;
      expect((await store.attachPolicy(acct, ref, arns[0] as string)).revision).toBe(current);

      for (const name of ["a", "b", "c"]) await store.putInlinePolicy(acct, ref, name, DOC);
      const inline = await failsWithoutWriting(acct, () => store.putInlinePolicy(acct, ref, "d", DOC));
      expect([inline.awsName, inline.field, inline.message]).toEqual([
        "LimitExceeded",
        "policyName",
        "too many inline policies (quota 3)",
      ]);
      // Inline policy names are exact: "A" is a fourth policy, not "a" again.
      expect((await failsWithoutWriting(acct, () => store.putInlinePolicy(acct, ref, "A", DOC))).awsName).toBe(
        "LimitExceeded",
      );
      const before = (await store.getAccount(acct)).revision;
      const overwrite = await store.putInlinePolicy(acct, ref, "c", DOC.replace("s3:*", "s3:List*"));
      expect(overwrite.revision).toBe(before + 1);
    }
    // A deleted user frees its place.
    await store.deleteUser(acct, "u5");
    await store.createUser(acct, { userName: "u6" });
    expect(await userCounts(acct)).toEqual({ kept: 5, n: 5 });
  });

  it("concurrent creates race for the last places: exactly as many win as there are places", async () => {
    const acct = await newAccount();
    for (const n of ["a", "b", "c"]) await store.createUser(acct, { userName: n });
    const racers = ["r1", "r2", "r3", "r4", "r5", "r6", "r7"];
    const results = await Promise.allSettled(racers.map((userName) => store.createUser(acct, { userName })));
    const won = results.flatMap((r) => (r.status === "fulfilled" ? [r.value] : []));
    expect(won).toHaveLength(2);
    for (const r of results) {
      if (r.status === "rejected") expect([r.reason.awsName, r.reason.field]).toEqual(["LimitExceeded", "userName"]);
    }
    expect(await userCounts(acct)).toEqual({ kept: 5, n: 5 });
    // Each winner got its own revision with one outbox row; the losers left no trace.
    const revisions = won.map((w) => w.revision).sort((a, b) => a - b);
    expect(revisions[1]).toBe((revisions[0] ?? 0) + 1);
    for (const w of won) {
      expect((await outboxAt(acct, w.revision)).map((r) => r.entity_id)).toEqual([w.value.userId]);
    }
    expect((await store.getAccount(acct)).revision).toBe(revisions[1]);

    // The same name created concurrently, with room for all: one wins, the others clash.
    for (const w of won) await store.deleteUser(acct, w.value.userName);
    const same = await Promise.allSettled([1, 2, 3].map(() => store.createUser(acct, { userName: "Twin" })));
    expect(same.filter((r) => r.status === "fulfilled")).toHaveLength(1);
    for (const r of same) {
      if (r.status === "rejected")
        expect([r.reason.awsName, r.reason.field]).toEqual(["EntityAlreadyExists", "userName"]);
    }
    expect(await userCounts(acct)).toEqual({ kept: 4, n: 4 });
  });

  it("the account lock is mutate()'s: a foreign key check on the account row elsewhere does not hold a write up", async () => {
    const acct = await newAccount();
    await store.createUser(acct, { userName: "u" });
    const other = new pg.Client({ connectionString: testSchema.databaseUrl });
    await other.connect();
    try {
      // What inserting a row that references the account takes on its row, in an open transaction.
      await other.query("BEGIN");
      await other.query(`SELECT 1 FROM ${testSchema.name}.accounts WHERE account_id = $1 FOR KEY SHARE`, [acct]);
      const timeout = new Promise<string>((resolve) => setTimeout(() => resolve("blocked"), 3000).unref());
      const writes = Promise.all([
        store.createUser(acct, { userName: "v" }),
        store.attachPolicy(acct, { kind: "user", name: "u" }, awsManaged("ReadOnlyAccess")),
        store.putInlinePolicy(acct, { kind: "user", name: "u" }, "i", DOC),
      ]).then(() => "done");
      expect(await Promise.race([writes, timeout])).toBe("done");
      await other.query("ROLLBACK");
    } finally {
      await other.end();
    }
  });

  it("a store in the aws-cn partition writes aws-cn ARNs in API records, state documents and exports", async () => {
    const acct = await newAccount(cn);
    expect((await cn.createAccount({})).value.rootArn).toMatch(/^arn:aws-cn:iam::\d{12}:root$/);
    const own = await cn.createPolicy(acct, { policyName: "Mine", path: "/team/", policyDocument: DOC });
    expect(own.value.arn).toBe(`arn:aws-cn:iam::${acct}:policy/team/Mine`);
    const user = await cn.createUser(acct, {
      userName: "Li",
      path: "/eng/",
      permissionsBoundaryArn: awsManaged("ReadOnlyAccess", "aws-cn"),
    });
    expect(user.value).toMatchObject({
      arn: `arn:aws-cn:iam::${acct}:user/eng/Li`,
      permissionsBoundaryArn: awsManaged("ReadOnlyAccess", "aws-cn"),
    });
    expect(user.value).toEqual(await cn.getUser(acct, "li"));
    const rows = await outboxAt(acct, user.revision);
    expect(rows.map((r) => r.payload?.arn)).toEqual([user.value.arn, awsManaged("ReadOnlyAccess", "aws-cn")]);
    expect(rows[0]?.payload?.permissionsBoundaryArn).toBe(awsManaged("ReadOnlyAccess", "aws-cn"));

    await cn.createGroup(acct, { groupName: "G" });
    await cn.createRole(acct, {
      roleName: "R",
      assumeRolePolicyDocument: TRUST,
      permissionsBoundaryArn: own.value.arn,
    });
    await cn.addUserToGroup(acct, "g", "li");
    for (const ref of [
      { kind: "user", name: "li" },
      { kind: "group", name: "g" },
      { kind: "role", name: "r" },
    ] as const) {
      await cn.attachPolicy(acct, ref, own.value.arn);
      const carried = await cn.attachPolicy(acct, ref, awsManaged("IAMReadOnlyAccess", "aws-cn"));
      const carriedRows = await outboxAt(acct, carried.revision);
      expect(carriedRows[1]?.payload).toEqual(
        await policyDocument(cn, acct, awsManaged("IAMReadOnlyAccess", "aws-cn")),
      );
      expect(carriedRows[1]?.payload?.arn).toBe(awsManaged("IAMReadOnlyAccess", "aws-cn"));
      const put = await cn.putInlinePolicy(acct, ref, "i", DOC);
      const state = (await outboxAt(acct, put.revision))[0]?.payload;
      expect(state).toEqual(await principalDocument(cn, acct, ref));
      expect(state?.arn).toMatch(new RegExp(`^arn:aws-cn:iam::${acct}:${ref.kind}/`));
      expect(listed(state, "attachedPolicies", "policyArn").sort()).toEqual(
        [own.value.arn, awsManaged("IAMReadOnlyAccess", "aws-cn")].sort(),
      );
      expect(
        (await cn.listAttachedPolicies(acct, ref, {})).items.every((a) => a.policyArn.startsWith("arn:aws-cn:")),
      ).toBe(true);
    }
    expect((await cn.getRole(acct, "r")).permissionsBoundaryArn).toBe(own.value.arn);
    // Nothing the account's stream or export carries names the aws partition.
    const payloads = await store.pool.query<{ text: string }>(
      "SELECT string_agg(payload::text, ' ') AS text FROM outbox WHERE account_id = $1",
      [acct],
    );
    expect(payloads.rows[0]?.text).toContain("arn:aws-cn:");
    expect(payloads.rows[0]?.text).not.toMatch(/arn:aws:/);
    const exported = JSON.stringify(await cn.exportAccount(acct));
    expect(exported).toContain(`arn:aws-cn:iam::${acct}:user/eng/Li`);
    expect(exported).not.toMatch(/arn:aws:/);
  });

  it("refuses policy ARNs of another partition with InvalidInput naming the field, writing nothing", async () => {
    const acct = await newAccount(cn);
    const own = await cn.createPolicy(acct, { policyName: "Mine", policyDocument: DOC });
    await cn.createUser(acct, { userName: "li" });
    await cn.createRole(acct, { roleName: "r", assumeRolePolicyDocument: TRUST });
    const li = { kind: "user", name: "li" } as const;
    // The same policies as the aws partition names them: AWS managed, and the account's own.
    const foreign = [awsManaged("ReadOnlyAccess"), `arn:aws:iam::${acct}:policy/Mine`];
    const writes: [string, (arn: string) => Promise<unknown>][] = [
      ["permissionsBoundaryArn", (arn) => cn.createUser(acct, { userName: "bounded", permissionsBoundaryArn: arn })],
      [
        "permissionsBoundaryArn",
        (arn) => cn.createRole(acct, { roleName: "b", assumeRolePolicyDocument: TRUST, permissionsBoundaryArn: arn }),
      ],
      ["policyArn", (arn) => cn.attachPolicy(acct, li, arn)],
      ["policyArn", (arn) => cn.detachPolicy(acct, li, arn)],
      ["permissionsBoundaryArn", (arn) => cn.putPermissionsBoundary(acct, li, arn)],
      // Deleting an AWS managed policy is AccessDenied, but only once the ARN is in the partition.
      ["policyArn", (arn) => cn.deletePolicy(acct, arn)],
      ["policyArn", (arn) => cn.createPolicyVersion(acct, arn, { policyDocument: DOC, setAsDefault: true })],
    ];
    for (const arn of foreign) {
      for (const [field, write] of writes) {
        const e = await failsWithoutWriting(acct, () => write(arn));
        expect([e.awsName, e.field, e.message], `${field} ${arn}`).toEqual([
          "InvalidInput",
          field,
          expect.stringContaining('serves partition "aws-cn"'),
        ]);
      }
      const read = await iamErrorOf(cn.getPolicy(acct, arn));
      expect([read.awsName, read.field]).toEqual(["InvalidInput", "policyArn"]);
      const versions = await iamErrorOf(cn.listPolicyVersions(acct, arn, {}));
      expect([versions.awsName, versions.field]).toEqual(["InvalidInput", "policyArn"]);
    }
    expect((await cn.listAttachedPolicies(acct, li, {})).items).toEqual([]);
    expect((await cn.getUser(acct, "li")).permissionsBoundaryArn).toBeNull();
    await expect(cn.getUser(acct, "bounded")).rejects.toMatchObject({ awsName: "NoSuchEntity" });

    // The aws-cn spellings of the same policies are accepted.
    const cnManaged = awsManaged("ReadOnlyAccess", "aws-cn");
    expect((await cn.getPolicy(acct, cnManaged)).arn).toBe(cnManaged);
    expect((await cn.getPolicy(acct, own.value.arn)).arn).toBe(`arn:aws-cn:iam::${acct}:policy/Mine`);
    const bounded = await cn.createUser(acct, { userName: "bounded", permissionsBoundaryArn: cnManaged });
    expect(bounded.value.permissionsBoundaryArn).toBe(cnManaged);
    await cn.putPermissionsBoundary(acct, li, own.value.arn);
    await cn.attachPolicy(acct, li, cnManaged);
    await cn.attachPolicy(acct, li, own.value.arn);
    await cn.detachPolicy(acct, li, cnManaged);
    expect((await cn.listAttachedPolicies(acct, li, {})).items.map((a) => a.policyArn)).toEqual([own.value.arn]);
    const denied = await iamErrorOf(cn.deletePolicy(acct, cnManaged));
    expect(denied.awsName).toBe("AccessDenied");

    // The default aws store refuses aws-cn ARNs in turn.
    const awsAcct = await newAccount();
    await store.createUser(awsAcct, { userName: "u" });
    const awsOwn = await store.createPolicy(awsAcct, { policyName: "Mine", policyDocument: DOC });
    for (const arn of [cnManaged, `arn:aws-cn:iam::${awsAcct}:policy/Mine`]) {
      const attach = await failsWithoutWriting(awsAcct, () =>
        store.attachPolicy(awsAcct, { kind: "user", name: "u" }, arn),
      );
      expect([attach.awsName, attach.field, attach.message]).toEqual([
        "InvalidInput",
        "policyArn",
        expect.stringContaining('serves partition "aws"'),
      ]);
      const boundary = await failsWithoutWriting(awsAcct, () =>
        store.createUser(awsAcct, { userName: "v", permissionsBoundaryArn: arn }),
      );
      expect([boundary.awsName, boundary.field]).toEqual(["InvalidInput", "permissionsBoundaryArn"]);
      const read = await iamErrorOf(store.getPolicy(awsAcct, arn));
      expect([read.awsName, read.field]).toEqual(["InvalidInput", "policyArn"]);
    }
    await store.attachPolicy(awsAcct, { kind: "user", name: "u" }, awsOwn.value.arn);
    expect((await store.getPolicy(awsAcct, awsManaged("ReadOnlyAccess"))).arn).toBe(awsManaged("ReadOnlyAccess"));
  });

  it("the state builders' SQL helpers are inlined by the planner, not run as functions on every call", async () => {
    // A helper the planner cannot inline runs through the SQL-function executor, which parses and
    // plans its body on each call (migration 0016). VERBOSE output names a call that was kept.
    const plan = await store.pool.query<{ "QUERY PLAN": string }>(
      "EXPLAIN (VERBOSE) SELECT gh_epoch_ms(created_at), gh_policy_arn('aws', account_id, '/', 'p') FROM accounts",
    );
    const text = plan.rows.map((r) => r["QUERY PLAN"]).join("\n");
    expect(text).toContain("created_at");
    expect(text).not.toMatch(/gh_epoch_ms|gh_policy_arn/);
  });

  it("state documents fetch attached policies and groups by key, under plans made while the tables were small", async () => {
    // Migration 0018. A PL/pgSQL statement keeps its plan for the connection's life; made on a new
    // schema (managed_policies one page of built-in policies) it joined a principal's attachments
    // to ALL managed policies and its memberships to ALL groups with sequential scans, so every
    // write cost more with every account's policies. auto_explain reports the plans actually run.
    const acct = await newAccount();
    const user = await store.createUser(acct, { userName: "planned" });
    const group = await store.createGroup(acct, { groupName: "planners" });
    await store.addUserToGroup(acct, "planners", "planned");
    const policy = await store.createPolicy(acct, { policyName: "planned", policyDocument: DOC });
    await store.attachPolicy(acct, { kind: "user", name: "planned" }, policy.value.arn);
    await store.attachPolicy(acct, { kind: "group", name: "planners" }, awsManaged("ReadOnlyAccess"));
    const client = new pg.Client({
      connectionString: testSchema.databaseUrl,
      options: `-c search_path=${testSchema.name}`,
    });
    await client.connect();
    try {
      const plans: string[] = [];
      client.on("notice", (n) => plans.push(n.message ?? ""));
      await client.query("LOAD 'auto_explain'");
      for (const setting of [
        "auto_explain.log_min_duration = 0",
        "auto_explain.log_nested_statements = on",
        "auto_explain.log_level = notice",
        "client_min_messages = notice",
      ]) {
        await client.query(`SET ${setting}`);
      }
      // Past the five custom plans, to the generic one a connection keeps.
      for (let i = 0; i < 8; i++) {
        await client.query("SELECT gh_user_state($1, 'aws'), gh_group_state($2, 'aws')", [
          user.value.userId,
          group.value.groupId,
        ]);
      }
      const lookups = plans.filter((p) => p.includes("on managed_policies") || p.includes("on groups"));
      expect(lookups.length).toBeGreaterThanOrEqual(16);
      const scans = plans.filter((p) =>
        /Seq Scan on (managed_policies|groups|policy_attachments|group_memberships|inline_policies)\b/.test(p),
      );
      expect(scans).toEqual([]);
    } finally {
      await client.end();
    }
  });

  it("state documents carry the API's createdAtMs (truncated to the millisecond), for policy versions too", async () => {
    const acct = await newAccount();
    const user = await store.createUser(acct, { userName: "clock" });
    const policy = await store.createPolicy(acct, { policyName: "p", policyDocument: DOC });
    await store.createPolicyVersion(acct, policy.value.arn, { policyDocument: DOC, setAsDefault: false });
    // Sub-millisecond parts that rounding would carry up to the next millisecond.
    await store.pool.query("UPDATE users SET created_at = '2026-03-01 12:00:00.123789+00' WHERE user_id = $1", [
      user.value.userId,
    ]);
    await store.pool.query(
      `UPDATE managed_policies SET created_at = '2026-03-01 12:00:00.000999+00', updated_at = '2026-03-01 12:00:01.500500+00'
       WHERE policy_id = $1`,
      [policy.value.policyId],
    );
    await store.pool.query(
      `UPDATE policy_versions SET created_at = '2026-03-01 12:00:00.456999+00'::timestamptz + (substring(version_id FROM 2)::int * interval '1 second')
       WHERE policy_id = $1`,
      [policy.value.policyId],
    );
    const put = await store.putInlinePolicy(acct, { kind: "user", name: "clock" }, "i", DOC);
    const userState = (await outboxAt(acct, put.revision))[0]?.payload;
    expect(userState?.createdAtMs).toBe(Date.parse("2026-03-01T12:00:00.123Z"));
    expect(userState?.createdAtMs).toBe((await store.getUser(acct, "clock")).createdAtMs);

    const set = await store.setDefaultPolicyVersion(acct, policy.value.arn, "v2");
    const policyState = (await outboxAt(acct, set.revision))[0]?.payload;
    expect(policyState).toEqual(await policyDocument(store, acct, policy.value.arn));
    expect(policyState).toMatchObject({
      createdAtMs: Date.parse("2026-03-01T12:00:00.000Z"),
      versions: [
        { versionId: "v1", createdAtMs: Date.parse("2026-03-01T12:00:01.456Z") },
        { versionId: "v2", createdAtMs: Date.parse("2026-03-01T12:00:02.456Z") },
      ],
    });
  });

  it("the kept user count stays exact across creates, failed creates, replays, deletes and the account's deletion", async () => {
    const acct = await newAccount();
    const neighbour = await newAccount();
    await store.createUser(neighbour, { userName: "n" });
    expect(await userCounts(acct)).toEqual({ kept: 0, n: 0 });
    await store.createUser(acct, { userName: "a", clientRequestToken: "count-a" });
    await store.createUser(acct, { userName: "a", clientRequestToken: "count-a" });
    await store.createUser(acct, { userName: "b" });
    await iamErrorOf(store.createUser(acct, { userName: "B" }));
    await iamErrorOf(
      store.createUser(acct, { userName: "c", permissionsBoundaryArn: `arn:aws:iam::${acct}:policy/x` }),
    );
    expect(await userCounts(acct)).toEqual({ kept: 2, n: 2 });
    await store.deleteUser(acct, "A");
    await iamErrorOf(store.deleteUser(acct, "a"));
    expect(await userCounts(acct)).toEqual({ kept: 1, n: 1 });
    for (const n of ["c", "d", "e", "f"]) await store.createUser(acct, { userName: n });
    await iamErrorOf(store.createUser(acct, { userName: "g" }));
    expect(await userCounts(acct)).toEqual({ kept: 5, n: 5 });
    // No API deletes an account; an operator's DELETE cascades to its users and goes through.
    await store.pool.query("DELETE FROM accounts WHERE account_id = $1", [acct]);
    expect((await store.pool.query("SELECT 1 FROM users WHERE account_id = $1", [acct])).rowCount).toBe(0);
    expect(await userCounts(neighbour)).toEqual({ kept: 1, n: 1 });
  });

  it("migration 0013 counts the users of accounts that have some", async () => {
    await using fresh = await createTestSchema({ prefix: "count" });
    const pool = new pg.Pool({ connectionString: fresh.url, max: 2 });
    try {
      await migrate(pool, { schema: fresh.name, migrations: loadMigrations().filter((m) => m.version <= 12) });
      const accounts = { "111111111111": 3, "222222222222": 1, "333333333333": 0 };
      for (const [accountId, n] of Object.entries(accounts)) {
        await pool.query("INSERT INTO accounts (account_id, revision) VALUES ($1, 1)", [accountId]);
        for (let i = 0; i < n; i++) {
          await pool.query("INSERT INTO users (user_id, account_id, user_name) VALUES ($1, $2, $3)", [
            newId("user"),
            accountId,
            `pre${i}`,
          ]);
        }
      }
      expect((await migrate(pool, { schema: fresh.name })).applied).toEqual(
        loadMigrations()
          .filter((m) => m.version > 12)
          .map((m) => m.version),
      );
      for (const [accountId, n] of Object.entries(accounts)) {
        expect(await userCounts(accountId, pool)).toEqual({ kept: n, n });
      }
      expect(await userCounts("aws", pool)).toEqual({ kept: 0, n: 0 });

      // The quota reads the backfilled count: two of three places were taken before the migration.
      const migrated = createPostgresStore({
        connectionString: fresh.databaseUrl,
        schema: fresh.name,
        poolSize: 2,
        secretKey: randomBytes(32),
        quotas: { usersPerAccount: 3 },
      });
      try {
        expect((await iamErrorOf(migrated.createUser("111111111111", { userName: "new" }))).awsName).toBe(
          "LimitExceeded",
        );
        await migrated.createUser("222222222222", { userName: "new1" });
        await migrated.createUser("222222222222", { userName: "new2" });
        expect((await iamErrorOf(migrated.createUser("222222222222", { userName: "new3" }))).awsName).toBe(
          "LimitExceeded",
        );
        await migrated.deleteUser("111111111111", "pre0");
        await migrated.createUser("111111111111", { userName: "new" });
        for (const accountId of Object.keys(accounts)) {
          const { kept, n } = await userCounts(accountId, pool);
          expect(kept).toBe(n);
        }
      } finally {
        await migrated.close();
      }
    } finally {
      await pool.end();
    }
  });
});
