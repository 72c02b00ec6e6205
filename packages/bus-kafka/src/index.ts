/**
 * Kafka adapters: the change-event codec (gatehouse.v1.ChangeEvent, versioned), the idempotent
 * publisher the outbox relay uses, the consumer regions use, and a topic helper.
 */
export { deleteTopic, ensureTopic, type TopicOptions, type TopicState, validateTopicOptions } from "./admin.ts";
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
export {
  CHANGE_EVENT_SCHEMA_VERSION,
  ChangeHeaders,
  changeEvent,
  decodeAccountSnapshot,
  decodeChangeEvent,
  type EntityChange,
  encodeAccountSnapshot,
  encodeChangeEvent,
} from "./event-codec.ts";
export { rejectsRecords, translateKafkaError } from "./kafka-error.ts";
export { assertTopicName, type KafkaConnectionOptions, validateKafkaConnectionOptions } from "./kafka-options.ts";
