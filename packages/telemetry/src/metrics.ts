import type { Counter, Histogram, Meter } from "@opentelemetry/api";

/**
 * The instruments Gatehouse records directly (the gauges are observed from state the services
 * already keep: see {@link METRIC_NAMES}). Names follow OpenTelemetry's conventions; the
 * Prometheus endpoint shows them with `_` for `.` and `_total` on counters.
 */
export interface GatehouseMetrics {
  /** Authorization decisions by `result` (`allow`, `deny`, `error`) and `region`. */
  readonly decisions: Counter;
  /** Authorize latency in the decider, seconds, by `region`. */
  readonly authorizeDuration: Histogram;
  /** STS credentials issued by `operation` (AssumeRole, GetSessionToken, …) and `region`. */
  readonly stsIssued: Counter;
  /** Calls refused for their signature or credentials, by `service`, `region` and `error`. */
  readonly signatureFailures: Counter;
}

/** Every series name a Gatehouse process may export (OpenTelemetry spelling). */
export const METRIC_NAMES = Object.freeze({
  decisions: "gatehouse.decisions",
  authorizeDuration: "gatehouse.authorize.duration",
  stsIssued: "gatehouse.sts.issued",
  signatureFailures: "gatehouse.signature.failures",
  l1HitRatio: "gatehouse.l1.hit_ratio",
  staleness: "gatehouse.region.staleness",
  consumerLag: "gatehouse.consumer.lag",
  outboxBacklog: "gatehouse.outbox.backlog",
});

/** Authorize latency buckets (seconds): the decider answers in tens of microseconds to milliseconds. */
const LATENCY_BUCKETS = [
  0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5,
];

/** The instruments on `meter`. */
export function createGatehouseMetrics(meter: Meter): GatehouseMetrics {
  return Object.freeze({
    decisions: meter.createCounter(METRIC_NAMES.decisions, {
      description: "Authorization decisions by result and region",
    }),
    authorizeDuration: meter.createHistogram(METRIC_NAMES.authorizeDuration, {
      description: "Authorize latency in the decider",
      unit: "s",
      advice: { explicitBucketBoundaries: LATENCY_BUCKETS },
    }),
    stsIssued: meter.createCounter(METRIC_NAMES.stsIssued, { description: "STS credentials issued by operation" }),
    signatureFailures: meter.createCounter(METRIC_NAMES.signatureFailures, {
      description: "Calls refused for their signature or credentials",
    }),
  });
}

/** The AWS error names that count as signature (credential) failures. */
export const SIGNATURE_FAILURES: ReadonlySet<string> = new Set([
  "SignatureDoesNotMatch",
  "IncompleteSignature",
  "InvalidClientTokenId",
  "MissingAuthenticationToken",
  "ExpiredToken",
]);
