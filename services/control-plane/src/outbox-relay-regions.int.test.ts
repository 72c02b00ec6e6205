// What the regions rely on from the relay (issue 13): every event says where it stands in its
// revision, and every partition gets heartbeat watermarks from the leader.
import { createChangePublisher } from "@gatehouse/bus-kafka";
import { decodeChangeEvent, decodeWatermark, MESSAGE_TYPE_HEADER } from "@gatehouse/events";
import type { ChangeEvent, Watermark } from "@gatehouse/proto";
import { createOutboxSource } from "@gatehouse/store-postgres";
import { testKafka, uniqueName } from "@gatehouse/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createOutboxRelay, type OutboxRelayOptions } from "./outbox-relay.ts";
import { createTestEnv, kafkaBrokers, silentLogger, type TestEnv } from "./test-env.int-helper.ts";

interface Received {
  readonly partition: number;
  readonly type: string | undefined;
  readonly key: string | undefined;
  readonly receivedAtMs: number;
  readonly event?: ChangeEvent;
  readonly watermark?: Watermark;
}

/** Every message of `topic` with its type header, in partition order. */
async function collect(topic: string) {
  const messages: Received[] = [];
  const consumer = testKafka().consumer({ groupId: uniqueName("regions"), maxWaitTimeInMs: 50 });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const joined = new Promise<void>((resolve) => {
    const off = consumer.on(consumer.events.GROUP_JOIN, () => {
      off();
      resolve();
    });
  });
  await consumer.run({
    eachMessage: async ({ partition, message }) => {
      if (message.value === null) return;
      const type = message.headers?.[MESSAGE_TYPE_HEADER]?.toString();
      const base = { partition, type, key: message.key?.toString(), receivedAtMs: Date.now() };
      messages.push(
        type === "watermark"
          ? { ...base, watermark: decodeWatermark(message.value) }
          : { ...base, event: decodeChangeEvent(message.value) },
      );
    },
  });
  await joined;
  return {
    messages,
    /** The account's events, re-deliveries (same event id) dropped. */
    events(accountId: string): ChangeEvent[] {
      const seen = new Set<string>();
      const out: ChangeEvent[] = [];
      for (const m of messages) {
        if (m.event?.accountId !== accountId || seen.has(m.event.eventId)) continue;
        seen.add(m.event.eventId);
        out.push(m.event);
      }
      return out;
    },
    watermarks: () => messages.filter((m) => m.watermark !== undefined),
    stop: () => consumer.disconnect(),
  };
}

function relayFor(env: TestEnv, more: Partial<OutboxRelayOptions> & { brokers?: string[] } = {}) {
  const { brokers = kafkaBrokers(), ...extra } = more;
  const publisher = createChangePublisher({ brokers, topic: env.topic, retries: 1, connectionTimeoutMs: 300 });
  const relay = createOutboxRelay({
    outbox: createOutboxSource(env.store),
    publisher,
    logger: silentLogger,
    fallbackPollMs: 60_000,
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

/** `[revision, index, count]` of each event. */
const places = (events: ChangeEvent[]) => events.map((e) => [e.revision, e.revisionIndex, e.revisionEvents]);

describe("relay: revisions complete and counted (real Postgres + Kafka)", () => {
  let env: TestEnv;
  beforeAll(async () => {
    env = await createTestEnv("relayrev");
  });
  afterAll(async () => {
    await env.close();
  });

  it("stamps every event with its index and its revision's count, in order, with the change header", async () => {
    const a = (await env.store.createAccount({})).accountId; // account + root key: 2 events
    await env.store.createGroup(a, { groupName: "g" }); // 1 event
    for (const u of ["u1", "u2", "u3"]) {
      await env.store.createUser(a, { userName: u });
      await env.store.addUserToGroup(a, "g", u);
    }
    // Renaming a group re-emits every member: 1 + 3 events in one revision.
    const renamed = await env.store.updateGroup(a, { groupName: "g", newGroupName: "g2" });
    const got = await collect(env.topic);
    const r = relayFor(env);
    r.relay.start();
    try {
      await expect.poll(() => got.events(a).length, { timeout: 20_000 }).toBe(2 + 1 + 6 + 4);
      const events = got.events(a);
      expect(places(events)).toEqual([
        [1, 0, 2],
        [1, 1, 2],
        [2, 0, 1],
        [3, 0, 1],
        [4, 0, 1],
        [5, 0, 1],
        [6, 0, 1],
        [7, 0, 1],
        [8, 0, 1],
        [renamed.revision, 0, 4],
        [renamed.revision, 1, 4],
        [renamed.revision, 2, 4],
        [renamed.revision, 3, 4],
      ]);
      expect(events.slice(-4).map((e) => e.key?.kind)).toEqual(["group", "user", "user", "user"]);
      const changes = got.messages.filter((m) => m.event?.accountId === a);
      expect(new Set(changes.map((m) => m.type))).toEqual(new Set(["change"]));
      expect(new Set(changes.map((m) => m.partition)).size).toBe(1);
      expect(new Set(changes.map((m) => m.key))).toEqual(new Set([a]));
    } finally {
      await r.stop();
      await got.stop();
    }
  });

  it("a revision larger than the relay's batch arrives whole and correctly counted", async () => {
    const a = (await env.store.createAccount({})).accountId;
    await env.store.createGroup(a, { groupName: "big" });
    const members = Array.from({ length: 12 }, (_, i) => `m${i}`);
    for (const u of members) {
      await env.store.createUser(a, { userName: u });
      await env.store.addUserToGroup(a, "big", u);
    }
    const big = await env.store.updateGroup(a, { groupName: "big", newGroupName: "bigger" });
    const got = await collect(env.topic);
    // Three rows per read, and sends of about two events: the 13-event revision spans reads and sends.
    const r = relayFor(env, { batchSize: 3, maxBatchBytes: 1500 });
    r.relay.start();
    try {
      await expect.poll(() => got.events(a).length, { timeout: 30_000 }).toBe(2 + 1 + 24 + 13);
      const last = got.events(a).filter((e) => e.revision === big.revision);
      expect(last.map((e) => [e.revisionIndex, e.revisionEvents])).toEqual(
        Array.from({ length: 13 }, (_, i) => [i, 13]),
      );
      expect(places(got.events(a)).slice(0, 2)).toEqual([
        [1, 0, 2],
        [1, 1, 2],
      ]);
      const revisions = got.events(a).map((e) => e.revision);
      expect(revisions).toEqual([...revisions].sort((x, y) => x - y));
    } finally {
      await r.stop();
      await got.stop();
    }
  });

  it("a revision re-sent after a crash between its sends keeps its numbering", async () => {
    const a = (await env.store.createAccount({})).accountId;
    const got = await collect(env.topic);
    const r = relayFor(env);
    r.relay.start();
    try {
      await expect.poll(() => got.events(a).length, { timeout: 20_000 }).toBe(2);
      await r.stop();
      // As if the revision's second send had not been marked: its second row alone is unpublished.
      await env.store.pool.query(
        `UPDATE outbox SET published_at = NULL
          WHERE id = (SELECT max(id) FROM outbox WHERE account_id = $1 AND revision = 1)`,
        [a],
      );
      const again = relayFor(env);
      again.relay.start();
      await expect.poll(() => got.messages.filter((m) => m.event?.accountId === a).length, { timeout: 20_000 }).toBe(3);
      await again.stop();
      const resent = got.messages.filter((m) => m.event?.accountId === a).at(-1)?.event;
      expect([resent?.revision, resent?.revisionIndex, resent?.revisionEvents]).toEqual([1, 1, 2]);
    } finally {
      await r.stop();
      await got.stop();
    }
  });
});

describe("relay: heartbeat watermarks (real Postgres + Kafka)", () => {
  let env: TestEnv;
  beforeAll(async () => {
    env = await createTestEnv("relaywm");
  });
  afterAll(async () => {
    await env.close();
  });

  it("the leader sends a watermark to every partition at about the interval; a non-leader sends none", async () => {
    const got = await collect(env.topic);
    const leader = relayFor(env, { watermarkMs: 200 });
    leader.relay.start();
    await expect.poll(() => leader.relay.stats().leading).toBe(true);
    const follower = relayFor(env, { watermarkMs: 200 });
    follower.relay.start();
    try {
      const since = Date.now();
      await expect
        .poll(() => got.watermarks().filter((m) => m.receivedAtMs >= since).length, { timeout: 10_000 })
        .toBeGreaterThanOrEqual(4 * 8);
      const recent = got.watermarks().filter((m) => m.receivedAtMs >= since);
      for (let partition = 0; partition < 4; partition++) {
        const marks = recent.filter((m) => m.partition === partition);
        expect(marks.length).toBeGreaterThanOrEqual(6);
        for (const m of marks) {
          expect(m.type).toBe("watermark");
          expect(m.key).toBeUndefined();
          expect(m.watermark?.partition).toBe(partition);
          expect(m.watermark?.epoch).toMatch(/^\d+:\d+$/);
          expect(m.watermark?.committedBeforeMs).toBeLessThanOrEqual(m.watermark?.sentAtMs ?? 0);
        }
        const sent = marks.map((m) => m.watermark?.sentAtMs ?? 0);
        const gaps = sent.slice(1).map((t, i) => t - (sent[i] as number));
        const median = [...gaps].sort((x, y) => x - y)[Math.floor(gaps.length / 2)] as number;
        expect(median).toBeGreaterThanOrEqual(190);
        expect(median).toBeLessThan(400);
      }
      expect(follower.relay.stats().leading).toBe(false);
      expect(follower.relay.stats().watermarks).toBe(0);
      expect(leader.relay.stats().watermarks).toBeGreaterThanOrEqual(8);
    } finally {
      await follower.stop();
      await leader.stop();
      await got.stop();
    }
  });

  it("a watermark after a write's event vouches for its commit time, and none vouches for it before", async () => {
    const got = await collect(env.topic);
    const r = relayFor(env, { watermarkMs: 100 });
    r.relay.start();
    try {
      const a = (await env.store.createAccount({})).accountId;
      for (let i = 0; i < 20; i++) await env.store.createUser(a, { userName: `w${i}` });
      await expect.poll(() => got.events(a).length, { timeout: 20_000 }).toBe(22);
      const last = got.events(a).at(-1) as ChangeEvent;
      await expect
        .poll(() => got.watermarks().some((m) => (m.watermark?.committedBeforeMs ?? 0) > last.committedAtMs), {
          timeout: 10_000,
        })
        .toBe(true);
      // On the account's partition, every event comes before any watermark that vouches for it.
      const partition = got.messages.find((m) => m.event?.accountId === a)?.partition;
      const stream = got.messages.filter((m) => m.partition === partition);
      for (const [i, m] of stream.entries()) {
        if (m.event?.accountId !== a) continue;
        const early = stream
          .slice(0, i)
          .filter((w) => (w.watermark?.committedBeforeMs ?? Number.NEGATIVE_INFINITY) > (m.event?.committedAtMs ?? 0));
        expect(early).toEqual([]);
      }
    } finally {
      await r.stop();
      await got.stop();
    }
  });

  it("a writer still committing holds the watermark back: no watermark vouches for its row before the row", async () => {
    const got = await collect(env.topic);
    const r = relayFor(env, { watermarkMs: 50 });
    r.relay.start();
    const a = (await env.store.createAccount({})).accountId;
    await expect.poll(() => got.events(a).length, { timeout: 20_000 }).toBe(2);
    const writer = await env.store.pool.connect();
    try {
      // A slow writer: its row is stamped now but becomes visible only when it commits, later.
      await writer.query("BEGIN");
      const stamped = await writer.query<{ at: Date }>(
        `INSERT INTO outbox (account_id, revision, entity_kind, entity_id, payload)
         VALUES ($1, 2, 'user', 'AIDASLOWWRITER', '{}') RETURNING committed_at AS at`,
        [a],
      );
      const committedAtMs = stamped.rows[0]?.at.getTime() ?? 0;
      const marksBefore = got.watermarks().length;
      await new Promise((resolve) => setTimeout(resolve, 600));
      await writer.query("COMMIT");
      expect(got.watermarks().length - marksBefore, "watermarks kept coming meanwhile").toBeGreaterThan(8);
      await expect.poll(() => got.events(a).length, { timeout: 20_000 }).toBe(3);
      await expect
        .poll(() => got.watermarks().some((m) => (m.watermark?.committedBeforeMs ?? 0) > committedAtMs), {
          timeout: 10_000,
        })
        .toBe(true);
      const partition = got.messages.find((m) => m.event?.accountId === a)?.partition;
      const stream = got.messages.filter((m) => m.partition === partition);
      const at = stream.findIndex((m) => m.event?.key?.id === "AIDASLOWWRITER");
      expect(at).toBeGreaterThan(0);
      const early = stream.slice(0, at).filter((m) => (m.watermark?.committedBeforeMs ?? 0) > committedAtMs);
      expect(early, "watermarks that vouched for the row before it was published").toEqual([]);
    } finally {
      await writer.query("ROLLBACK").catch(() => {});
      writer.release();
      await r.stop();
      await got.stop();
    }
  });

  it("while Kafka is down no watermark is sent and the backlog waits as before", async () => {
    const outbox = createOutboxSource(env.store);
    const before = await outbox.backlog();
    const down = relayFor(env, { brokers: ["127.0.0.1:1"], watermarkMs: 50 });
    down.relay.start();
    try {
      await expect.poll(() => down.relay.stats().leading).toBe(true);
      await env.store.createAccount({});
      await expect.poll(() => down.relay.stats().failures, { timeout: 10_000 }).toBeGreaterThan(2);
      expect(down.relay.stats().watermarks).toBe(0);
      expect(await outbox.backlog()).toBe(before + 2);
    } finally {
      await down.stop();
    }
  });
});
