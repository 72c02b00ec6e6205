import { randomBytes } from "node:crypto";
import { createTestSchema, iamErrorOf, type TestSchema } from "@gatehouse/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createPostgresStore, type IamStore } from "../../index.ts";

// argon2 work is bounded per account: a tenant's burst of password writes is refused beyond
// passwordHashing.writesPerAccount, while another account's write goes through meanwhile.
describe("password hashing bounds (real Postgres)", () => {
  let schema: TestSchema;
  let store: IamStore;
  let busy: string;
  let other: string;

  beforeAll(async () => {
    schema = await createTestSchema({ prefix: "pwbound", migrated: true });
    store = createPostgresStore({
      connectionString: schema.databaseUrl,
      schema: schema.name,
      secretKey: randomBytes(32),
      passwordHashing: { concurrency: 1, writesPerAccount: 2 },
    });
    await store.migrate();
    busy = (await store.createAccount({})).accountId;
    other = (await store.createAccount({})).accountId;
    for (const a of [busy, other]) {
      for (const u of ["u1", "u2", "u3"]) await store.createUser(a, { userName: u });
    }
  });
  afterAll(async () => {
    await store.close();
    await schema.drop();
  });

  const create = (accountId: string, userName: string) =>
    store.createLoginProfile(accountId, userName, {
      password: `pw-${userName}-Xy1!long`,
      passwordResetRequired: false,
    });

  it("refuses a third concurrent password write of one account with Throttling; other accounts proceed", async () => {
    const settled = await Promise.allSettled([
      create(busy, "u1"),
      create(busy, "u2"),
      create(busy, "u3"),
      create(other, "u1"),
    ]);
    expect(settled.map((s) => s.status)).toEqual(["fulfilled", "fulfilled", "rejected", "fulfilled"]);
    const refused = await iamErrorOf(Promise.reject((settled[2] as PromiseRejectedResult).reason));
    expect([refused.awsName, refused.retriable]).toEqual(["Throttling", true]);
    // Nothing was written for the refused call; once the others are done it goes through.
    expect((await iamErrorOf(store.getLoginProfile(busy, "u3"))).awsName).toBe("NoSuchEntity");
    await create(busy, "u3");
    expect((await store.getLoginProfile(busy, "u3")).userName).toBe("u3");
  });

  it("rejects bad bounds with the value", () => {
    const base = { connectionString: schema.databaseUrl, secretKey: randomBytes(32) };
    expect(() => createPostgresStore({ ...base, passwordHashing: { concurrency: 0 } })).toThrow(
      /passwordHashing.concurrency must be an integer in 1..64, got 0/,
    );
    expect(() => createPostgresStore({ ...base, passwordHashing: { writesPerAccount: 1.5 } })).toThrow(
      /writesPerAccount must be an integer in 1..1000, got 1.5/,
    );
    expect(() => createPostgresStore({ ...base, clientTokenTtlSeconds: 0 })).toThrow(/clientTokenTtlSeconds .* got 0/);
  });
});
