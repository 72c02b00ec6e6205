import { type Kafka, Partitioners, type Producer } from "kafkajs";

/** One idempotent producer, connected on first use and replaced after a failure. */
export interface ProducerSession {
  /** The connected producer (connecting it once, however many callers wait). */
  connected(): Promise<Producer>;
  /** Drops the producer after a failed send: it may hold a broken connection or sequence state. */
  reset(): Promise<void>;
  disconnect(): Promise<void>;
}

/**
 * The idempotent kafkajs producer every Gatehouse publisher sends with (one request in flight,
 * no topic auto-creation), which keeps the per-partition order of what it is given even across
 * its own retries. Shared by the change publisher and the audit publisher.
 */
export function createProducerSession(kafka: Kafka): ProducerSession {
  let producer: Producer | undefined;
  let connecting: Promise<Producer> | undefined;
  return {
    connected() {
      if (producer !== undefined) return Promise.resolve(producer);
      connecting ??= (async () => {
        const p = kafka.producer({
          idempotent: true,
          maxInFlightRequests: 1,
          allowAutoTopicCreation: false,
          createPartitioner: Partitioners.DefaultPartitioner,
        });
        try {
          await p.connect();
        } catch (e) {
          await p.disconnect().catch(() => {});
          throw e;
        }
        producer = p;
        return p;
      })().finally(() => {
        connecting = undefined;
      });
      return connecting;
    },
    async reset() {
      const broken = producer;
      producer = undefined;
      await broken?.disconnect().catch(() => {});
    },
    async disconnect() {
      const p = producer ?? (await connecting?.catch(() => undefined));
      producer = undefined;
      await p?.disconnect().catch(() => {});
    },
  };
}
