// Group commit of the single-call writes: writes queued behind a busy statement share the next one
// (gh_write_batch), each in its own subtransaction. What must hold is what holds for writes run one
// by one: every write succeeds or fails on its own, with its own error and nothing left behind; an
// account's writes get consecutive revisions in the order they were made; the outbox has exactly
// the successful writes' rows.
import { randomBytes } from "node:crypto";
import { IamError } from "@gatehouse/core";
import { createTestSchema, type TestSchema } from "@gatehouse/testkit";
import type pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createPostgresStore, type IamStore, type Mutation } from "./index.ts";

const DOC = JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "s3:*", Resource: "*" }] });

describe("write batcher (gh_write_batch)", () => {
  let testSchema: TestSchema;
  let store: IamStore;
  let statements = 0;

  beforeAll(async () => {
    testSchema = await createTestSchema({ prefix: "batch", migrated: true });
    // One statement of single-call writes at a time: everything behind the first one queues.
    store = createPostgresStore({
      connectionString: testSchema.databaseUrl,
      schema: testSchema.name,
      poolSize: 2,
      writeConcurrency: 1,
      secretKey: randomBytes(32),
      quotas: { usersPerAccount: 12 },
    });
    await store.migrate();
    const query = store.pool.query.bind(store.pool) as (...args: unknown[]) => Promise<pg.QueryResult>;
    (store.pool as unknown as { query: typeof query }).query = (...args: unknown[]) => {
      const config = args[0] as { name?: string } | string;
      if (typeof config === "object" && /^gatehouse_(gh_|write_batch)/.test(config.name ?? "")) statements++;
      return query(...args);
    };
  });
  afterAll(async () => {
    await store?.close();
    await testSchema?.drop();
  });

  it("runs queued writes in shared statements, each succeeding or failing on its own, revisions in order", async () => {
    const accounts = [
      (await store.createAccount({})).accountId,
      (await store.createAccount({})).accountId,
      (await store.createAccount({})).accountId,
    ];
    const policies = await Promise.all(
      accounts.map(async (a) => (await store.createPolicy(a, { policyName: "p", policyDocument: DOC })).value.arn),
    );
    const before = await Promise.all(accounts.map(async (a) => (await store.getAccount(a)).revision));
    statements = 0;

    type Expect = { account: number; ok: true } | { account: number; ok: false; awsName: string; field: string };
    const calls: { run: () => Promise<Mutation<unknown>>; expect: Expect }[] = [];
    accounts.forEach((a, n) => {
      const user = (name: string) => ({ kind: "user" as const, name });
      for (let i = 0; i < 10; i++) {
        calls.push({ run: () => store.createUser(a, { userName: `u${i}` }), expect: { account: n, ok: true } });
      }
      calls.push(
        // A clash with a write earlier in the same statement.
        {
          run: () => store.createUser(a, { userName: "U3" }),
          expect: { account: n, ok: false, awsName: "EntityAlreadyExists", field: "userName" },
        },
        {
          run: () => store.putInlinePolicy(a, user("u1"), "inline", DOC),
          expect: { account: n, ok: true },
        },
        {
          run: () => store.putInlinePolicy(a, user("ghost"), "inline", DOC),
          expect: { account: n, ok: false, awsName: "NoSuchEntity", field: "userName" },
        },
        { run: () => store.attachPolicy(a, user("u2"), policies[n] as string), expect: { account: n, ok: true } },
        {
          run: () => store.attachPolicy(a, user("u2"), `${policies[n]}-absent`),
          expect: { account: n, ok: false, awsName: "NoSuchEntity", field: "policyArn" },
        },
        // Users 11 and 12 fit the quota of 12 (u0–u9 plus these); the third does not.
        { run: () => store.createUser(a, { userName: "late1" }), expect: { account: n, ok: true } },
        { run: () => store.createUser(a, { userName: "late2" }), expect: { account: n, ok: true } },
        {
          run: () => store.createUser(a, { userName: "late3" }),
          expect: { account: n, ok: false, awsName: "LimitExceeded", field: "userName" },
        },
      );
    });
    // Interleave the accounts' calls, as concurrent clients would send them.
    const order = calls.map((c, i) => ({ c, key: (i % 18) * 3 + Math.floor(i / 18) })).sort((x, y) => x.key - y.key);
    const settled = await Promise.allSettled(order.map(({ c }) => c.run()));

    expect(statements).toBeLessThan(calls.length / 4);
    const revisions: number[][] = accounts.map(() => []);
    settled.forEach((s, i) => {
      const { expect: want } = (order[i] as (typeof order)[number]).c;
      if (want.ok) {
        expect(s.status, JSON.stringify(s.status === "rejected" ? String(s.reason) : want)).toBe("fulfilled");
        if (s.status === "fulfilled") revisions[want.account]?.push(s.value.revision);
      } else {
        expect(s.status).toBe("rejected");
        const e = s.status === "rejected" ? (s.reason as IamError) : undefined;
        expect(IamError.is(e)).toBe(true);
        expect([e?.awsName, e?.field]).toEqual([want.awsName, want.field]);
      }
    });
    for (const [n, a] of accounts.entries()) {
      // Consecutive revisions after the account's last one, in the order the writes were made.
      const got = revisions[n] as number[];
      const start = before[n] as number;
      expect(got).toEqual(Array.from({ length: got.length }, (_, i) => start + 1 + i));
      const rows = await store.pool.query<{ revision: string; entity_kind: string }>(
        "SELECT revision, entity_kind FROM outbox WHERE account_id = $1 AND revision > $2 ORDER BY id",
        [a, start],
      );
      expect(rows.rows.map((r) => Number(r.revision))).toEqual(got);
      expect((await store.getAccount(a)).revision).toBe(start + got.length);
      const users = await store.listUsers(a, {});
      expect(users.items.map((u) => u.userName).sort()).toEqual(
        ["late1", "late2", ...Array.from({ length: 10 }, (_, i) => `u${i}`)].sort(),
      );
    }
  });

  it("writeConcurrency is 1..poolSize", () => {
    const base = { connectionString: testSchema.databaseUrl, schema: testSchema.name, secretKey: randomBytes(32) };
    expect(() => createPostgresStore({ ...base, poolSize: 2, writeConcurrency: 3 })).toThrow(
      /writeConcurrency must be an integer in 1\.\.poolSize \(2\), got 3/,
    );
    expect(() => createPostgresStore({ ...base, poolSize: 2, writeConcurrency: 0 })).toThrow(/writeConcurrency/);
  });

  it("a write that finds the slot free runs alone, and a replayed token inside a batch returns the first response", async () => {
    const a = (await store.createAccount({})).accountId;
    statements = 0;
    const alone = await store.createUser(a, { userName: "solo" });
    expect(statements).toBe(1);
    const same = await Promise.all(
      Array.from({ length: 6 }, () => store.createUser(a, { userName: "tok", clientRequestToken: "t-1" })),
    );
    expect(new Set(same.map((m) => m.revision)).size).toBe(1);
    expect(new Set(same.map((m) => (m.value as { userId: string }).userId)).size).toBe(1);
    expect(same[0]?.revision).toBe(alone.revision + 1);
  });
});
