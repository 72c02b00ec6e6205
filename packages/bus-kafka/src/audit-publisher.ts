import { MESSAGE_TYPE_HEADER } from "@gatehouse/events";
import { type AuditEvent, AuditEvent as AuditEventCodec } from "@gatehouse/proto";
import type { KafkaConnectionOptions } from "./kafka-options.ts";
import { createProtoTopicPublisher } from "./proto-topic-publisher.ts";

/** The `gatehouse-message` header of an audit topic record. */
export const AUDIT_MESSAGE_TYPE = "audit";

/** Options of {@link createAuditPublisher}. */
export interface AuditPublisherOptions extends KafkaConnectionOptions {
  /** The audit topic (`gatehouse.audit.v1`). */
  topic: string;
}

/** Publishes recorded control-plane calls to the audit topic. */
export interface AuditPublisher {
  /**
   * Sends the events (protobuf `gatehouse.v1.AuditEvent`, keyed by account, the operator's under
   * the empty key) and resolves once all replicas acknowledged them. Errors are IamErrors
   * (retriable when Kafka is unreachable); a re-send after a failure may duplicate an event,
   * which its `eventId` identifies.
   */
  publish(events: readonly AuditEvent[]): Promise<void>;
  disconnect(): Promise<void>;
}

/**
 * The audit topic's publisher, on the same idempotent producer as the change publisher.
 *
 * @example
 * const audit = createAuditPublisher({ brokers: ["127.0.0.1:9092"], topic: "gatehouse.audit.v1" });
 * await audit.publish([event]);
 */
export function createAuditPublisher(options: AuditPublisherOptions): AuditPublisher {
  return createProtoTopicPublisher<AuditEvent>(options, (e) => ({
    key: e.accountId,
    value: AuditEventCodec.encode(e).finish(),
    timestamp: String(e.eventTimeMs),
    headers: { [MESSAGE_TYPE_HEADER]: AUDIT_MESSAGE_TYPE, "gatehouse-event-id": e.eventId },
  }));
}
