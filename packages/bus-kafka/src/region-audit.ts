import { type RegionAuditRecord, RegionAuditRecord as RegionAuditRecordCodec } from "@gatehouse/proto";
import type { Consumer } from "kafkajs";
import { kafkaClient } from "./kafka-client.ts";
import { translateKafkaError } from "./kafka-error.ts";
import { assertTopicName, type KafkaConnectionOptions } from "./kafka-options.ts";
import { createProtoTopicPublisher } from "./proto-topic-publisher.ts";

/** The regional audit topic's default name. */
export const REGION_AUDIT_TOPIC = "gatehouse.region-audit.v1";

/** Options of {@link createRegionAuditPublisher}. */
export interface RegionAuditPublisherOptions extends KafkaConnectionOptions {
  /** The regional audit topic (`gatehouse.region-audit.v1`). */
  topic: string;
}

/** Sends a region's audit records (STS issuance, access keys' last use, sampled decisions). */
export interface RegionAuditPublisher {
  /**
   * Sends the records (protobuf `gatehouse.v1.RegionAuditRecord`, keyed by account, a key use by
   * its access key id) and resolves once the partition leaders acknowledged them. Errors are
   * IamErrors (retriable when Kafka is unreachable); a re-send after a failure may duplicate a
   * record, which the control plane drops by event id (a key use is idempotent).
   */
  publish(records: readonly RegionAuditRecord[]): Promise<void>;
  disconnect(): Promise<void>;
}

function keyOf(r: RegionAuditRecord): string {
  switch (r.record?.$case) {
    case "event":
      return r.record.value.accountId;
    case "accessKeyUse":
      return r.record.value.accessKeyId;
    default:
      return "";
  }
}

/**
 * The regions' audit publisher, on the shared idempotent producer (see `producer-session.ts`).
 * The region calls it from its audit buffer's flush loop, never on a call's path.
 */
export function createRegionAuditPublisher(options: RegionAuditPublisherOptions): RegionAuditPublisher {
  return createProtoTopicPublisher<RegionAuditRecord>(options, (r) => ({
    key: keyOf(r),
    value: RegionAuditRecordCodec.encode(r).finish(),
  }));
}

/** Options of {@link createRegionAuditConsumer}. */
export interface RegionAuditConsumerOptions extends KafkaConnectionOptions {
  topic: string;
  groupId: string;
  /**
   * Called with each fetched batch of one partition, in offset order; the batch's offsets are
   * committed once it resolves. A throw redelivers the batch (after kafkajs's retry back-off).
   * Records that do not decode are passed as `undefined` (counted, never retried).
   */
  onRecords(records: readonly (RegionAuditRecord | undefined)[]): Promise<void>;
}

/** A running consumer of the regional audit topic. */
export interface RegionAuditConsumer {
  stop(): Promise<void>;
}

/**
 * Consumes the regional audit topic in batches (the control plane writes each batch to Postgres in
 * one statement per kind). Resolves once the consumer has joined its group.
 */
export async function createRegionAuditConsumer(options: RegionAuditConsumerOptions): Promise<RegionAuditConsumer> {
  assertTopicName(options.topic);
  const { topic, groupId, onRecords, ...connection } = options;
  const consumer: Consumer = kafkaClient(connection).consumer({
    groupId,
    sessionTimeout: 10_000,
    heartbeatInterval: 1000,
    maxWaitTimeInMs: 200,
    allowAutoTopicCreation: false,
  });
  try {
    await consumer.connect();
    // A group's first join starts at the oldest retained record (the control plane dedupes
    // events by id, and an older key use never overwrites a newer one); from then on it resumes
    // at its committed offsets, so a control plane that was down takes in what was published
    // meanwhile (within the topic's retention).
    await consumer.subscribe({ topic, fromBeginning: true });
    const joined = new Promise<void>((resolve) => {
      const off = consumer.on(consumer.events.GROUP_JOIN, () => {
        off();
        resolve();
      });
    });
    await consumer.run({
      eachBatchAutoResolve: true,
      eachBatch: async ({ batch }) => {
        const records = batch.messages.map((m) => {
          if (m.value === null) return undefined;
          try {
            return RegionAuditRecordCodec.decode(m.value);
          } catch {
            return undefined;
          }
        });
        await onRecords(records);
      },
    });
    await joined;
  } catch (e) {
    await consumer.disconnect().catch(() => {});
    throw translateKafkaError(e, `consume ${topic}`);
  }
  return {
    async stop() {
      await consumer.disconnect().catch(() => {});
    },
  };
}
