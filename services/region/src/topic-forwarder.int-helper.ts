// A test relay between two topics: reads what the control plane published and re-publishes it
// to the topic a region reads, to the same partition with the same key and headers, except what
// the test drops (a gap the region must heal) or holds back until released. Kafka cannot delete a
// range from the middle of a partition, so a gap in a real stream is made by leaving it out here.

import { decodeChangeEvent, MESSAGE_TYPE_HEADER } from "@gatehouse/events";
import { testKafka } from "@gatehouse/testkit";
import type { KafkaMessage } from "kafkajs";

/** What the test decides per change event (watermarks are always forwarded). */
export type ForwardDecision = "forward" | "drop" | "hold";

/** A running forwarder. */
export interface TopicForwarder {
  /** Change events left out so far, as `account@revision`. */
  readonly dropped: string[];
  /** Sends what was held (in the order read) whose account matches, and stops holding them. */
  release(accountId: string): Promise<void>;
  stop(): Promise<void>;
}

/** Starts forwarding `from` → `to` (same partition count) from the start of `from`. */
export async function startTopicForwarder(options: {
  from: string;
  to: string;
  decide: (event: { accountId: string; revision: number }) => ForwardDecision;
}): Promise<TopicForwarder> {
  const kafka = testKafka();
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  const consumer = kafka.consumer({ groupId: `${options.to}.forwarder`, maxWaitTimeInMs: 20 });
  await consumer.connect();
  await consumer.subscribe({ topic: options.from, fromBeginning: true });
  const dropped: string[] = [];
  const held: { accountId: string; partition: number; message: KafkaMessage }[] = [];
  const send = (partition: number, m: KafkaMessage) =>
    producer.send({
      topic: options.to,
      messages: [{ partition, key: m.key, value: m.value, headers: m.headers ?? {} }],
    });
  await consumer.run({
    eachMessage: async ({ partition, message }) => {
      const type = message.headers?.[MESSAGE_TYPE_HEADER]?.toString();
      if (type === "watermark" || message.value === null) {
        await send(partition, message);
        return;
      }
      const event = decodeChangeEvent(message.value);
      const accountId = event.accountId;
      const revision = Number(event.revision);
      // Once an account is held, everything after it is held too (its order is kept).
      const decision = held.some((h) => h.accountId === accountId) ? "hold" : options.decide({ accountId, revision });
      if (decision === "drop") dropped.push(`${accountId}@${revision}`);
      else if (decision === "hold") held.push({ accountId, partition, message });
      else await send(partition, message);
    },
  });
  return {
    dropped,
    async release(accountId) {
      const mine = held.filter((h) => h.accountId === accountId);
      for (const h of mine) held.splice(held.indexOf(h), 1);
      for (const h of mine) await send(h.partition, h.message);
    },
    async stop() {
      await consumer.disconnect();
      await producer.disconnect();
    },
  };
}
