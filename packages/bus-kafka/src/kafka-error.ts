import { IamError } from "@gatehouse/core";

/**
 * Translates a kafkajs error into an {@link IamError} at the edge: kafkajs's own `retriable` flag
 * (and connection failures, which it reports as KafkaJSConnectionError / KafkaJSNumberOfRetriesExceeded)
 * become a retriable `ServiceUnavailable`; anything else is a `ServiceFailure`.
 */
export function translateKafkaError(e: unknown, context: string): IamError {
  if (IamError.is(e)) return e;
  const err = e as { name?: string; retriable?: boolean; message?: string };
  const transient =
    err.retriable === true ||
    /Connection|NumberOfRetriesExceeded|RequestTimeout|BrokerNotFound|LeaderNotAvailable|NotLeader/i.test(
      `${err.name ?? ""} ${err.message ?? ""}`,
    );
  return transient
    ? new IamError("ServiceUnavailable", `${context}: Kafka is unavailable`, { cause: e, retriable: true })
    : new IamError("ServiceFailure", `${context} failed`, { cause: e });
}

// Broker errors about the records sent, not about the broker or the client: sending the same
// records again fails the same way. (INVALID_TIMESTAMP is left out: a topic's timestamp window
// refuses every old event alike, e.g. a backlog after an outage, which is no one event's fault.)
const RECORD_ERRORS = new Set(["MESSAGE_TOO_LARGE", "RECORD_LIST_TOO_LARGE", "INVALID_RECORD"]);

/**
 * Whether Kafka refused the records themselves (too large, invalid), as opposed to being
 * unavailable or refusing the client: a re-send of the same records cannot succeed.
 */
export function rejectsRecords(e: unknown): boolean {
  // kafkajs wraps a broker's answer: KafkaJSNonRetriableError (cause), KafkaJSAggregateError (errors).
  const seen = new Set<unknown>();
  const visit = (x: unknown): boolean => {
    if (x === null || typeof x !== "object" || seen.has(x) || seen.size > 32) return false;
    seen.add(x);
    const err = x as { type?: unknown; cause?: unknown; errors?: unknown };
    if (typeof err.type === "string" && RECORD_ERRORS.has(err.type)) return true;
    return visit(err.cause) || (Array.isArray(err.errors) && err.errors.some(visit));
  };
  return visit(e);
}
