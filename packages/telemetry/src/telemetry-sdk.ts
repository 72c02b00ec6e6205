// The OpenTelemetry SDK behind `startTelemetry` when telemetry is on: loaded only then (a dynamic
// import), so a process with telemetry off does not keep the SDK, its exporters and
// instrumentations in its heap (about 5 MB live in a decider, which every major collection marks).
import { createServer, type Server } from "node:http";
import {
  type Context,
  context,
  type ObservableResult,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  type TextMapGetter,
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
  type SpanProcessor,
  TraceIdRatioBasedSampler,
  TracerProvider,
} from "@opentelemetry/sdk-trace";
import { ATTR_SERVICE_NAME } from "@opentelemetry/semantic-conventions";
import { createGatehouseMetrics } from "./metrics.ts";
import type { Carrier, HandSpanKind, Telemetry, TelemetryExtras } from "./telemetry.ts";
import type { TelemetryOptions } from "./telemetry-options.ts";

const KINDS: Record<HandSpanKind, SpanKind> = {
  internal: SpanKind.INTERNAL,
  server: SpanKind.SERVER,
  client: SpanKind.CLIENT,
  producer: SpanKind.PRODUCER,
  consumer: SpanKind.CONSUMER,
};

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

/** Starts the SDK as `options` say (telemetry on); see `startTelemetry`. */
export async function startSdkTelemetry(options: TelemetryOptions, extras: TelemetryExtras): Promise<Telemetry> {
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
