// Issue #4: Kafka stopped for 10 s during writes; nothing is lost and order is kept per account.
// The broker is one of this test's own (startDedicatedKafka): the shared one serves other suites.
import { readdirSync, readFileSync } from "node:fs";
import { createChangeConsumer, createChangePublisher } from "@gatehouse/bus-kafka";
import type { ChangeEvent } from "@gatehouse/proto";
import { createOutboxSource, createPostgresStore, type IamStore } from "@gatehouse/store-postgres";
import {
  canStartDedicatedKafka,
  createTestSchema,
  createTestTopic,
  type DedicatedKafka,
  startDedicatedKafka,
  type TestSchema,
  testInfra,
  testKafka,
  uniqueName,
} from "@gatehouse/testkit";
import { describe, expect, it } from "vitest";
import { createOutboxRelay, type OutboxRelayStats } from "./outbox-relay.ts";
import { silentLogger } from "./test-env.int-helper.ts";

const ACCOUNTS = 4;
const WRITERS_PER_ACCOUNT = 2;
const OUTAGE_MS = 10_000;

const capability = await canStartDedicatedKafka();
if (!capability.ok) console.warn(`kafka-outage.int.test.ts skipped: ${capability.reason}`);

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Live processes whose command line names `marker` (the dedicated broker's state dir). */
function processesWith(marker: string): number[] {
  return readdirSync("/proc")
    .filter((entry) => /^\d+$/.test(entry) && Number(entry) !== process.pid)
    .filter((entry) => {
      try {
        return readFileSync(`/proc/${entry}/cmdline`, "utf8").includes(marker);
      } catch {
        return false;
      }
    })
    .map(Number);
}

/** Every message on `topic`, from offset 0 to the high watermark each partition has now. */
async function consumeAll(brokers: readonly string[], topic: string): Promise<ChangeEvent[]> {
  const admin = testKafka({ infra: { ...testInfra(), kafkaBrokers: brokers } }).admin();
  await admin.connect();
  const offsets = await admin.fetchTopicOffsets(topic).finally(() => admin.disconnect());
  const expected = offsets.reduce((n, p) => n + Number(p.high) - Number(p.low), 0);
  const byPartition = new Map<number, ChangeEvent[]>();
  let received = 0;
  const consumer = await createChangeConsumer({
    brokers,
    topic,
    groupId: uniqueName("outage_check"),
    onEvent: (event, { partition }) => {
      byPartition.set(partition, [...(byPartition.get(partition) ?? []), event]);
      received++;
    },
    // The relay's heartbeats share the topic (and the offsets counted above).
    onWatermark: () => {
      received++;
    },
  });
  try {
    await expect.poll(() => received, { timeout: 20_000, interval: 50 }).toBeGreaterThanOrEqual(expected);
  } finally {
    await consumer.stop();
  }
  return [...byPartition.values()].flat();
}

describe("outbox relay through a Kafka outage (a broker of the test's own)", () => {
  it.skipIf(!capability.ok)(
    "Kafka stopped for 10 s during writes: nothing lost, order kept per account",
    { timeout: 120_000 },
    async () => {
      let kafka: DedicatedKafka | undefined;
      let schema: TestSchema | undefined;
      let store: IamStore | undefined;
      const stopRelay: (() => Promise<void>)[] = [];
      try {
        kafka = await startDedicatedKafka();
        const brokers = kafka.brokers;
        schema = await createTestSchema({ prefix: "outage", migrated: true });
        store = createPostgresStore({
          connectionString: schema.databaseUrl,
          schema: schema.name,
          secretKey: Buffer.alloc(32, 7),
          poolSize: 20,
        });
        await store.migrate();
        const topic = await createTestTopic({
          prefix: "outage",
          partitions: 4,
          infra: { ...testInfra(), kafkaBrokers: brokers },
        });
        const outbox = createOutboxSource(store);
        const publisher = createChangePublisher({
          brokers,
          topic: topic.name,
          retries: 1,
          connectionTimeoutMs: 300,
          requestTimeoutMs: 2_000,
        });
        const relay = createOutboxRelay({
          outbox,
          publisher,
          logger: silentLogger,
          batchSize: 50, // small batches: more sends cut short by the outage
          fallbackPollMs: 1_000,
          maxBackoffMs: 300,
        });
        stopRelay.push(async () => {
          await relay.stop();
          await publisher.disconnect();
        });
        relay.start();

        // Writers: several per account, concurrently, each remembering the revisions it committed.
        const s = store;
        const accounts: string[] = [];
        for (let i = 0; i < ACCOUNTS; i++) accounts.push((await s.createAccount({})).accountId);
        const committed = new Map<string, number[]>(accounts.map((a) => [a, []]));
        const writeErrors: unknown[] = [];
        let writing = true;
        let writes = 0;
        const writers = accounts.flatMap((account) =>
          Array.from({ length: WRITERS_PER_ACCOUNT }, async (_, w) => {
            for (let i = 0; writing; i++) {
              try {
                const { revision } = await s.createUser(account, { userName: `w${w}-${i}` });
                committed.get(account)?.push(revision);
                writes++;
              } catch (error) {
                writeErrors.push(error);
              }
              await sleep(20);
            }
          }),
        );

        // Healthy: the relay publishes as writes commit.
        await expect.poll(() => relay.stats().published, { timeout: 10_000 }).toBeGreaterThan(ACCOUNTS * 2);
        const beforeOutage: OutboxRelayStats = relay.stats();

        // Outage: the broker is down for 10 s; writes only need Postgres and go on.
        await kafka.stop();
        const atStop: OutboxRelayStats = relay.stats();
        const writesAtStop = writes;
        await sleep(OUTAGE_MS);
        const duringOutage: OutboxRelayStats = relay.stats();
        const writesDuringOutage = writes - writesAtStop;
        const backlogDuringOutage = await outbox.backlog();

        // Recovery: same broker, same data; writes keep coming for a little longer.
        await kafka.start();
        await sleep(1_500);
        writing = false;
        await Promise.all(writers);

        const { rows } = await s.pool.query<{ event_id: string; account_id: string; revision: number }>(
          "SELECT event_id, account_id, revision::int AS revision FROM outbox ORDER BY id",
        );
        await expect.poll(() => outbox.backlog(), { timeout: 30_000, interval: 100 }).toBe(0);
        await expect.poll(() => relay.stats().published, { timeout: 5_000 }).toBe(rows.length);
        const recovered: OutboxRelayStats = relay.stats();
        await sleep(500);
        expect(relay.stats().failures, "no failures once Kafka is back and the backlog drained").toBe(
          recovered.failures,
        );

        expect(writeErrors).toEqual([]);
        expect(writesDuringOutage, "writes committed while Kafka was down").toBeGreaterThan(ACCOUNTS * 10);
        expect(backlogDuringOutage).toBeGreaterThan(0);
        expect(duringOutage.published, "nothing can be published while Kafka is down").toBeLessThanOrEqual(
          atStop.published + 50, // at most the one batch acknowledged just before the broker went
        );
        expect(duringOutage.failures, "the relay fails while Kafka is down").toBeGreaterThan(beforeOutage.failures);
        expect(duringOutage.lastError).toBeDefined();
        expect(recovered.leading).toBe(true);

        const events = await consumeAll(brokers, topic.name);
        const byAccount = new Map<string, ChangeEvent[]>();
        for (const e of events) byAccount.set(e.accountId, [...(byAccount.get(e.accountId) ?? []), e]);

        // Nothing lost: every outbox row is on the topic with its account and revision, and every
        // revision a writer saw committed is there.
        const onTopic = new Map(events.map((e) => [e.eventId, e]));
        const missing = rows.filter((r) => onTopic.get(r.event_id) === undefined);
        expect(missing, "outbox rows missing from Kafka").toEqual([]);
        for (const r of rows) {
          expect({ account: onTopic.get(r.event_id)?.accountId, revision: onTopic.get(r.event_id)?.revision }).toEqual({
            account: r.account_id,
            revision: r.revision,
          });
        }
        for (const account of accounts) {
          const seen = new Set((byAccount.get(account) ?? []).map((e) => e.revision));
          const lost = (committed.get(account) ?? []).filter((rev) => !seen.has(rev));
          expect(lost, `committed revisions of ${account} missing from Kafka`).toEqual([]);
          expect(seen.size, `revisions 1..current of ${account}, no gap`).toBe((await s.getAccount(account)).revision);
        }

        // Order kept: per account, first occurrences of events never go back in revision (so
        // first occurrences of revisions strictly increase); a re-delivery repeats an earlier
        // event exactly (same event id, same revision, same content).
        let duplicates = 0;
        for (const account of accounts) {
          const first = new Map<string, ChangeEvent>();
          const revisionOrder: number[] = [];
          let last = 0;
          for (const e of byAccount.get(account) ?? []) {
            const earlier = first.get(e.eventId);
            if (earlier !== undefined) {
              expect(e, "a duplicate carries the same event id, revision and content").toEqual(earlier);
              duplicates++;
              continue;
            }
            first.set(e.eventId, e);
            expect(e.revision, `${account}: event ${e.eventId} after revision ${last}`).toBeGreaterThanOrEqual(last);
            if (e.revision !== last) revisionOrder.push(e.revision);
            last = e.revision;
          }
          expect(revisionOrder).toEqual([...revisionOrder].sort((a, b) => a - b));
          expect(new Set(revisionOrder).size).toBe(revisionOrder.length);
        }
        console.info(
          `kafka outage: ${writes} writes (${writesDuringOutage} during the ${OUTAGE_MS} ms outage), ` +
            `${rows.length} outbox rows, ${events.length} messages (${duplicates} re-deliveries), ` +
            `${duringOutage.failures - beforeOutage.failures} relay failures during the outage`,
        );
      } finally {
        for (const stop of stopRelay) await stop().catch(() => {});
        await store?.close().catch(() => {});
        await schema?.drop().catch(() => {});
        const stateDir = kafka?.stateDir;
        await kafka?.dispose();
        // No orphan JVM: nothing may still run from the broker's state dir.
        if (stateDir !== undefined) expect(processesWith(stateDir)).toEqual([]);
      }
    },
  );
});
