import { randomBytes } from "node:crypto";
import { createTestSchema, type TestSchema } from "@gatehouse/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createPostgresStore, type IamStore } from "../../index.ts";

describe("access keys' last use (real Postgres)", () => {
  let testSchema: TestSchema;
  let store: IamStore;
  let accountId: string;
  let keyId: string;

  beforeAll(async () => {
    testSchema = await createTestSchema({ prefix: "lastused", migrated: true });
    store = createPostgresStore({
      connectionString: testSchema.databaseUrl,
      schema: testSchema.name,
      secretKey: randomBytes(32),
    });
    await store.migrate();
    const created = await store.createAccount({});
    accountId = created.value.account.accountId;
    keyId = created.value.rootAccessKey.accessKey.accessKeyId;
  });
  afterAll(async () => {
    await store.close();
    await testSchema.drop();
  });

  const state = async () => {
    const r = await store.pool.query<{ revision: string; events: number }>(
      "SELECT revision, (SELECT count(*)::int FROM outbox WHERE account_id = $1) AS events FROM accounts WHERE account_id = $1",
      [accountId],
    );
    return r.rows[0];
  };

  it("stamps a batch in one statement, never moves a stamp back, skips unknown keys; no revision, no event", async () => {
    const before = await state();
    const user = await store.createUser(accountId, { userName: "stamped" });
    const userKey = (await store.createAccessKey(accountId, "stamped")).value.accessKey.accessKeyId;
    const afterWrites = await state();
    expect(Number(afterWrites?.revision)).toBe(Number(before?.revision) + 2);
    expect(user.revision).toBeGreaterThan(0);

    const t = Date.UTC(2026, 11, 4, 12, 0, 0, 123);
    expect(
      await store.recordAccessKeyUses([
        { accessKeyId: keyId, atMs: t, service: "iam", region: "us-east-1" },
        { accessKeyId: userKey, atMs: t + 1000, service: "sts", region: "eu-west-1" },
        { accessKeyId: "AKIAUNKNOWNKEY000000", atMs: t, service: "iam", region: "us-east-1" },
      ]),
    ).toBe(2);
    expect((await store.getAccessKey(accountId, keyId)).lastUsed).toEqual({
      atMs: t,
      service: "iam",
      region: "us-east-1",
    });
    expect((await store.getAccessKey(accountId, userKey)).lastUsed).toEqual({
      atMs: t + 1000,
      service: "sts",
      region: "eu-west-1",
    });
    // An older stamp (a replica flushing late) is ignored; a newer one wins.
    expect(await store.recordAccessKeyUses([{ accessKeyId: keyId, atMs: t - 1, service: "x", region: "y" }])).toBe(0);
    expect((await store.getAccessKey(accountId, keyId)).lastUsed?.atMs).toBe(t);
    await store.recordAccessKeyUses([{ accessKeyId: keyId, atMs: t + 5, service: "iam", region: "ap-southeast-1" }]);
    expect((await store.getAccessKey(accountId, keyId)).lastUsed).toEqual({
      atMs: t + 5,
      service: "iam",
      region: "ap-southeast-1",
    });
    expect(await store.recordAccessKeyUses([])).toBe(0);
    // Last use is not IAM state: the revision and the outbox are as the writes left them.
    expect(await state()).toEqual(afterWrites);
  });

  it("getAccessKey: a key of this account only, NoSuchEntity naming accessKeyId otherwise", async () => {
    expect((await store.getAccessKey(accountId, keyId)).userName).toBeNull();
    const other = (await store.createAccount({})).value.account.accountId;
    for (const [account, id] of [
      [other, keyId],
      [accountId, "AKIAUNKNOWNKEY000000"],
    ] as const) {
      await expect(store.getAccessKey(account, id)).rejects.toMatchObject({
        awsName: "NoSuchEntity",
        field: "accessKeyId",
      });
    }
  });
});
