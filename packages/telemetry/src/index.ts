export { grpcClientSpans } from "./grpc-client.ts";
export { createGatehouseMetrics, type GatehouseMetrics, METRIC_NAMES, SIGNATURE_FAILURES } from "./metrics.ts";
export {
  type Carrier,
  type HandSpanKind,
  type Observation,
  type SpanHandle,
  startTelemetry,
  TELEMETRY_DISABLED,
  type Telemetry,
  type TelemetryExtras,
} from "./telemetry.ts";
export {
  TELEMETRY_ENV_NAMES,
  TELEMETRY_OFF,
  type TelemetryDefaults,
  type TelemetryOptions,
  telemetryOptionsFromEnv,
} from "./telemetry-options.ts";
export { TRACEPARENT_HEADER } from "./trace-headers.ts";
