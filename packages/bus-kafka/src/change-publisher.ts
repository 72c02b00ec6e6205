import { ChangeHeaders, encodeChangeEvent, encodeWatermark, MESSAGE_TYPE_HEADER } from "@gatehouse/events";
import type { ChangeEvent, Watermark } from "@gatehouse/proto";
import { type Admin, CompressionTypes } from "kafkajs";
import { kafkaClient } from "./kafka-client.ts";
import { translateKafkaError } from "./kafka-error.ts";
import { assertTopicName, type KafkaConnectionOptions } from "./kafka-options.ts";
import { createProducerSession } from "./producer-session.ts";

function headersOf(e: ChangeEvent): Record<string, string> {
  return {
    [ChangeHeaders.entityKind]: e.key?.kind ?? "",
    [ChangeHeaders.entityId]: e.key?.id ?? "",
    [ChangeHeaders.revision]: String(e.revision),
    [ChangeHeaders.schemaVersion]: String(e.schemaVersion),
    [ChangeHeaders.eventId]: e.eventId,
    [MESSAGE_TYPE_HEADER]: "change",
  };
}

// A record's framing in a v2 record batch: length, attributes, timestamp and offset deltas and
// the varint lengths of key, value and each header take at most this many bytes.
const RECORD_FRAMING_BYTES = 32;
const HEADER_FRAMING_BYTES = 10;

/**
 * An upper bound of the bytes `event` takes in a Kafka record batch as {@link ChangePublisher}
 * sends it (uncompressed): what the relay compares with the topic's `max.message.bytes` and its
 * batch budget. A record batch adds 61 bytes of its own per partition.
 */
export function changeMessageBytes(event: ChangeEvent, extraHeaders?: Readonly<Record<string, string>>): number {
  let bytes = RECORD_FRAMING_BYTES + Buffer.byteLength(event.accountId) + encodeChangeEvent(event).length;
  for (const [k, v] of Object.entries({ ...headersOf(event), ...extraHeaders })) {
    bytes += HEADER_FRAMING_BYTES + Buffer.byteLength(k) + Buffer.byteLength(v);
  }
  return bytes;
}

/** Options of {@link createChangePublisher}. */
export interface ChangePublisherOptions extends KafkaConnectionOptions {
  topic: string;
}

/** Publishes change events to the change topic, keyed by account so an account stays on one partition. */
export interface ChangePublisher {
  /**
   * Sends events in the given order and resolves once all are acknowledged by all in-sync
   * replicas. Throws a retriable IamError when Kafka is unreachable; nothing is partially hidden:
   * the caller re-sends the whole batch (duplicates keep their revision). `extraHeaders[i]`, when
   * given, is added to event i's headers (the relay's W3C `traceparent`).
   */
  publish(
    events: readonly ChangeEvent[],
    extraHeaders?: readonly (Readonly<Record<string, string>> | undefined)[],
  ): Promise<void>;
  /**
   * Sends one watermark, without a key and with the header `gatehouse-message: watermark`, to
   * every partition of the topic (`partition` filled in per copy), in one request; resolves once
   * all are acknowledged. Errors as {@link ChangePublisher.publish}. Resolves to the partition count.
   */
  publishWatermark(mark: Omit<Watermark, "partition" | "schemaVersion">): Promise<number>;
  disconnect(): Promise<void>;
}

/**
 * An idempotent kafkajs producer (one request in flight, acks from all replicas), which keeps the
 * per-partition order of what it is given even across its own retries.
 *
 * @example
 * const publisher = createChangePublisher({ brokers: ["127.0.0.1:9092"], topic: "gatehouse.changes.v1" });
 * await publisher.publish([event]);
 */
export function createChangePublisher(options: ChangePublisherOptions): ChangePublisher {
  assertTopicName(options.topic);
  const { topic, ...connection } = options;
  const kafka = kafkaClient(connection);
  const session = createProducerSession(kafka);
  let admin: Admin | undefined;
  let partitions: { count: number; atMs: number } | undefined;

  /** The topic's partition count, read again every 30 s (partitions may be added, never removed). */
  const partitionCount = async (): Promise<number> => {
    if (partitions !== undefined && Date.now() - partitions.atMs < 30_000) return partitions.count;
    if (admin === undefined) {
      const a = kafka.admin();
      await a.connect();
      admin = a;
    }
    const [meta] = (await admin.fetchTopicMetadata({ topics: [topic] })).topics;
    const count = meta?.partitions.length ?? 0;
    if (count === 0) throw new Error(`topic ${topic} has no partitions`);
    partitions = { count, atMs: Date.now() };
    return count;
  };

  const connected = session.connected;

  return {
    async publish(events, extraHeaders) {
      if (events.length === 0) return;
      try {
        const p = await connected();
        await p.send({
          topic,
          acks: -1,
          compression: CompressionTypes.None,
          messages: events.map((e, i) => {
            const extra = extraHeaders?.[i];
            return {
              key: e.accountId,
              value: encodeChangeEvent(e),
              timestamp: String(e.committedAtMs),
              headers: extra === undefined ? headersOf(e) : { ...headersOf(e), ...extra },
            };
          }),
        });
      } catch (e) {
        // A failed producer may hold a broken connection or sequence state: start afresh next time.
        await session.reset();
        throw translateKafkaError(e, `publish to ${topic}`);
      }
    },
    async publishWatermark(mark) {
      try {
        const count = await partitionCount();
        const p = await connected();
        await p.send({
          topic,
          acks: -1,
          compression: CompressionTypes.None,
          messages: Array.from({ length: count }, (_, partition) => ({
            partition,
            key: null,
            value: encodeWatermark({ ...mark, partition, schemaVersion: 0 }),
            timestamp: String(mark.sentAtMs),
            headers: { [MESSAGE_TYPE_HEADER]: "watermark" },
          })),
        });
        return count;
      } catch (e) {
        const brokenAdmin = admin;
        admin = undefined;
        partitions = undefined;
        await session.reset();
        await brokenAdmin?.disconnect().catch(() => {});
        throw translateKafkaError(e, `publish watermarks to ${topic}`);
      }
    },
    async disconnect() {
      await session.disconnect();
      const a = admin;
      admin = undefined;
      await a?.disconnect().catch(() => {});
    },
  };
}
