// Every outbox row keeps the trace context of the write that produced it (migration 0031), on each
// of the three write paths: TypeScript transactions (mutate), a single-call write running alone,
// and single-call writes sharing one gh_write_batch statement; an untraced write's rows have none,
// even on a connection an earlier traced write used.
import { AsyncLocalStorage } from "node:async_hooks";
import { randomBytes } from "node:crypto";
import { createTestSchema, type TestSchema } from "@gatehouse/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createOutboxSource, createPostgresStore, type IamStore } from "./index.ts";

const traceparent = (n: number) => `00-${n.toString(16).padStart(32, "a")}-${n.toString(16).padStart(16, "b")}-01`;

describe("outbox trace context", () => {
  let testSchema: TestSchema;
  let store: IamStore;
  // What a service's telemetry does: the active context of the call in progress.
  const active = new AsyncLocalStorage<string>();

  beforeAll(async () => {
    testSchema = await createTestSchema({ prefix: "otrace", migrated: true });
    store = createPostgresStore({
      connectionString: testSchema.databaseUrl,
      schema: testSchema.name,
      poolSize: 3,
      // One statement of single-call writes at a time: concurrent ones share gh_write_batch.
      writeConcurrency: 1,
      secretKey: randomBytes(32),
      traceContext: () => active.getStore(),
    });
    await store.migrate();
  });
  afterAll(async () => {
    await store?.close();
    await testSchema?.drop();
  });

  const rowsOf = async (accountId: string) =>
    (
      await store.pool.query<{ entity_kind: string; entity_id: string; trace_context: string | null }>(
        "SELECT entity_kind, entity_id, trace_context FROM outbox WHERE account_id = $1 ORDER BY id",
        [accountId],
      )
    ).rows;

  it("stores each write's own traceparent with its rows, on every write path", async () => {
    const account = await active.run(traceparent(1), () => store.createAccount({}));
    const accountId = account.accountId;
    await active.run(traceparent(2), () => store.createGroup(accountId, { groupName: "g" }));
    // 24 concurrent single-call writes: the first runs alone, the rest queue into batches.
    const users = Array.from({ length: 24 }, (_, i) => i);
    await Promise.all(
      users.map((i) => active.run(traceparent(100 + i), () => store.createUser(accountId, { userName: `u${i}` }))),
    );
    // Untraced writes after traced ones, alone and in a batch.
    await store.createUser(accountId, { userName: "plain" });
    await Promise.all([0, 1, 2].map((i) => store.createUser(accountId, { userName: `plain${i}` })));

    const rows = await rowsOf(accountId);
    const byEntity = (kind: string) => rows.filter((r) => r.entity_kind === kind);
    expect(byEntity("account").map((r) => r.trace_context)).toEqual([traceparent(1)]);
    expect(byEntity("group").map((r) => r.trace_context)).toEqual([traceparent(2)]);
    const userRows = byEntity("user");
    expect(userRows.length).toBe(24 + 4);
    const names = new Map(
      (await store.pool.query<{ user_id: string; user_name: string }>("SELECT user_id, user_name FROM users")).rows.map(
        (u) => [u.user_id, u.user_name],
      ),
    );
    for (const row of userRows) {
      const name = names.get(row.entity_id) ?? "";
      const n = /^u(\d+)$/.exec(name);
      expect(row.trace_context, name).toBe(n === null ? null : traceparent(100 + Number(n[1])));
    }
    // The relay reads it back with each row.
    // Past the seeded system stream: AWS's 1,594 managed policies come first (migration 0035).
    const unpublished = await createOutboxSource(store).fetchUnpublished(10_000);
    const mine = unpublished.filter((r) => r.accountId === accountId);
    expect(mine.find((r) => r.entityKind === "group")?.traceContext).toBe(traceparent(2));
    expect(mine.filter((r) => r.traceContext === undefined).length).toBe(4); // the 4 plain users
  });
});
