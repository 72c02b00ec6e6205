import { createChangePublisher, deleteTopic, ensureTopic } from "@gatehouse/bus-kafka";
import { createOutboxSource } from "@gatehouse/store-postgres";
import { testKafka, uniqueName } from "@gatehouse/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createOutboxRelay, type OutboxRelayOptions, type ParkedNotice } from "./outbox-relay.ts";
import { collectEvents, createTestEnv, kafkaBrokers, silentLogger, type TestEnv } from "./test-env.int-helper.ts";

const DOC = JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "s3:*", Resource: "*" }] });

function relayFor(env: TestEnv, brokers = kafkaBrokers(), more: Partial<OutboxRelayOptions> & { topic?: string } = {}) {
  const { topic = env.topic, ...extra } = more;
  const publisher = createChangePublisher({ brokers, topic, retries: 1, connectionTimeoutMs: 300 });
  const relay = createOutboxRelay({
    outbox: createOutboxSource(env.store),
    publisher,
    logger: silentLogger,
    fallbackPollMs: 60_000, // long, so a prompt delivery proves the NOTIFY wake-up
    maxBackoffMs: 300,
    takeoverDelayMs: 0,
    ...extra,
  });
  return {
    relay,
    async stop() {
      await relay.stop();
      await publisher.disconnect();
    },
  };
}

/** Revisions must be strictly increasing per account once re-deliveries are dropped. */
function expectInOrder(revisions: number[]): void {
  for (let i = 1; i < revisions.length; i++) expect(revisions[i]).toBeGreaterThanOrEqual(revisions[i - 1] as number);
}

describe("outbox relay (real Postgres + Kafka)", () => {
  let env: TestEnv;
  beforeAll(async () => {
    env = await createTestEnv("relay");
  });
  afterAll(async () => {
    await env.close();
  });

  it("publishes rows committed while no relay ran (crash between commit and publish), in revision order", async () => {
    const outbox = createOutboxSource(env.store);
    // The system account's stream already holds the seeded AWS managed policies (migration 0033).
    const seeded = await outbox.backlog();
    const a = (await env.store.createAccount({})).accountId;
    for (let i = 0; i < 10; i++) await env.store.createUser(a, { userName: `crash-${i}` });
    expect(await outbox.backlog()).toBe(seeded + 12); // account + root key at revision 1, then 10 users
    const events = await collectEvents(env.topic);
    const r = relayFor(env);
    r.relay.start();
    try {
      await expect.poll(() => events.deduped(a).length, { timeout: 20_000 }).toBe(12);
      expect(events.deduped(a).map((e) => e.revision)).toEqual([1, 1, ...Array.from({ length: 10 }, (_, i) => i + 2)]);
      await expect.poll(() => outbox.backlog()).toBe(0);
      // Wakes on NOTIFY, not on the (one minute) fallback poll.
      const started = Date.now();
      await env.store.createGroup(a, { groupName: "prompt" });
      await expect.poll(() => events.deduped(a).length, { timeout: 5000, interval: 5 }).toBe(13);
      expect(Date.now() - started).toBeLessThan(2000);
      const last = events.deduped(a).at(-1);
      expect(last?.key).toEqual({ kind: "group", id: expect.stringMatching(/^AGPA/) });
      expect(JSON.parse(last?.change?.$case === "upsertJson" ? last.change.value : "{}").groupName).toBe("prompt");
    } finally {
      await r.stop();
      await events.stop();
    }
  });

  it("only one relay is active per schema", async () => {
    const first = relayFor(env);
    const second = relayFor(env);
    first.relay.start();
    await expect.poll(() => first.relay.stats().leading).toBe(true);
    second.relay.start();
    await new Promise((r) => setTimeout(r, 300));
    expect(second.relay.stats().leading).toBe(false);
    await first.stop();
    await expect.poll(() => second.relay.stats().leading, { timeout: 5000 }).toBe(true);
    await second.stop();
  });

  it("keeps working through a Kafka outage: the backlog grows, then drains in order", async () => {
    const accounts = [(await env.store.createAccount({})).accountId, (await env.store.createAccount({})).accountId];
    const outbox = createOutboxSource(env.store);
    await expect.poll(() => outbox.backlog()).toBeGreaterThan(0);
    // Kafka "down": the relay's producer points at a dead port (the shared broker stays up).
    const down = relayFor(env, ["127.0.0.1:1"]);
    down.relay.start();
    const writes: Promise<unknown>[] = [];
    for (const acct of accounts) {
      await env.store.createPolicy(acct, { policyName: "p", policyDocument: DOC });
      for (let i = 0; i < 15; i++) writes.push(env.store.createUser(acct, { userName: `outage-${i}` }));
    }
    await Promise.all(writes);
    await expect.poll(() => down.relay.stats().failures, { timeout: 10_000 }).toBeGreaterThan(1);
    const backlog = await outbox.backlog();
    expect(backlog).toBeGreaterThanOrEqual(2 * 18);
    await down.stop();

    // Kafka "back": a relay with a working connection drains everything, in order per account.
    const events = await collectEvents(env.topic);
    const up = relayFor(env);
    up.relay.start();
    try {
      await expect.poll(() => outbox.backlog(), { timeout: 20_000 }).toBe(0);
      for (const acct of accounts) {
        await expect.poll(() => events.deduped(acct).length, { timeout: 20_000 }).toBe(18);
        const revisions = events.deduped(acct).map((e) => e.revision);
        expectInOrder(revisions);
        expect(revisions.at(-1)).toBe((await env.store.getAccount(acct)).revision);
      }
    } finally {
      await up.stop();
      await events.stop();
    }
  });

  it("a crash after sending but before marking re-sends the same events with the same revision", async () => {
    const a = (await env.store.createAccount({})).accountId;
    const events = await collectEvents(env.topic);
    const r = relayFor(env);
    r.relay.start();
    for (let i = 0; i < 5; i++) await env.store.createRole(a, { roleName: `dup-${i}`, assumeRolePolicyDocument: DOC });
    await expect.poll(() => events.deduped(a).length, { timeout: 20_000 }).toBe(7);
    await r.stop();
    // Simulate the crash window: the rows reached Kafka but were never marked.
    await env.store.pool.query("UPDATE outbox SET published_at = NULL WHERE account_id = $1 AND revision >= 4", [a]);
    const again = relayFor(env);
    again.relay.start();
    try {
      await expect.poll(() => events.byAccount.get(a)?.length, { timeout: 20_000 }).toBe(10);
      const all = events.byAccount.get(a) ?? [];
      const dups = all.slice(7);
      expect(dups.map((e) => e.revision)).toEqual([4, 5, 6]);
      expect(dups.map((e) => e.eventId)).toEqual(all.slice(4, 7).map((e) => e.eventId));
      expect(events.deduped(a).map((e) => e.revision)).toEqual([1, 1, 2, 3, 4, 5, 6]);
    } finally {
      await again.stop();
      await events.stop();
    }
  });
});

describe("outbox relay: one account's unpublishable event never stops the others (real Postgres + Kafka)", () => {
  let env: TestEnv;
  let topic: string;
  beforeAll(async () => {
    // Inline policies well past AWS's aggregate, so one user's state outgrows the topic's limit.
    env = await createTestEnv("relay_park", { inlinePolicyCharsPerUser: 100_000 });
    topic = uniqueName("relay_small");
    await ensureTopic({ brokers: kafkaBrokers(), topic, partitions: 2, maxMessageBytes: 4096 });
    // The seeded system stream (every AWS managed policy, most larger than this topic's 4,096
    // bytes) goes to the env's own topic first: the tests here park only their own accounts.
    const drain = relayFor(env);
    drain.relay.start();
    try {
      const outbox = createOutboxSource(env.store);
      for (const deadline = Date.now() + 30_000; (await outbox.backlog()) > 0; ) {
        if (Date.now() > deadline) throw new Error("the seeded system stream was not published in 30 s");
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    } finally {
      await drain.stop();
    }
  });
  afterAll(async () => {
    await env.close();
    await deleteTopic({ brokers: kafkaBrokers(), topic });
  });

  it("parks the oversize event's account, keeps the others flowing, holds its later events until released", async () => {
    const big = (await env.store.createAccount({})).accountId;
    const other = (await env.store.createAccount({})).accountId;
    await env.store.createUser(big, { userName: "before" });
    await env.store.createUser(other, { userName: "o-1" });
    // Small events, many of them: together far more than the topic's 4,096 bytes a partition's
    // record batch may have, so only batches split by size go through without a refusal.
    for (let i = 0; i < 20; i++) await env.store.createGroup(other, { groupName: `g-${i}` });
    await env.store.createUser(big, { userName: "huge" });
    const padded = JSON.stringify({
      Version: "2012-10-17",
      Statement: Array.from({ length: 60 }, (_, i) => ({
        Sid: `S${i}`,
        Effect: "Allow",
        Action: "s3:GetObject",
        Resource: `arn:aws:s3:::bucket-${i}/*`,
      })),
    });
    const oversize = await env.store.putInlinePolicy(big, { kind: "user", name: "huge" }, "big", padded);
    await env.store.createUser(big, { userName: "after" }); // must wait behind the parked event
    const events = await collectEvents(topic);
    const notices: ParkedNotice[] = [];
    const r = relayFor(env, kafkaBrokers(), {
      topic,
      maxBatchBytes: 3000,
      onParked: (n) => notices.push(n),
    });
    r.relay.start();
    try {
      await expect.poll(() => notices.length, { timeout: 20_000 }).toBe(1);
      expect(notices[0]).toMatchObject({ accountId: big, revision: oversize.revision });
      expect(notices[0]?.reason).toMatch(/^Kafka refused the event: .*larger than the max message size/);
      const outbox = createOutboxSource(env.store);
      expect(await outbox.parked()).toEqual([
        expect.objectContaining({ accountId: big, revision: oversize.revision, entityKind: "user" }),
      ]);
      // The other account keeps flowing, also for writes made after the park.
      await env.store.createUser(other, { userName: "o-after-park" });
      const otherRevision = (await env.store.getAccount(other)).revision;
      await expect.poll(() => events.deduped(other).at(-1)?.revision, { timeout: 20_000 }).toBe(otherRevision);
      expect(events.deduped(other).map((e) => e.revision)).toEqual([1, 1, ...range(2, otherRevision)]);
      // The parked account got everything before the oversize event, nothing from it on.
      expect(events.deduped(big).map((e) => e.revision)).toEqual([1, 1, ...range(2, oversize.revision - 1)]);
      expect(r.relay.stats()).toMatchObject({ parked: 1, failures: 0 });
      // The relay marks rows published after Kafka acknowledges them, so a consumer may see the
      // other account's last event a moment before its row is marked: wait for the mark.
      await expect.poll(() => outbox.backlog()).toBe(2); // the parked event and the one behind it

      // Released with skip: the parked event is marked published unsent, and the later one follows.
      expect(await outbox.release(big, { skip: true })).toBe(true);
      expect(await outbox.release(big)).toBe(false);
      await env.store.createGroup(big, { groupName: "wake" }); // a NOTIFY wakes the relay
      const bigRevision = (await env.store.getAccount(big)).revision;
      await expect.poll(() => events.deduped(big).at(-1)?.revision, { timeout: 20_000 }).toBe(bigRevision);
      expect(events.deduped(big).map((e) => e.revision)).toEqual([
        1,
        1,
        ...range(2, oversize.revision - 1),
        oversize.revision + 1,
        oversize.revision + 2,
      ]);
      expect(await outbox.parked()).toEqual([]);
    } finally {
      await r.stop();
      await events.stop();
    }
  });

  it("parks an event larger than its own limit without sending it", async () => {
    const a = (await env.store.createAccount({})).accountId;
    const notices: ParkedNotice[] = [];
    const events = await collectEvents(env.topic);
    const r = relayFor(env, kafkaBrokers(), { maxEventBytes: 1024, onParked: (n) => notices.push(n) });
    await env.store.createUser(a, { userName: "long-path", path: `/${"p".repeat(500)}/` });
    const big = await env.store.putInlinePolicy(
      a,
      { kind: "user", name: "long-path" },
      "p",
      JSON.stringify({
        Version: "2012-10-17",
        Statement: [{ Effect: "Allow", Action: "s3:*", Resource: `arn:aws:s3:::${"b".repeat(900)}` }],
      }),
    );
    r.relay.start();
    try {
      await expect.poll(() => notices.map((n) => n.accountId), { timeout: 20_000 }).toContain(a);
      expect(notices.find((n) => n.accountId === a)?.reason).toMatch(/the relay sends at most 1024/);
      await expect.poll(() => events.deduped(a).length, { timeout: 20_000 }).toBeGreaterThan(0);
      expect(events.deduped(a).every((e) => e.revision < big.revision)).toBe(true);
    } finally {
      await r.stop();
      await events.stop();
      await createOutboxSource(env.store).release(a, { skip: true });
    }
  });
});

describe("outbox relay: a lasting refusal parks only what other events escape (real Postgres + Kafka)", () => {
  let env: TestEnv;
  let topic: string;
  beforeAll(async () => {
    env = await createTestEnv("relay_refuse");
    // The broker refuses records more than a minute older than its clock (INVALID_TIMESTAMP),
    // a refusal of the topic's configuration rather than of one record.
    topic = uniqueName("relay_window");
    const admin = testKafka().admin();
    await admin.connect();
    try {
      await admin.createTopics({
        waitForLeaders: true,
        topics: [
          {
            topic,
            numPartitions: 2,
            configEntries: [{ name: "message.timestamp.difference.max.ms", value: "60000" }],
          },
        ],
      });
    } finally {
      await admin.disconnect();
    }
  });
  afterAll(async () => {
    await env.close();
    await deleteTopic({ brokers: kafkaBrokers(), topic });
  });

  it("parks nothing while Kafka refuses every event; parks the refused account once others go through", async () => {
    // Publish the seeded system stream (the AWS managed policies) first: the test wants every
    // event of its own to be refused, and those would go through.
    const drain = relayFor(env);
    drain.relay.start();
    try {
      await expect.poll(() => createOutboxSource(env.store).backlog(), { timeout: 20_000 }).toBe(0);
    } finally {
      await drain.stop();
    }
    const old = (await env.store.createAccount({})).accountId;
    await env.store.pool.query("UPDATE outbox SET committed_at = now() - interval '1 day' WHERE account_id = $1", [
      old,
    ]);
    const outbox = createOutboxSource(env.store);
    const events = await collectEvents(topic);
    const notices: ParkedNotice[] = [];
    const everyone = relayFor(env, kafkaBrokers(), { topic, onParked: (n) => notices.push(n) });
    everyone.relay.start();
    try {
      await expect.poll(() => everyone.relay.stats().failures, { timeout: 20_000 }).toBeGreaterThan(2);
      expect(everyone.relay.stats().lastError).toMatch(/ServiceFailure/);
      expect(notices).toEqual([]);
      expect(await outbox.parked()).toEqual([]);
      expect(await outbox.backlog()).toBe(2);

      // Another account's events go through: the old ones are now that account's own problem.
      const fresh = (await env.store.createAccount({})).accountId;
      await env.store.createUser(fresh, { userName: "fresh" });
      await expect.poll(() => events.deduped(fresh).length, { timeout: 20_000 }).toBe(3);
      await expect.poll(() => notices.map((n) => n.accountId), { timeout: 20_000 }).toEqual([old]);
      expect(notices[0]?.reason).toMatch(/^Kafka refused the event: .*timestamp/i);
      expect((await outbox.parked()).map((p) => [p.accountId, p.revision])).toEqual([[old, 1]]);
      expect(events.deduped(old)).toEqual([]);
    } finally {
      await everyone.stop();
      await events.stop();
    }
  });
});

describe("outbox relay leadership (real Postgres + Kafka)", () => {
  let env: TestEnv;
  beforeAll(async () => {
    env = await createTestEnv("relay_lead");
  });
  afterAll(async () => {
    await env.close();
  });

  /** The backend holding this schema's relay lock. */
  async function lockHolder(): Promise<number | undefined> {
    const r = await env.store.pool.query<{ pid: number }>(
      `SELECT l.pid FROM pg_locks l
        WHERE l.locktype = 'advisory' AND l.granted AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
          AND l.objid::bigint = (hashtext($1)::bigint & 4294967295)`,
      [`gatehouse-relay:${env.schema}`],
    );
    return r.rows[0]?.pid;
  }

  it("a relay whose lock session is killed stops sending, and another takes over", async () => {
    const a = (await env.store.createAccount({})).accountId;
    const events = await collectEvents(env.topic);
    const first = relayFor(env, kafkaBrokers(), { leaseCheckMs: 100, takeoverDelayMs: 300 });
    const second = relayFor(env, kafkaBrokers(), { leaseCheckMs: 100, takeoverDelayMs: 300 });
    first.relay.start();
    try {
      await expect.poll(() => first.relay.stats().leading, { timeout: 10_000 }).toBe(true);
      second.relay.start();
      await env.store.createUser(a, { userName: "under-first" });
      await expect.poll(() => events.deduped(a).length, { timeout: 20_000 }).toBe(3);
      expect(second.relay.stats()).toMatchObject({ leading: false, published: 0 });
      const pid = await lockHolder();
      expect(pid).toBeDefined();
      await env.store.pool.query("SELECT pg_terminate_backend($1)", [pid]);
      await expect.poll(() => first.relay.stats().leading, { timeout: 5000 }).toBe(false);
      expect(first.relay.stats().leadershipLost).toBe(1);
      await expect.poll(() => second.relay.stats().leading, { timeout: 10_000 }).toBe(true);
      const sentByFirst = first.relay.stats().published;
      for (let i = 0; i < 5; i++) await env.store.createUser(a, { userName: `under-second-${i}` });
      await expect.poll(() => events.deduped(a).length, { timeout: 20_000 }).toBe(8);
      expect(events.deduped(a).map((e) => e.revision)).toEqual([1, 1, 2, 3, 4, 5, 6, 7]);
      // Every event after the kill came from the new leader; the old one holds nothing and sent nothing.
      expect(first.relay.stats()).toMatchObject({ leading: false, published: sentByFirst });
      // Counted once marked, which may come just after the consumer saw the events.
      await expect.poll(() => second.relay.stats().published, { timeout: 5000 }).toBe(5);
      expect(first.relay.stats().published).toBe(sentByFirst);
      expect(await lockHolder()).not.toBe(pid);
    } finally {
      await first.stop();
      await second.stop();
      await events.stop();
    }
  });

  it("every event carries the epoch of the server it was read from: system identifier and timeline", async () => {
    const a = (await env.store.createAccount({})).accountId;
    const events = await collectEvents(env.topic);
    const r = relayFor(env);
    r.relay.start();
    try {
      await expect.poll(() => events.deduped(a).length, { timeout: 20_000 }).toBe(2);
      const server = await env.store.pool.query<{ id: string; timeline: number }>(
        "SELECT (SELECT system_identifier::text FROM pg_control_system()) AS id, timeline_id AS timeline FROM pg_control_checkpoint()",
      );
      const { id, timeline } = server.rows[0] ?? { id: "?", timeline: -1 };
      expect(events.deduped(a).map((e) => e.epoch)).toEqual([`${id}:${timeline}`, `${id}:${timeline}`]);
    } finally {
      await r.stop();
      await events.stop();
    }
  });
});

function range(from: number, to: number): number[] {
  return Array.from({ length: Math.max(0, to - from + 1) }, (_, i) => from + i);
}
