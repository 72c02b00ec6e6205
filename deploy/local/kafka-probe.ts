import { randomUUID } from "node:crypto";
import { Kafka, logLevel, Partitioners } from "kafkajs";

/** The topic readiness probes share; created on first use, never deleted. */
export const PROBE_TOPIC = "gatehouse.infra.ready";

async function roundTrip(brokers: readonly string[], deadline: number): Promise<void> {
  const kafka = new Kafka({
    clientId: "gatehouse-kafka-probe",
    brokers: [...brokers],
    logLevel: logLevel.NOTHING,
    connectionTimeout: 3_000,
    retry: { retries: 2 },
  });
  const admin = kafka.admin();
  const producer = kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    createPartitioner: Partitioners.DefaultPartitioner,
  });
  const groupId = `gatehouse-probe-${randomUUID()}`;
  const consumer = kafka.consumer({ groupId, sessionTimeout: 10_000, heartbeatInterval: 1_000 });
  try {
    await admin.connect();
    // Resolves false when an earlier probe created it already, which is fine.
    await admin.createTopics({ topics: [{ topic: PROBE_TOPIC, numPartitions: 1 }], waitForLeaders: true });
    const nonce = randomUUID();
    await producer.connect();
    await producer.send({ topic: PROBE_TOPIC, acks: -1, messages: [{ key: "probe", value: nonce }] });
    await consumer.connect();
    await consumer.subscribe({ topics: [PROBE_TOPIC], fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error("the consumer group did not receive the probe message")),
        Math.max(1_000, deadline - Date.now()),
      );
      consumer
        .run({
          eachMessage: async ({ message }) => {
            if (message.value?.toString() === nonce) {
              clearTimeout(timer);
              resolve();
            }
          },
        })
        .catch((error: unknown) => {
          clearTimeout(timer);
          reject(error);
        });
    });
  } finally {
    await consumer.disconnect().catch(() => {});
    await producer.disconnect().catch(() => {});
    // One group per probe would otherwise pile up on a long-lived broker.
    await admin.deleteGroups([groupId]).catch(() => {});
    await admin.disconnect().catch(() => {});
  }
}

/**
 * Resolves once Kafka does what Gatehouse needs from it: a topic can be created, an idempotent
 * producer's message is acknowledged by all in-sync replicas, and a consumer group receives it.
 * A listening port is not enough: a fresh KRaft node still has to elect itself and create
 * `__consumer_offsets`. Retries until `timeoutMs` has passed.
 *
 * @example
 * await waitForKafka(["127.0.0.1:9092"], 60_000);
 * @throws Error with the last failure when no round trip succeeded in time.
 */
export async function waitForKafka(brokers: readonly string[], timeoutMs: number): Promise<void> {
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) {
    throw new Error(`waitForKafka: timeoutMs must be a positive number, got ${timeoutMs}`);
  }
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      await roundTrip(brokers, deadline);
      return;
    } catch (error) {
      lastError = error;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }
  const reason = lastError instanceof Error ? lastError.message : String(lastError);
  throw new Error(`Kafka at ${brokers.join(",")}: no message round trip within ${timeoutMs} ms: ${reason}`, {
    cause: lastError,
  });
}
