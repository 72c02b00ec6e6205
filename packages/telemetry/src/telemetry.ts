import { createServer, type Server } from "node:http";
import {
  type Attributes,
  type Context,
  context,
  type Meter,
  type ObservableResult,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  type TextMapGetter,
  type Tracer,
  trace,
} from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import { W3CTraceContextPropagator } from "@opentelemetry/core";
import { OTLPMetricExporter } from "@opentelemetry/exporter-metrics-otlp-http";
import { PrometheusExporter } from "@opentelemetry/exporter-prometheus";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { registerInstrumentations } from "@opentelemetry/instrumentation";
import { PgInstrumentation } from "@opentelemetry/instrumentation-pg";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { MeterProvider, type MetricReader, PeriodicExportingMetricReader } from "@opentelemetry/sdk-metrics";
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  BatchSpanProcessor,
  ParentBasedSampler,
  type Sampler,
  SimpleSpanProcessor,
  type SpanExporter,
  type SpanProcessor,
  TraceIdRatioBasedSampler,
  TracerProvider,
} from "@opentelemetry/sdk-trace";
import { ATTR_SERVICE_NAME } from "@opentelemetry/semantic-conventions";
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

const KINDS: Record<HandSpanKind, SpanKind> = {
  internal: SpanKind.INTERNAL,
  server: SpanKind.SERVER,
  client: SpanKind.CLIENT,
  producer: SpanKind.PRODUCER,
  consumer: SpanKind.CONSUMER,
};

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

const propagator = new W3CTraceContextPropagator();
const getter: TextMapGetter<Carrier> = {
  keys: (c) => Object.keys(c),
  get: (c, key) => c[key],
};

function samplerOf(options: TelemetryOptions["sampler"]): Sampler {
  const root =
    options.kind === "always_on"
      ? new AlwaysOnSampler()
      : options.kind === "always_off"
        ? new AlwaysOffSampler()
        : new TraceIdRatioBasedSampler(options.ratio);
  return options.parentBased ? new ParentBasedSampler({ root }) : root;
}

function errorName(e: unknown): string {
  if (typeof e === "object" && e !== null) {
    const named = e as { awsName?: unknown; name?: unknown };
    if (typeof named.awsName === "string") return named.awsName;
    if (typeof named.name === "string") return named.name;
  }
  return "Error";
}

let contextManagerSet = false;

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
  if (!contextManagerSet) {
    // One context manager per process (the first telemetry started sets it; later ones share it).
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    contextManagerSet = true;
  }
  const resource = resourceFromAttributes({ ...options.resourceAttributes, [ATTR_SERVICE_NAME]: options.serviceName });
  const spanProcessors: SpanProcessor[] = [];
  if (extras.spanExporter !== undefined)
    spanProcessors.push(new SimpleSpanProcessor({ exporter: extras.spanExporter }));
  if (options.otlpTracesUrl !== undefined) {
    spanProcessors.push(new BatchSpanProcessor({ exporter: new OTLPTraceExporter({ url: options.otlpTracesUrl }) }));
  }
  const tracerProvider = new TracerProvider({ resource, sampler: samplerOf(options.sampler), spanProcessors });
  const tracer = tracerProvider.getTracer("gatehouse");

  const readers: MetricReader[] = [...(extras.metricReaders ?? [])];
  if (options.otlpMetricsUrl !== undefined) {
    readers.push(
      new PeriodicExportingMetricReader({
        exporter: new OTLPMetricExporter({ url: options.otlpMetricsUrl }),
        exportIntervalMillis: options.metricExportIntervalMs,
      }),
    );
  }
  let prometheus: PrometheusExporter | undefined;
  let server: Server | undefined;
  let prometheusPort: number | undefined;
  if (options.prometheus !== undefined) {
    // Served by our own listener so that port 0 works and the bound port is known.
    prometheus = new PrometheusExporter({ preventServerStart: true });
    readers.push(prometheus);
    const exporter = prometheus;
    const http = createServer((req, res) => {
      if (req.method === "GET" && (req.url ?? "").split("?")[0] === "/metrics") {
        exporter.getMetricsRequestHandler(req, res);
      } else {
        res.statusCode = 404;
        res.end("not found: GET /metrics\n");
      }
    });
    const { host, port } = options.prometheus;
    prometheusPort = await new Promise<number>((resolve, reject) => {
      http.once("error", reject);
      http.listen(port, host, () => {
        const address = http.address();
        resolve(typeof address === "object" && address !== null ? address.port : port);
      });
    });
    http.unref();
    server = http;
  }
  const meterProvider = new MeterProvider({ resource, readers });
  const meter = meterProvider.getMeter("gatehouse");
  const disableInstrumentations = registerInstrumentations({
    tracerProvider,
    meterProvider,
    instrumentations: [new PgInstrumentation({ requireParentSpan: true })],
  });

  const traceparent = (ctx: Context = context.active()): string | undefined => {
    if (trace.getSpanContext(ctx) === undefined) return undefined;
    const carrier: Record<string, string> = {};
    propagator.inject(ctx, carrier, { set: (c, k, v) => (c[k] = v) });
    return carrier.traceparent;
  };
  const extract = (carrier: Carrier): Context => propagator.extract(ROOT_CONTEXT, carrier, getter);

  const inSpan: Telemetry["inSpan"] = (name, spanOptions, fn) => {
    const parent = spanOptions.parent ?? context.active();
    const span = tracer.startSpan(
      name,
      {
        kind: spanOptions.kind ?? SpanKind.INTERNAL,
        ...(spanOptions.attributes === undefined ? {} : { attributes: spanOptions.attributes }),
      },
      parent,
    );
    return context.with(trace.setSpan(parent, span), fn).then(
      (value) => {
        span.end();
        return value;
      },
      (e: unknown) => {
        span.setStatus({ code: SpanStatusCode.ERROR, message: errorName(e) });
        span.setAttribute("error.type", errorName(e));
        span.end();
        throw e;
      },
    );
  };

  return {
    enabled: true,
    tracer,
    meter,
    metrics: createGatehouseMetrics(meter),
    prometheusPort,
    traceparent,
    contextOf: (tp) => (tp === undefined ? ROOT_CONTEXT : extract({ traceparent: tp })),
    extract,
    serverSpan(method, carrier, fn) {
      const slash = method.lastIndexOf("/");
      return inSpan(
        method.replace(/^\//, ""),
        {
          kind: SpanKind.SERVER,
          parent: extract(carrier),
          attributes: {
            "rpc.system": "grpc",
            "rpc.service": method.slice(method.startsWith("/") ? 1 : 0, Math.max(slash, 0)),
            "rpc.method": method.slice(slash + 1),
          },
        },
        fn,
      );
    },
    inSpan,
    startSpan(name, spanOptions) {
      const parent = spanOptions.parent === undefined ? ROOT_CONTEXT : extract({ traceparent: spanOptions.parent });
      const span = tracer.startSpan(
        name,
        {
          kind: KINDS[spanOptions.kind],
          ...(spanOptions.attributes === undefined ? {} : { attributes: spanOptions.attributes }),
        },
        parent,
      );
      return {
        // Computed on demand: an unsampled Authorize span never needs it.
        get traceparent() {
          return traceparent(trace.setSpan(parent, span));
        },
        end(error?: unknown) {
          if (error !== undefined) {
            span.setStatus({ code: SpanStatusCode.ERROR, message: errorName(error) });
            span.setAttribute("error.type", errorName(error));
          }
          span.end();
        },
      };
    },
    withParent: (tp, fn) => context.with(tp === undefined ? ROOT_CONTEXT : extract({ traceparent: tp }), fn),
    gauge(name, description, unit, observe) {
      meter.createObservableGauge(name, { description, unit }).addCallback(async (result: ObservableResult) => {
        for (const [value, attributes] of await observe()) result.observe(value, attributes);
      });
    },
    logFields(): Record<string, string> {
      const span = trace.getSpanContext(context.active());
      return span === undefined ? {} : { trace_id: span.traceId, span_id: span.spanId };
    },
    async shutdown() {
      disableInstrumentations();
      await tracerProvider.shutdown().catch(() => {});
      await meterProvider.shutdown().catch(() => {});
      if (server !== undefined) {
        const s = server;
        await new Promise<void>((resolve) => s.close(() => resolve()));
      }
    },
  };
}

const noopTracer = trace.getTracer("gatehouse-off");
const noopMeter = new MeterProvider().getMeter("gatehouse-off");

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
