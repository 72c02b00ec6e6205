/**
 * Kafka adapters: the idempotent publisher the outbox relay uses, the consumer regions use, and a
 * topic helper. The change-event codec they speak lives in `@gatehouse/events`, which needs no
 * kafkajs.
 */
export { deleteTopic, ensureTopic, type TopicOptions, type TopicState, validateTopicOptions } from "./admin.ts";
export {
  AUDIT_MESSAGE_TYPE,
  type AuditPublisher,
  type AuditPublisherOptions,
  createAuditPublisher,
} from "./audit-publisher.ts";
export {
  type ChangeConsumer,
  type ChangeConsumerOptions,
  type ChangeMessageMeta,
  createChangeConsumer,
} from "./change-consumer.ts";
export {
  type ChangePublisher,
  type ChangePublisherOptions,
  changeMessageBytes,
  createChangePublisher,
} from "./change-publisher.ts";
export { rejectsRecords, translateKafkaError } from "./kafka-error.ts";
export { assertTopicName, type KafkaConnectionOptions, validateKafkaConnectionOptions } from "./kafka-options.ts";
export {
  createRegionAuditConsumer,
  createRegionAuditPublisher,
  REGION_AUDIT_TOPIC,
  type RegionAuditConsumer,
  type RegionAuditConsumerOptions,
  type RegionAuditPublisher,
  type RegionAuditPublisherOptions,
} from "./region-audit.ts";
