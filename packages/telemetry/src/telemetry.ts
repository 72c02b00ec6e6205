import {
  type Attributes,
  type Context,
  type Meter,
  metrics,
  ROOT_CONTEXT,
  type SpanKind,
  type Tracer,
  trace,
} from "@opentelemetry/api";
import type { MetricReader } from "@opentelemetry/sdk-metrics";
import type { SpanExporter } from "@opentelemetry/sdk-trace";
import { createGatehouseMetrics, type GatehouseMetrics } from "./metrics.ts";
import type { TelemetryOptions } from "./telemetry-options.ts";

/** A carrier of trace context: gRPC metadata, Kafka headers, flattened to strings. */
export type Carrier = Readonly<Record<string, string | undefined>>;

/** A span whose end is not one promise's (a batch send): what it propagates, and how it ends. */
export interface SpanHandle {
  /** The span's own W3C traceparent, to send onwards (a Kafka header). */
  readonly traceparent: string | undefined;
  /** Ends the span; with an error, marks it failed with the error's name only. */
  end(error?: unknown): void;
}

/** The span kinds Gatehouse starts by hand. */
export type HandSpanKind = "internal" | "server" | "client" | "producer" | "consumer";

/** One value of an observable gauge and its attributes. */
export type Observation = readonly [value: number, attributes?: Attributes];

/**
 * A process's telemetry. When it is off ({@link TELEMETRY_DISABLED}) `enabled` is false and
 * callers leave their hooks out altogether, so the hot path does not even branch into it.
 */
export interface Telemetry {
  readonly enabled: boolean;
  readonly tracer: Tracer;
  readonly meter: Meter;
  /** The named instruments (decisions, Authorize latency, STS issuance, signature failures). */
  readonly metrics: GatehouseMetrics;
  /** The bound port of the Prometheus endpoint, when one listens. */
  readonly prometheusPort: number | undefined;
  /** The W3C `traceparent` of the active span (sampled or not), or undefined without one. */
  traceparent(ctx?: Context): string | undefined;
  /** A context whose remote parent is `traceparent` (the root context for undefined or malformed). */
  contextOf(traceparent: string | undefined): Context;
  /** The context a carrier (gRPC metadata, Kafka headers) propagates. */
  extract(carrier: Carrier): Context;
  /**
   * Runs `fn` in a SERVER span named after the gRPC method (`gatehouse.v1.ControlService/CreateUser`),
   * child of the caller's context in `carrier`. A failure marks the span with its error name only
   * (messages may quote request values).
   */
  serverSpan<T>(method: string, carrier: Carrier, fn: () => Promise<T>): Promise<T>;
  /** Runs `fn` in an INTERNAL or CONSUMER/PRODUCER span, child of `parent` (default: the active context). */
  inSpan<T>(
    name: string,
    options: { kind?: SpanKind; parent?: Context; attributes?: Attributes },
    fn: () => Promise<T>,
  ): Promise<T>;
  /**
   * Starts a span continuing `parent` (a W3C traceparent from the outbox or a Kafka header; a new
   * root trace when undefined).
   */
  startSpan(
    name: string,
    options: { kind: HandSpanKind; parent: string | undefined; attributes?: Attributes },
  ): SpanHandle;
  /** Runs `fn` in the context of a traceparent (a span started from it becomes its child). */
  withParent<T>(traceparent: string | undefined, fn: () => Promise<T>): Promise<T>;
  /** Registers an observable gauge; `observe` runs on every collection (a scrape, an OTLP push). */
  gauge(
    name: string,
    description: string,
    unit: string,
    observe: () => readonly Observation[] | Promise<readonly Observation[]>,
  ): void;
  /** `{ trace_id, span_id }` of the active span for a log line (pino's `mixin`), else `{}`. */
  logFields(): Record<string, string>;
  /** Flushes and stops exporters and the metrics endpoint. */
  shutdown(): Promise<void>;
}

/** Extras for tests and benches: where spans go besides OTLP, and extra metric readers. */
export interface TelemetryExtras {
  /** Receives every ended, sampled span at once (an in-memory exporter in tests). */
  readonly spanExporter?: SpanExporter;
  readonly metricReaders?: readonly MetricReader[];
}

/**
 * Starts the OpenTelemetry SDK for this process as `options` say: a tracer provider with the
 * configured sampler and OTLP/HTTP export, a meter provider exporting over OTLP and serving
 * `GET /metrics` for Prometheus, W3C trace-context propagation, and the official `pg`
 * instrumentation (it patches `pg` when that is loaded after this call: services import their
 * modules after starting telemetry). Off: returns {@link TELEMETRY_DISABLED} and starts nothing.
 *
 * @example
 * const telemetry = await startTelemetry(config.telemetry);
 * const logger = pino({ mixin: () => telemetry.logFields() });
 */
export async function startTelemetry(options: TelemetryOptions, extras: TelemetryExtras = {}): Promise<Telemetry> {
  if (!options.enabled) return TELEMETRY_DISABLED;
  // The SDK is loaded only now: a process with telemetry off never keeps it in its heap.
  const { startSdkTelemetry } = await import("./telemetry-sdk.ts");
  return startSdkTelemetry(options, extras);
}

const noopTracer = trace.getTracer("gatehouse-off");
// The API's no-op meter (no SDK registered): its instruments record nothing.
const noopMeter = metrics.getMeterProvider().getMeter("gatehouse-off");

/**
 * Telemetry off: no SDK, no spans, no endpoint. Services test `enabled` once at start and leave
 * their hooks out; what is still called through it does nothing.
 */
export const TELEMETRY_DISABLED: Telemetry = Object.freeze({
  enabled: false,
  tracer: noopTracer,
  meter: noopMeter,
  metrics: createGatehouseMetrics(noopMeter),
  prometheusPort: undefined,
  traceparent: () => undefined,
  contextOf: () => ROOT_CONTEXT,
  extract: () => ROOT_CONTEXT,
  serverSpan: <T>(_method: string, _carrier: Carrier, fn: () => Promise<T>) => fn(),
  inSpan: <T>(_name: string, _options: unknown, fn: () => Promise<T>) => fn(),
  startSpan: () => ({ traceparent: undefined, end: () => {} }),
  withParent: <T>(_traceparent: string | undefined, fn: () => Promise<T>) => fn(),
  gauge: () => {},
  logFields: () => ({}),
  shutdown: async () => {},
});
