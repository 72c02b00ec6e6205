import { Kafka, logLevel } from "kafkajs";
import { type KafkaConnectionOptions, validateKafkaConnectionOptions } from "./kafka-options.ts";

/** A kafkajs client with Gatehouse's timeouts and its logging silenced (errors surface as IamErrors). */
export function kafkaClient(options: KafkaConnectionOptions): Kafka {
  const o = validateKafkaConnectionOptions(options);
  return new Kafka({
    clientId: o.clientId,
    brokers: [...o.brokers],
    connectionTimeout: o.connectionTimeoutMs,
    requestTimeout: o.requestTimeoutMs,
    retry: { retries: o.retries, initialRetryTime: 100, maxRetryTime: 1000 },
    logLevel: logLevel.NOTHING,
  });
}
