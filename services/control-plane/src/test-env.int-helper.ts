// Test-only helpers on top of @gatehouse/testkit: a store on its own schema, a change topic of its
// own, and a collector of the change stream.
import { randomBytes } from "node:crypto";
import { createChangeConsumer } from "@gatehouse/bus-kafka";
import type { ChangeEvent } from "@gatehouse/proto";
import { createPostgresStore, type IamStore, type StoreQuotas } from "@gatehouse/store-postgres";
import { createTestSchema, createTestTopic, testInfra, uniqueName } from "@gatehouse/testkit";
import { pino } from "pino";

export const silentLogger = pino({ level: "silent" });

/** The run's Kafka brokers (only inside an integration test or hook). */
export function kafkaBrokers(): string[] {
  return [...testInfra().kafkaBrokers];
}

export interface TestEnv {
  readonly schema: string;
  readonly databaseUrl: string;
  readonly topic: string;
  readonly secretKey: Buffer;
  readonly store: IamStore;
  close(): Promise<void>;
}

/** A migrated store on a fresh schema and a fresh 4-partition topic; `close` removes both. */
export async function createTestEnv(prefix: string, quotas?: Partial<StoreQuotas>): Promise<TestEnv> {
  const schema = await createTestSchema({ prefix, migrated: true });
  const topic = await createTestTopic({ prefix, partitions: 4 });
  const secretKey = randomBytes(32);
  const store = createPostgresStore({
    connectionString: schema.databaseUrl,
    schema: schema.name,
    secretKey,
    poolSize: 20,
    ...(quotas === undefined ? {} : { quotas }),
  });
  await store.migrate();
  return {
    schema: schema.name,
    databaseUrl: schema.databaseUrl,
    topic: topic.name,
    secretKey,
    store,
    async close() {
      await store.close();
      await schema.drop();
      await topic.delete();
    },
  };
}

/** Collects every event on a topic, per account, in delivery order. */
export async function collectEvents(topic: string) {
  const byAccount = new Map<string, ChangeEvent[]>();
  let total = 0;
  const consumer = await createChangeConsumer({
    brokers: kafkaBrokers(),
    topic,
    groupId: uniqueName("collector"),
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
    /** The account's events with re-deliveries (same event id) dropped. */
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
