/**
 * The W3C trace-context header: on gRPC metadata, on Kafka change messages (set by the relay from
 * the outbox row's stored context) and in the outbox's `trace_context` column.
 */
export const TRACEPARENT_HEADER = "traceparent";
