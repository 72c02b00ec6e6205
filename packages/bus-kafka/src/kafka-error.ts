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
