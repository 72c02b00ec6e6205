import { randomBytes } from "node:crypto";
import { createTestSchema, iamErrorOf, type TestSchema } from "@gatehouse/testkit";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createOutboxSource, createPostgresStore, type IamStore, loadMigrations, migrate } from "./index.ts";

const DOC = JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "s3:*", Resource: "*" }] });

describe("store-postgres", () => {
  let testSchema: TestSchema;
  let schema: string;
  let databaseUrl: string;
  let store: IamStore;
  let accountId: string;

  beforeAll(async () => {
    testSchema = await createTestSchema({ prefix: "store" });
    schema = testSchema.name;
    databaseUrl = testSchema.databaseUrl;
    store = createPostgresStore({
      connectionString: databaseUrl,
      schema,
      secretKey: randomBytes(32),
      poolSize: 20,
      quotas: { usersPerAccount: 50, groupsPerUser: 3, attachedPoliciesPerEntity: 3 },
    });
    expect(await store.migrate()).toEqual(loadMigrations().map((m) => m.version));
    accountId = (await store.createAccount({ alias: `acct-${schema.replaceAll("_", "-")}` })).accountId;
  });
  afterAll(async () => {
    await store.close();
    await testSchema.drop();
  });

  it("migrations are versioned and idempotent", async () => {
    expect(await store.migrate()).toEqual([]);
    const pool = new pg.Pool({ connectionString: databaseUrl, max: 4 });
    await using fresh = await createTestSchema({ prefix: "mig" });
    try {
      // Concurrent migrators on a fresh schema serialize on the advisory lock: each version once.
      const results = await Promise.all([1, 2, 3].map(() => migrate(pool, { schema: fresh.name })));
      const versions = loadMigrations().map((m) => m.version);
      expect(results.flatMap((r) => r.applied).sort((a, b) => a - b)).toEqual(versions);
      expect(results.every((r) => r.version === versions.at(-1))).toBe(true);
    } finally {
      await pool.end();
    }
  });

  it("creates an account with a root key, at revision 1, with outbox rows", async () => {
    const created = await store.createAccount({});
    expect(created.revision).toBe(1);
    expect(created.value.account.accountId).toMatch(/^\d{12}$/);
    expect(created.value.rootArn).toBe(`arn:aws:iam::${created.accountId}:root`);
    expect(created.value.rootAccessKey.accessKey.accessKeyId).toMatch(/^AKIA/);
    expect(created.value.rootAccessKey.secretAccessKey).toHaveLength(40);
    const rows = await store.pool.query("SELECT entity_kind, revision FROM outbox WHERE account_id = $1 ORDER BY id", [
      created.accountId,
    ]);
    expect(rows.rows).toEqual([
      { entity_kind: "account", revision: "1" },
      { entity_kind: "access-key", revision: "1" },
    ]);
    const cred = await store.getAccessKeyCredential(created.value.rootAccessKey.accessKey.accessKeyId);
    expect(cred?.secretAccessKey).toBe(created.value.rootAccessKey.secretAccessKey);
    expect(cred?.principalArn).toBe(created.value.rootArn);
  });

  it("users: create, get case-insensitively, duplicate, missing, delete conflict, delete", async () => {
    const created = await store.createUser(accountId, {
      userName: "Alice",
      path: "/eng/",
      tags: [{ key: "team", value: "a" }],
    });
    expect(created.value.userId).toMatch(/^AIDA[A-Z2-7]{17}$/);
    expect(created.value.arn).toBe(`arn:aws:iam::${accountId}:user/eng/Alice`);
    expect((await store.getUser(accountId, "alice")).userId).toBe(created.value.userId);

    const dup = await iamErrorOf(store.createUser(accountId, { userName: "ALICE" }));
    expect([dup.awsName, dup.field, dup.code]).toEqual(["EntityAlreadyExists", "userName", "ALREADY_EXISTS"]);
    const missing = await iamErrorOf(store.getUser(accountId, "nobody"));
    expect([missing.awsName, missing.field]).toEqual(["NoSuchEntity", "userName"]);

    await store.createAccessKey(accountId, "Alice");
    const conflict = await iamErrorOf(store.deleteUser(accountId, "Alice"));
    expect(conflict.awsName).toBe("DeleteConflict");
    expect(conflict.message).toContain("1 access keys");
    for (const k of await store.listAccessKeys(accountId, "Alice"))
      await store.deleteAccessKey(accountId, "Alice", k.accessKeyId);
    const deleted = await store.deleteUser(accountId, "alice");
    expect(deleted.revision).toBeGreaterThan(created.revision);
    const tomb = await store.pool.query("SELECT payload FROM outbox WHERE account_id = $1 AND revision = $2", [
      accountId,
      deleted.revision,
    ]);
    expect(tomb.rows).toEqual([{ payload: null }]);
  });

  it("lists paginate with markers and filter by path prefix", async () => {
    for (const n of ["p1", "p2", "p3", "p4", "p5"]) {
      await store.createUser(accountId, { userName: `page-${n}`, path: n < "p3" ? "/pg/a/" : "/pg/b/" });
    }
    const first = await store.listUsers(accountId, { pathPrefix: "/pg/", maxItems: 2 });
    expect(first.items.map((u) => u.userName)).toEqual(["page-p1", "page-p2"]);
    expect(first.isTruncated).toBe(true);
    const second = await store.listUsers(accountId, { pathPrefix: "/pg/", maxItems: 2, marker: first.marker });
    const third = await store.listUsers(accountId, { pathPrefix: "/pg/", maxItems: 2, marker: second.marker });
    expect([...second.items, ...third.items].map((u) => u.userName)).toEqual(["page-p3", "page-p4", "page-p5"]);
    expect(third.isTruncated).toBe(false);
    expect((await store.listUsers(accountId, { pathPrefix: "/pg/b/" })).items).toHaveLength(3);
    const bad = await iamErrorOf(store.listUsers(accountId, { maxItems: 5000 }));
    expect(bad.field).toBe("maxItems");
  });

  it("groups: membership, no duplicates, at most N groups per user, delete conflict", async () => {
    await store.createUser(accountId, { userName: "gina" });
    for (const g of ["g1", "g2", "g3", "g4"]) await store.createGroup(accountId, { groupName: g });
    const first = await store.addUserToGroup(accountId, "g1", "gina");
    const again = await store.addUserToGroup(accountId, "g1", "gina");
    expect(again.revision).toBe(first.revision); // no change, no new revision
    await store.addUserToGroup(accountId, "g2", "gina");
    await store.addUserToGroup(accountId, "g3", "gina");
    const limit = await iamErrorOf(store.addUserToGroup(accountId, "g4", "gina"));
    expect([limit.awsName, limit.code]).toEqual(["LimitExceeded", "RESOURCE_EXHAUSTED"]);
    expect((await store.listGroupsForUser(accountId, "gina", {})).items.map((g) => g.groupName)).toEqual([
      "g1",
      "g2",
      "g3",
    ]);
    expect((await iamErrorOf(store.deleteGroup(accountId, "g1"))).awsName).toBe("DeleteConflict");
    await store.removeUserFromGroup(accountId, "g1", "gina");
    expect((await iamErrorOf(store.removeUserFromGroup(accountId, "g1", "gina"))).awsName).toBe("NoSuchEntity");
    await store.deleteGroup(accountId, "g1");
    expect((await iamErrorOf(store.getGroup(accountId, "g1"))).awsName).toBe("NoSuchEntity");
  });

  it("managed policies: versions (max 5, one default), attach quota, delete only when unattached", async () => {
    const p = await store.createPolicy(accountId, { policyName: "Ops", path: "/team/", policyDocument: DOC });
    const arn = p.value.arn;
    expect(arn).toBe(`arn:aws:iam::${accountId}:policy/team/Ops`);
    expect(p.value.policyId).toMatch(/^ANPA/);
    for (let i = 2; i <= 5; i++) {
      const v = await store.createPolicyVersion(accountId, arn, { policyDocument: DOC, setAsDefault: i === 3 });
      expect(v.value.versionId).toBe(`v${i}`);
    }
    expect((await store.getPolicy(accountId, arn)).defaultVersionId).toBe("v3");
    const sixth = await iamErrorOf(
      store.createPolicyVersion(accountId, arn, { policyDocument: DOC, setAsDefault: false }),
    );
    expect(sixth.awsName).toBe("LimitExceeded");
    expect((await iamErrorOf(store.deletePolicyVersion(accountId, arn, "v3"))).awsName).toBe("DeleteConflict");
    await store.deletePolicyVersion(accountId, arn, "v1");
    await store.setDefaultPolicyVersion(accountId, arn, "v5");
    const versions = (await store.listPolicyVersions(accountId, arn, {})).items;
    expect(versions.filter((v) => v.isDefault).map((v) => v.versionId)).toEqual(["v5"]);
    expect(versions).toHaveLength(4);
    expect(
      (await store.createPolicyVersion(accountId, arn, { policyDocument: DOC, setAsDefault: false })).value.versionId,
    ).toBe("v6");

    await store.createRole(accountId, { roleName: "r1", assumeRolePolicyDocument: DOC });
    await store.attachPolicy(accountId, { kind: "role", name: "r1" }, arn);
    expect((await store.getPolicy(accountId, arn)).attachmentCount).toBe(1);
    const conflict = await iamErrorOf(store.deletePolicy(accountId, arn));
    expect([conflict.awsName, conflict.code, conflict.field]).toEqual([
      "DeleteConflict",
      "FAILED_PRECONDITION",
      "policyArn",
    ]);
    expect(conflict.message).toContain("1 attachments, 4 non-default versions");
    const extra = [];
    for (const n of ["a", "b", "c"])
      extra.push((await store.createPolicy(accountId, { policyName: `x-${n}`, policyDocument: DOC })).value.arn);
    await store.attachPolicy(accountId, { kind: "role", name: "r1" }, extra[0] as string);
    await store.attachPolicy(accountId, { kind: "role", name: "r1" }, extra[1] as string);
    expect(
      (await iamErrorOf(store.attachPolicy(accountId, { kind: "role", name: "r1" }, extra[2] as string))).awsName,
    ).toBe("LimitExceeded");
    expect(
      (await store.listAttachedPolicies(accountId, { kind: "role", name: "r1" }, {})).items.map((a) => a.policyName),
    ).toEqual(["Ops", "x-a", "x-b"]);
    await store.detachPolicy(accountId, { kind: "role", name: "r1" }, arn);
    expect((await iamErrorOf(store.detachPolicy(accountId, { kind: "role", name: "r1" }, arn))).awsName).toBe(
      "NoSuchEntity",
    );
    // Unattached, but AWS still refuses while non-default versions remain; nothing is deleted.
    const versioned = await iamErrorOf(store.deletePolicy(accountId, arn));
    expect([versioned.awsName, versioned.field]).toEqual(["DeleteConflict", "policyArn"]);
    expect(versioned.message).toContain("4 non-default versions");
    expect((await store.listPolicyVersions(accountId, arn, {})).items.map((v) => v.versionId)).toEqual([
      "v6",
      "v5",
      "v4",
      "v3",
      "v2",
    ]);
    for (const v of ["v2", "v3", "v4", "v6"]) await store.deletePolicyVersion(accountId, arn, v);
    const deleted = await store.deletePolicy(accountId, arn);
    expect((await iamErrorOf(store.getPolicy(accountId, arn))).awsName).toBe("NoSuchEntity");
    const tomb = await store.pool.query(
      "SELECT entity_kind, payload FROM outbox WHERE account_id = $1 AND revision = $2",
      [accountId, deleted.revision],
    );
    expect(tomb.rows).toEqual([{ entity_kind: "policy", payload: null }]);
    const otherAccount = await iamErrorOf(
      store.getPolicy(accountId, extra[0]?.replace(accountId, "999999999999") as string),
    );
    expect(otherAccount.awsName).toBe("NoSuchEntity");
  });

  it("inline policies and permissions boundaries", async () => {
    await store.createUser(accountId, { userName: "ines" });
    await store.putInlinePolicy(accountId, { kind: "user", name: "ines" }, "s3", DOC);
    await store.putInlinePolicy(accountId, { kind: "user", name: "ines" }, "s3", DOC.replace("s3:*", "s3:Get*"));
    expect((await store.getInlinePolicy(accountId, { kind: "user", name: "ines" }, "s3")).document).toContain(
      "s3:Get*",
    );
    expect((await store.listInlinePolicies(accountId, { kind: "user", name: "ines" }, {})).items).toEqual(["s3"]);
    const b = await store.createPolicy(accountId, { policyName: "Boundary", policyDocument: DOC });
    await store.putPermissionsBoundary(accountId, { kind: "user", name: "ines" }, b.value.arn);
    expect((await store.getUser(accountId, "ines")).permissionsBoundaryArn).toBe(b.value.arn);
    expect((await iamErrorOf(store.deletePolicy(accountId, b.value.arn))).awsName).toBe("DeleteConflict");
    await store.putPermissionsBoundary(accountId, { kind: "user", name: "ines" }, null);
    expect((await store.getUser(accountId, "ines")).permissionsBoundaryArn).toBeNull();
    await store.deleteInlinePolicy(accountId, { kind: "user", name: "ines" }, "s3");
    expect((await iamErrorOf(store.getInlinePolicy(accountId, { kind: "user", name: "ines" }, "s3"))).awsName).toBe(
      "NoSuchEntity",
    );
  });

  it("access keys: at most two, sealed at rest, status, replayable creation (the secret only once)", async () => {
    await store.createUser(accountId, { userName: "kai" });
    const k1 = await store.createAccessKey(accountId, "kai", { clientRequestToken: "kai-key-1" });
    const replay = await store.createAccessKey(accountId, "kai", { clientRequestToken: "kai-key-1" });
    expect(replay.value.accessKey.accessKeyId).toBe(k1.value.accessKey.accessKeyId);
    expect(k1.value.secretAccessKey).toHaveLength(40);
    expect(replay.value.secretAccessKey).toBe("");
    expect(replay.revision).toBe(k1.revision);
    await store.createAccessKey(accountId, "kai");
    expect((await iamErrorOf(store.createAccessKey(accountId, "kai"))).awsName).toBe("LimitExceeded");
    const raw = await store.pool.query<{ secret_ciphertext: Buffer }>("SELECT secret_ciphertext FROM access_keys");
    for (const r of raw.rows) expect(r.secret_ciphertext.toString("latin1")).not.toContain(k1.value.secretAccessKey);
    const outbox = await store.pool.query("SELECT payload::text AS p FROM outbox WHERE entity_kind = 'access-key'");
    for (const r of outbox.rows) expect(r.p ?? "").not.toContain(k1.value.secretAccessKey);
    await store.updateAccessKey(accountId, "kai", k1.value.accessKey.accessKeyId, "Inactive");
    expect((await store.getAccessKeyCredential(k1.value.accessKey.accessKeyId))?.status).toBe("Inactive");
    const wrongOwner = await iamErrorOf(store.deleteAccessKey(accountId, null, k1.value.accessKey.accessKeyId));
    expect(wrongOwner.awsName).toBe("NoSuchEntity");

    // The root (no user) holds two keys too: CreateAccount's and one more.
    const acct = (await store.createAccount({})).accountId;
    const rootKey = await store.createAccessKey(acct, null);
    expect(rootKey.value.accessKey.userName).toBeNull();
    expect((await store.getAccessKeyCredential(rootKey.value.accessKey.accessKeyId))?.principalArn).toBe(
      `arn:aws:iam::${acct}:root`,
    );
    const over = await iamErrorOf(store.createAccessKey(acct, null));
    expect([over.awsName, over.field]).toEqual(["LimitExceeded", "userName"]);
    expect(await store.listAccessKeys(acct, null)).toHaveLength(2);
  });

  it("client request tokens: retry returns the first result, reuse for another request is rejected", async () => {
    const first = await store.createUser(accountId, { userName: "idem", clientRequestToken: "tok-1" });
    const second = await store.createUser(accountId, { userName: "idem", clientRequestToken: "tok-1" });
    expect(second).toEqual(first);
    const rows = await store.pool.query("SELECT count(*)::int AS n FROM outbox WHERE entity_id = $1", [
      first.value.userId,
    ]);
    expect(rows.rows[0].n).toBe(1);
    const parallel = await Promise.all(
      [1, 2, 3, 4].map(() => store.createGroup(accountId, { groupName: "idem-g", clientRequestToken: "tok-2" })),
    );
    expect(new Set(parallel.map((p) => p.value.groupId)).size).toBe(1);
    const misuse = await iamErrorOf(store.createUser(accountId, { userName: "other", clientRequestToken: "tok-1" }));
    expect([misuse.awsName, misuse.field]).toEqual(["InvalidInput", "clientRequestToken"]);
  });

  it("quotas are configurable: users per account", async () => {
    const small = createPostgresStore({
      connectionString: databaseUrl,
      schema,
      secretKey: randomBytes(32),
      quotas: { usersPerAccount: 2 },
    });
    try {
      const acct = (await small.createAccount({})).accountId;
      await small.createUser(acct, { userName: "q1" });
      await small.createUser(acct, { userName: "q2" });
      const e = await iamErrorOf(small.createUser(acct, { userName: "q3" }));
      expect([e.awsName, e.code, e.field]).toEqual(["LimitExceeded", "RESOURCE_EXHAUSTED", "userName"]);
      // The count the quota reads is kept by a trigger: a deleted user frees its place, once.
      await small.deleteUser(acct, "q1");
      await small.createUser(acct, { userName: "q3" });
      expect((await iamErrorOf(small.createUser(acct, { userName: "q4" }))).awsName).toBe("LimitExceeded");
      // Creates racing for the last place: exactly one wins.
      await small.deleteUser(acct, "q2");
      const racing = await Promise.allSettled(
        ["r1", "r2", "r3", "r4"].map((userName) => small.createUser(acct, { userName })),
      );
      expect(racing.filter((r) => r.status === "fulfilled")).toHaveLength(1);
      const counted = await small.pool.query<{ user_count: number; n: number }>(
        "SELECT user_count, (SELECT count(*)::int FROM users WHERE account_id = $1) AS n FROM accounts WHERE account_id = $1",
        [acct],
      );
      expect(counted.rows[0]).toEqual({ user_count: 2, n: 2 });
    } finally {
      await small.close();
    }
  });

  it("the single-call writes emit the same state documents the API returns", async () => {
    const acct = (await store.createAccount({})).accountId;
    const created = await store.createUser(acct, {
      userName: "Doc",
      path: "/team/",
      tags: [{ key: "k", value: "v" }],
      permissionsBoundaryArn: "arn:aws:iam::aws:policy/ReadOnlyAccess",
    });
    // The write's answer is the read's, the console password's last use included (null: never).
    expect(created.value).toEqual(await store.getUser(acct, "doc"));
    const policy = await store.createPolicy(acct, { policyName: "mine", policyDocument: DOC });
    const ref = { kind: "user" as const, name: "doc" };
    await store.attachPolicy(acct, ref, policy.value.arn);
    await store.attachPolicy(acct, ref, "arn:aws:iam::aws:policy/IAMReadOnlyAccess");
    const last = await store.putInlinePolicy(acct, ref, "inline", DOC);
    // Attaching again changes nothing: no event, the revision stays.
    expect((await store.attachPolicy(acct, ref, policy.value.arn)).revision).toBe(last.revision);
    const rows = await store.pool.query<{ entity_kind: string; payload: Record<string, unknown> }>(
      "SELECT entity_kind, payload FROM outbox WHERE account_id = $1 AND revision = $2",
      [acct, last.revision],
    );
    expect(rows.rows).toHaveLength(1);
    const state = rows.rows[0]?.payload ?? {};
    const { groups, attachedPolicies, inlinePolicies, ...user } = state;
    // The console password's last use is not in the state document (not replicated).
    const { passwordLastUsedMs: _, ...createdUser } = created.value;
    expect(user).toEqual(createdUser);
    expect(groups).toEqual([]);
    expect(attachedPolicies).toEqual([
      { policyId: expect.stringMatching(/^ANPA/), policyArn: "arn:aws:iam::aws:policy/IAMReadOnlyAccess" },
      { policyId: policy.value.policyId, policyArn: policy.value.arn },
    ]);
    expect(inlinePolicies).toEqual([{ policyName: "inline", policyDocument: DOC }]);
    // Errors raised inside the write functions arrive as AWS errors naming the field.
    const missing = await iamErrorOf(store.putInlinePolicy(acct, { kind: "role", name: "nope" }, "x", DOC));
    expect([missing.awsName, missing.field, missing.message]).toEqual([
      "NoSuchEntity",
      "roleName",
      'role "nope" does not exist',
    ]);
    const noPolicy = await iamErrorOf(store.attachPolicy(acct, ref, `arn:aws:iam::${acct}:policy/absent`));
    expect([noPolicy.awsName, noPolicy.field]).toEqual(["NoSuchEntity", "policyArn"]);
  });

  it("two concurrent writers on one entity lose no update; revisions are strictly increasing in commit order", async () => {
    const acct = (await store.createAccount({})).accountId;
    const u = await store.createUser(acct, { userName: "busy" });
    const results = await Promise.allSettled(
      Array.from({ length: 20 }, (_, i) => store.putInlinePolicy(acct, { kind: "user", name: "busy" }, `p${i}`, DOC)),
    );
    expect(results.every((r) => r.status === "fulfilled")).toBe(true);
    expect((await store.listInlinePolicies(acct, { kind: "user", name: "busy" }, {})).items).toHaveLength(20);
    const revisions = results.map((r) => (r.status === "fulfilled" ? r.value.revision : 0));
    expect(new Set(revisions).size).toBe(20);
    // The last event for the user carries all 20 policies: every writer saw its predecessors.
    const events = await store.pool.query<{ id: string; revision: string; payload: { inlinePolicies: unknown[] } }>(
      "SELECT id, revision, payload FROM outbox WHERE account_id = $1 ORDER BY id",
      [acct],
    );
    const revs = events.rows.map((r) => Number(r.revision));
    // Outbox order (commit order) is revision order, and each revision is one write (rev 1 = account + root key).
    expect(revs).toEqual([...revs].sort((a, b) => a - b));
    expect(new Set(revs).size).toBe(revs.length - 1);
    const last = events.rows[events.rows.length - 1];
    expect(last?.payload.inlinePolicies).toHaveLength(20);
    expect((await store.getAccount(acct)).revision).toBe(Math.max(...revs));
    expect(u.revision).toBe(2);

    // Versions of one policy written concurrently: exactly five survive, the rest hit the limit.
    const p = await store.createPolicy(acct, { policyName: "hot", policyDocument: DOC });
    const versions = await Promise.allSettled(
      Array.from({ length: 10 }, () =>
        store.createPolicyVersion(acct, p.value.arn, { policyDocument: DOC, setAsDefault: true }),
      ),
    );
    expect(versions.filter((v) => v.status === "fulfilled")).toHaveLength(4);
    const listed = (await store.listPolicyVersions(acct, p.value.arn, {})).items;
    expect(listed).toHaveLength(5);
    expect(listed.filter((v) => v.isDefault)).toHaveLength(1);
  });

  it("exports an account's full state at its revision", async () => {
    const acct = (await store.createAccount({})).accountId;
    await store.createUser(acct, { userName: "ex" });
    await store.createGroup(acct, { groupName: "exg" });
    const last = await store.addUserToGroup(acct, "exg", "ex");
    const exported = await store.exportAccount(acct);
    expect(exported.revision).toBe(last.revision);
    expect(exported.entities.map((e) => e.kind).sort()).toEqual(["access-key", "account", "group", "user"]);
    const user = exported.entities.find((e) => e.kind === "user")?.state as { groups: { groupName: string }[] };
    expect(user.groups.map((g) => g.groupName)).toEqual(["exg"]);
  });

  it("the outbox source reads in order, marks published and wakes listeners on commit", async () => {
    const outbox = createOutboxSource(store);
    const lease = await outbox.tryLead();
    expect(lease).toBeDefined();
    expect(await outbox.tryLead()).toBeUndefined(); // a second relay stays passive
    let wakes = 0;
    const listener = await outbox.listen(
      () => {
        wakes++;
      },
      () => {},
    );
    const before = wakes;
    await store.createGroup(accountId, { groupName: "wake-up" });
    await expect.poll(() => wakes, { timeout: 5000 }).toBeGreaterThan(before);
    const rows = await outbox.fetchUnpublished(10_000);
    expect(rows.length).toBeGreaterThan(0);
    const ids = rows.map((r) => r.id);
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
    await outbox.markPublished(ids);
    expect(await outbox.backlog()).toBe(0);
    await listener.close();
    await lease?.release();
  });

  it("the relay's read touches only unpublished rows, however many were published before them", async () => {
    // This server's statistics may be missing and its dead index entries never vacuumed (autovacuum
    // off): the read must not depend on either. A plain index scan of the partial index in id
    // order stops after its rows and flags the dead entries it passes (migration 0017).
    const outbox = createOutboxSource(store);
    await outbox.markPublished((await outbox.fetchUnpublished(10_000)).map((r) => r.id));
    await store.pool.query(
      `INSERT INTO outbox (account_id, revision, entity_kind, entity_id, payload, published_at)
       SELECT $1, g, 'user', 'AIDAPUBLISHEDBEFORE00', '{}', now() FROM generate_series(1, 20000) g`,
      [accountId],
    );
    await store.createGroup(accountId, { groupName: "after-many" });
    // Mark the group's row published and write another: the first row's old version stays in
    // the partial index (no vacuum here), and the read must skip it, not revisit it every time.
    await outbox.markPublished((await outbox.fetchUnpublished(500)).map((r) => r.id));
    await store.createGroup(accountId, { groupName: "after-that" });
    // The function's query, planned under the settings the function runs with.
    const c = await store.pool.connect();
    let text = "";
    try {
      await c.query("BEGIN");
      const fn = await c.query<{ settings: string[] }>(
        "SELECT proconfig AS settings FROM pg_proc WHERE proname = 'gh_outbox_unpublished'",
      );
      for (const setting of fn.rows[0]?.settings ?? []) {
        const [name, value] = setting.split("=");
        await c.query("SELECT set_config($1, $2, true)", [name, value]);
      }
      const plan = await c.query<{ "QUERY PLAN": string }>(
        `EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF)
         SELECT o.id, o.event_id, o.account_id, o.revision, o.entity_kind, o.entity_id, o.payload, o.committed_at
         FROM outbox o WHERE o.published_at IS NULL
           AND NOT EXISTS (SELECT 1 FROM outbox_parked p WHERE p.account_id = o.account_id)
         ORDER BY o.id LIMIT 500`,
      );
      text = plan.rows.map((r) => r["QUERY PLAN"]).join("\n");
    } finally {
      await c.query("ROLLBACK");
      c.release();
    }
    // Parked accounts (migration 0022) are looked up per row by primary key: an anti join under the limit.
    expect(text).toMatch(
      /^Limit.*\n\s*->\s+Nested Loop Anti Join.*\n\s*->\s+Index Scan using outbox_unpublished_order on outbox o/,
    );
    const rows = await outbox.fetchUnpublished(500);
    expect(rows.map((r) => r.entityKind)).toEqual(["group"]);
    expect(rows[0]?.payload).toMatchObject({ groupName: "after-that" });
    await outbox.markPublished(rows.map((r) => r.id));
    expect(await outbox.backlog()).toBe(0);
  });
});
