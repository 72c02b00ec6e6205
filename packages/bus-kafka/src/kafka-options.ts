/** Connection settings shared by producers, consumers and the admin helper. */
export interface KafkaConnectionOptions {
  /** `host:port` bootstrap brokers. */
  brokers: readonly string[];
  clientId?: string;
  /** TCP connect timeout. Default 1000 ms. */
  connectionTimeoutMs?: number;
  /** Per-request timeout. Default 5000 ms. */
  requestTimeoutMs?: number;
  /** kafkajs retries per operation before the error surfaces. Default 2. */
  retries?: number;
}

/** Checks connection options; messages carry the bad value. */
export function validateKafkaConnectionOptions(o: KafkaConnectionOptions): Required<KafkaConnectionOptions> {
  if (o.brokers.length === 0) throw new Error("brokers must list at least one host:port");
  for (const b of o.brokers) {
    if (!/^[^\s:]+:\d{1,5}$/.test(b)) throw new Error(`broker ${JSON.stringify(b)} is not host:port`);
  }
  const out = {
    brokers: [...o.brokers],
    clientId: o.clientId ?? "gatehouse",
    connectionTimeoutMs: o.connectionTimeoutMs ?? 1000,
    requestTimeoutMs: o.requestTimeoutMs ?? 5000,
    retries: o.retries ?? 2,
  };
  // kafkajs refuses an idempotent producer without retries.
  if (!Number.isInteger(out.retries) || out.retries < 1 || out.retries > 20) {
    throw new Error(`retries must be 1..20, got ${out.retries}`);
  }
  return Object.freeze(out);
}

const TOPIC = /^[A-Za-z0-9._-]{1,249}$/;

/** Throws unless `topic` is a legal Kafka topic name. */
export function assertTopicName(topic: string): void {
  if (!TOPIC.test(topic)) throw new Error(`topic ${JSON.stringify(topic)} is not a legal Kafka topic name`);
}
