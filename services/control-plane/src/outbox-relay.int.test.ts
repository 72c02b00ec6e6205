import { createChangePublisher } from "@gatehouse/bus-kafka";
import { createOutboxSource } from "@gatehouse/store-postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createOutboxRelay } from "./outbox-relay.ts";
import { collectEvents, createTestEnv, kafkaBrokers, silentLogger, type TestEnv } from "./test-env.int-helper.ts";

const DOC = JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "s3:*", Resource: "*" }] });

function relayFor(env: TestEnv, brokers = kafkaBrokers()) {
  const publisher = createChangePublisher({ brokers, topic: env.topic, retries: 1, connectionTimeoutMs: 300 });
  const relay = createOutboxRelay({
    outbox: createOutboxSource(env.store),
    publisher,
    logger: silentLogger,
    fallbackPollMs: 60_000, // long, so a prompt delivery proves the NOTIFY wake-up
    maxBackoffMs: 300,
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
    const a = (await env.store.createAccount({})).accountId;
    for (let i = 0; i < 10; i++) await env.store.createUser(a, { userName: `crash-${i}` });
    const outbox = createOutboxSource(env.store);
    expect(await outbox.backlog()).toBe(12); // account + root key at revision 1, then 10 users
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
