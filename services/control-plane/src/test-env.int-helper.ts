// Test-only helpers until @gatehouse/testkit lands: the local Postgres and Kafka, a random schema
// and topic per suite, and a collector of the change stream.
import { randomBytes } from "node:crypto";
import { createChangeConsumer, deleteTopic, ensureTopic } from "@gatehouse/bus-kafka";
import type { ChangeEvent } from "@gatehouse/proto";
import { createPostgresStore, type IamStore } from "@gatehouse/store-postgres";
import pg from "pg";
import { pino } from "pino";

export const TEST_PG_URL = process.env.GATEHOUSE_PG_TEST_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
export const TEST_KAFKA_BROKERS = (process.env.GATEHOUSE_KAFKA_BROKERS ?? "127.0.0.1:9092").split(",");
export const silentLogger = pino({ level: "silent" });

export function randomName(prefix: string): string {
  return `${prefix}_${randomBytes(6).toString("hex")}`;
}

export interface TestEnv {
  readonly schema: string;
  readonly topic: string;
  readonly secretKey: Buffer;
  readonly store: IamStore;
  close(): Promise<void>;
}

export async function createTestEnv(
  prefix: string,
  quotas?: Parameters<typeof createPostgresStore>[0]["quotas"],
): Promise<TestEnv> {
  const schema = randomName(prefix);
  const topic = `${prefix}.changes.${randomBytes(6).toString("hex")}`;
  const secretKey = randomBytes(32);
  const store = createPostgresStore({ connectionString: TEST_PG_URL, schema, secretKey, poolSize: 20, quotas });
  await store.migrate();
  await ensureTopic({ brokers: TEST_KAFKA_BROKERS, topic, partitions: 4 });
  return {
    schema,
    topic,
    secretKey,
    store,
    async close() {
      await store.close();
      const c = new pg.Client({ connectionString: TEST_PG_URL });
      await c.connect();
      await c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await c.end();
      await deleteTopic({ brokers: TEST_KAFKA_BROKERS, topic }).catch(() => {});
    },
  };
}

/** Collects every event on a topic, per account, in delivery order. */
export async function collectEvents(topic: string) {
  const byAccount = new Map<string, ChangeEvent[]>();
  let total = 0;
  const consumer = await createChangeConsumer({
    brokers: TEST_KAFKA_BROKERS,
    topic,
    groupId: randomName("collector"),
    onEvent: (e) => {
      const list = byAccount.get(e.accountId) ?? [];
      list.push(e);
      byAccount.set(e.accountId, list);
      total++;
    },
  });
  return {
    byAccount,
    total: () => total,
    /** Revisions per account after dropping re-deliveries (a revision not above the last seen). */
    deduped(accountId: string): ChangeEvent[] {
      const out: ChangeEvent[] = [];
      const seen = new Set<string>();
      for (const e of byAccount.get(accountId) ?? []) {
        if (seen.has(e.eventId)) continue;
        seen.add(e.eventId);
        out.push(e);
      }
      return out;
    },
    stop: () => consumer.stop(),
  };
}
