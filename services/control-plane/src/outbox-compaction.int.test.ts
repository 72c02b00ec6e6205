import { createChangePublisher } from "@gatehouse/bus-kafka";
import { createOutboxSource, type ExportedEntity } from "@gatehouse/store-postgres";
import { iamErrorOf } from "@gatehouse/testkit";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createOutboxRelay } from "./outbox-relay.ts";
import { startAccountFixture } from "./test-account.int-helper.ts";
import { collectEvents, createTestEnv, kafkaBrokers, silentLogger, type TestEnv } from "./test-env.int-helper.ts";

const DOC = JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "s3:*", Resource: "*" }] });

interface Row {
  id: string;
  revision: number;
  kind: string;
  entity: string;
  tombstone: boolean;
  published: boolean;
}

function relayFor(env: TestEnv) {
  const publisher = createChangePublisher({ brokers: kafkaBrokers(), topic: env.topic, retries: 1 });
  const relay = createOutboxRelay({
    outbox: createOutboxSource(env.store),
    publisher,
    logger: silentLogger,
    fallbackPollMs: 200,
  });
  relay.start();
  return {
    async stop() {
      await relay.stop();
      await publisher.disconnect();
    },
  };
}

describe("outbox compaction (real Postgres + Kafka)", () => {
  let env: TestEnv;
  beforeAll(async () => {
    env = await createTestEnv("compact");
  });
  afterAll(async () => {
    await env.close();
  });

  const rowsOf = async (accountId: string): Promise<Row[]> =>
    (
      await env.store.pool.query<Row>(
        `SELECT id, revision::int, entity_kind AS kind, entity_id AS entity, payload IS NULL AS tombstone,
           published_at IS NOT NULL AS published FROM outbox WHERE account_id = $1 ORDER BY id`,
        [accountId],
      )
    ).rows;
  /** Makes revisions up to `revision` look committed an hour ago (older than the test's retention). */
  const age = (accountId: string, revision: number) =>
    env.store.pool.query(
      "UPDATE outbox SET committed_at = committed_at - interval '1 hour' WHERE account_id = $1 AND revision <= $2",
      [accountId, revision],
    );
  const revisionOf = async (accountId: string) => (await env.store.getAccount(accountId)).revision;
  const sorted = (entities: ExportedEntity[]) =>
    [...entities].sort((a, b) => `${a.kind} ${a.id}`.localeCompare(`${b.kind} ${b.id}`));
  const exportsFrom = async (accountId: string, from: number) => {
    const out = new Map<number, ExportedEntity[]>();
    for (let r = from; r <= (await revisionOf(accountId)); r++) {
      out.set(r, sorted((await env.store.exportAccount(accountId, r)).entities));
    }
    return out;
  };
  const outbox = () => createOutboxSource(env.store);

  it("keeps the newest row per entity up to the horizon, exports from it on unchanged, never an unpublished row", async () => {
    const a = (await env.store.createAccount({})).accountId;
    const events = await collectEvents(env.topic);
    let relay = relayFor(env);
    // Old and published: users edited several times, one deleted (tombstone), a policy with versions.
    const alice = (await env.store.createUser(a, { userName: "alice" })).value.userId;
    const bob = (await env.store.createUser(a, { userName: "bob" })).value.userId;
    const carol = (await env.store.createUser(a, { userName: "carol" })).value.userId;
    for (const v of ["1", "2", "3"]) await env.store.tagEntity(a, "user", "alice", [{ key: "v", value: v }]);
    await env.store.tagEntity(a, "user", "carol", [{ key: "v", value: "1" }]);
    await env.store.deleteUser(a, "carol");
    const policy = (await env.store.createPolicy(a, { policyName: "p", policyDocument: DOC })).value;
    await env.store.createPolicyVersion(a, policy.arn, { policyDocument: DOC, setAsDefault: true });
    const attached = (await env.store.attachPolicy(a, { kind: "user", name: "bob" }, policy.arn)).revision;
    await expect.poll(() => outbox().backlog(), { timeout: 20_000 }).toBe(0);
    await relay.stop();
    const published = await revisionOf(a);
    // Old but not yet published (Kafka "down"): dave edited three times, alice once more.
    const dave = (await env.store.createUser(a, { userName: "dave" })).value.userId;
    await env.store.tagEntity(a, "user", "dave", [{ key: "v", value: "1" }]);
    await env.store.tagEntity(a, "user", "dave", [{ key: "v", value: "2" }]);
    await env.store.tagEntity(a, "user", "alice", [{ key: "v", value: "4" }]);
    const horizon = await revisionOf(a);
    await age(a, horizon);
    // Recent: within the retention, so kept whatever supersedes what.
    await env.store.tagEntity(a, "user", "bob", [{ key: "v", value: "1" }]);
    await env.store.deleteUser(a, "dave"); // a tombstone after the horizon
    await env.store.tagEntity(a, "user", "alice", [{ key: "v", value: "5" }]);

    const before = await rowsOf(a);
    const exportsBefore = await exportsFrom(a, 1);
    const liveBefore = sorted((await env.store.exportAccount(a)).entities);

    const done = await env.store.compactOutbox({ retentionSeconds: 600, batchSize: 3 });
    expect(done.ran).toBe(true);
    const mine = done.accounts.find((x) => x.accountId === a);
    expect(mine?.horizon).toBe(horizon);
    const after = await rowsOf(a);
    const kept = new Set(after.map((r) => r.id));
    const rowsFor = (rows: Row[], id: string) => rows.filter((r) => r.entity === id);

    // Up to the horizon, published rows of alice and the policy survive only as their newest one.
    expect(rowsFor(after, alice).map((r) => [r.revision, r.published])).toEqual([
      [horizon, false], // v=4, unpublished: kept (it also supersedes alice's published rows)
      [horizon + 3, false],
    ]);
    expect(rowsFor(after, bob).map((r) => r.revision)).toEqual([attached, horizon + 1]);
    expect(rowsFor(after, policy.policyId).map((r) => r.revision)).toEqual([
      Math.max(...rowsFor(before, policy.policyId).map((r) => r.revision)),
    ]);
    // carol was deleted before the horizon: her tombstone went with her earlier rows.
    expect(rowsFor(before, carol).at(-1)?.tombstone).toBe(true);
    expect(rowsFor(after, carol)).toEqual([]);
    // Unpublished rows are never removed, even superseded ones.
    expect(rowsFor(after, dave)).toEqual(rowsFor(before, dave));
    for (const r of before.filter((x) => !x.published)) expect(kept.has(r.id), `row ${r.id}`).toBe(true);
    // Nothing after the horizon is touched.
    expect(after.filter((r) => r.revision > horizon)).toEqual(before.filter((r) => r.revision > horizon));
    expect(done.superseded).toBeGreaterThanOrEqual(before.length - after.length - done.tombstones);
    expect(mine?.superseded).toBe(before.length - after.length - (mine?.tombstones ?? 0));
    expect(mine?.tombstones).toBe(1);

    // Exports at and above the horizon are exactly what they were; below it they are refused.
    for (let r = horizon; r <= (await revisionOf(a)); r++) {
      expect(sorted((await env.store.exportAccount(a, r)).entities), `revision ${r}`).toEqual(exportsBefore.get(r));
    }
    expect(sorted((await env.store.exportAccount(a)).entities)).toEqual(liveBefore);
    const below = await iamErrorOf(env.store.exportAccount(a, horizon - 1));
    expect([below.awsName, below.field]).toEqual(["InvalidInput", "atRevision"]);
    expect(below.message).toContain(`oldest exportable revision is ${horizon}`);
    expect((await iamErrorOf(env.store.exportAccount(a, 1))).field).toBe("atRevision");
    expect(published).toBeLessThan(horizon);

    // The relay sends what compaction left unpublished, in order, and keeps working.
    relay = relayFor(env);
    try {
      await expect.poll(() => outbox().backlog(), { timeout: 20_000 }).toBe(0);
      await env.store.createGroup(a, { groupName: "later" });
      const current = await revisionOf(a);
      await expect.poll(() => events.deduped(a).at(-1)?.revision, { timeout: 20_000 }).toBe(current);
      const revisions = [...new Set(events.deduped(a).map((e) => e.revision))];
      expect(revisions).toEqual(Array.from({ length: current }, (_, i) => i + 1));
      // Now published, dave's and alice's older rows up to the horizon go at the next pass.
      await expect.poll(() => outbox().backlog(), { timeout: 20_000 }).toBe(0);
      const again = await env.store.compactOutbox({ retentionSeconds: 600 });
      expect(again.accounts.find((x) => x.accountId === a)?.horizon).toBe(horizon);
      const final = await rowsOf(a);
      expect(rowsFor(final, dave).map((r) => [r.revision, r.tombstone])).toEqual([
        [horizon - 1, false],
        [horizon + 2, true],
      ]);
      expect(rowsFor(final, alice).map((r) => r.revision)).toEqual([horizon, horizon + 3]);
      for (let r = horizon; r < current; r++) {
        expect(sorted((await env.store.exportAccount(a, r)).entities), `revision ${r}`).toEqual(exportsBefore.get(r));
      }
      // A pass with nothing new to look at touches nothing.
      const idle = await env.store.compactOutbox({ retentionSeconds: 600 });
      expect(idle.accounts.find((x) => x.accountId === a)).toBeUndefined();
      expect(await rowsOf(a)).toEqual(final);
    } finally {
      await relay.stop();
      await events.stop();
    }
  });

  it("with no retention keeps exactly the newest row per entity and refuses every older revision", async () => {
    const a = (await env.store.createAccount({})).accountId;
    await env.store.createUser(a, { userName: "u" });
    for (const v of ["1", "2"]) await env.store.tagEntity(a, "user", "u", [{ key: "v", value: v }]);
    await env.store.createRole(a, { roleName: "r", assumeRolePolicyDocument: trust() });
    await env.store.deleteRole(a, "r");
    await env.store.pool.query("UPDATE outbox SET published_at = now() WHERE account_id = $1", [a]);
    const current = await revisionOf(a);
    const live = sorted((await env.store.exportAccount(a)).entities);
    const done = await env.store.compactOutbox({ retentionSeconds: 0, batchSize: 1 });
    expect(done.accounts.find((x) => x.accountId === a)).toMatchObject({ horizon: current, tombstones: 1 });
    const rows = await rowsOf(a);
    expect(rows.map((r) => r.kind).sort()).toEqual(["access-key", "account", "user"]);
    // One more write, so the export at `current` is rebuilt from what compaction left.
    await env.store.createGroup(a, { groupName: "g" });
    expect(sorted((await env.store.exportAccount(a, current)).entities)).toEqual(live);
    const refused = await iamErrorOf(env.store.exportAccount(a, current - 1));
    expect(refused.message).toContain(`oldest exportable revision is ${current}`);
  });

  it("never waits for a writer: it runs while the account's row lock is held", async () => {
    const a = (await env.store.createAccount({})).accountId;
    await env.store.createUser(a, { userName: "w" });
    await env.store.tagEntity(a, "user", "w", [{ key: "v", value: "1" }]);
    await env.store.pool.query("UPDATE outbox SET published_at = now() WHERE account_id = $1", [a]);
    const writer = new pg.Client({ connectionString: env.databaseUrl, options: `-c search_path=${env.schema}` });
    await writer.connect();
    try {
      // The lock every write takes first (tx.ts), held by a write that has not committed yet.
      await writer.query("BEGIN");
      await writer.query("UPDATE accounts SET revision = revision + 1 WHERE account_id = $1", [a]);
      const pass = env.store.compactOutbox({ retentionSeconds: 0 });
      const timeout = new Promise((_, reject) => setTimeout(() => reject(new Error("compaction waited")), 5000));
      const done = await Promise.race([pass, timeout]);
      expect((done as Awaited<typeof pass>).accounts.find((x) => x.accountId === a)?.superseded).toBe(1);
    } finally {
      await writer.query("ROLLBACK");
      await writer.end();
    }
    // And writes go on during a pass.
    const [, written] = await Promise.all([
      env.store.compactOutbox({ retentionSeconds: 0 }),
      env.store.tagEntity(a, "user", "w", [{ key: "v", value: "2" }]),
    ]);
    expect(written.revision).toBe(await revisionOf(a));
  });

  it("one pass per schema at a time; bad options are InvalidInput", async () => {
    const holder = new pg.Client({ connectionString: env.databaseUrl });
    await holder.connect();
    try {
      await holder.query("SELECT pg_advisory_lock(hashtext($1))", [`gatehouse-outbox-compaction:${env.schema}`]);
      expect(await env.store.compactOutbox({ retentionSeconds: 0 })).toEqual({
        ran: false,
        accounts: [],
        superseded: 0,
        tombstones: 0,
      });
    } finally {
      await holder.end();
    }
    expect((await env.store.compactOutbox({ retentionSeconds: 0 })).ran).toBe(true);
    const negative = await iamErrorOf(env.store.compactOutbox({ retentionSeconds: -1 }));
    expect([negative.awsName, negative.field]).toEqual(["InvalidInput", "retentionSeconds"]);
    expect(negative.message).toContain("-1");
    const batch = await iamErrorOf(env.store.compactOutbox({ retentionSeconds: 0, batchSize: 0 }));
    expect([batch.awsName, batch.field]).toEqual(["InvalidInput", "batchSize"]);
  });
});

describe("outbox compaction in the control plane (real Postgres + Kafka)", () => {
  it("runs on a timer with the configured retention and stops with the control plane", async () => {
    const { h, root, accountId, close } = await startAccountFixture({
      GATEHOUSE_OUTBOX_RETENTION: "0",
      GATEHOUSE_OUTBOX_COMPACTION_INTERVAL_MS: "100",
    });
    try {
      await root.call("createUser", { userName: "t" });
      for (const v of ["1", "2", "3"]) await root.call("tagUser", { entityName: "t", tags: [{ key: "v", value: v }] });
      const userRows = () =>
        h.cp.store.pool
          .query<{ n: number }>(
            "SELECT count(*)::int AS n FROM outbox WHERE account_id = $1 AND entity_kind = 'user'",
            [accountId],
          )
          .then((r) => r.rows[0]?.n);
      await expect.poll(userRows, { timeout: 20_000 }).toBe(1);
      const current = (await root.call("exportAccount", { accountId: "" })).revision.revision;
      await expect
        .poll(() => h.cp.store.exportAccount(accountId, current - 1).then(() => "exportable", String), {
          timeout: 20_000,
        })
        .toMatch(/oldest exportable revision is/);
    } finally {
      // Resolves only once the compactor's pass (if one is running) ended.
      await close();
    }
  });
});

function trust(): string {
  return JSON.stringify({
    Version: "2012-10-17",
    Statement: [{ Effect: "Allow", Principal: { Service: "ec2.amazonaws.com" }, Action: "sts:AssumeRole" }],
  });
}
