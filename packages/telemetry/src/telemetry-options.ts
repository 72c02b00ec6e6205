/**
 * How a process exports telemetry. Built from the environment by {@link telemetryOptionsFromEnv}
 * (each service's config.ts passes its env in); nothing here reads `process.env`.
 */
export interface TelemetryOptions {
  /** Off (the default): no SDK is started, every hook is left out of the hot path. */
  readonly enabled: boolean;
  /** `service.name` of the resource (`OTEL_SERVICE_NAME`, else the service's own default). */
  readonly serviceName: string;
  /** Extra resource attributes (`OTEL_RESOURCE_ATTRIBUTES`, plus what the service adds: region, role). */
  readonly resourceAttributes: Readonly<Record<string, string>>;
  /**
   * Which traces are recorded. `parent` samplers follow the caller's sampled flag (a write's trace
   * is followed by the relay and every region's applier); `ratio` is the share of new root traces.
   */
  readonly sampler: {
    readonly kind: "always_on" | "always_off" | "ratio";
    readonly parentBased: boolean;
    readonly ratio: number;
  };
  /** OTLP/HTTP trace endpoint (full URL, `/v1/traces`), or undefined for no span export. */
  readonly otlpTracesUrl: string | undefined;
  /** OTLP/HTTP metrics endpoint (full URL, `/v1/metrics`), or undefined for no OTLP metrics. */
  readonly otlpMetricsUrl: string | undefined;
  /** How often metrics are pushed over OTLP (ms). */
  readonly metricExportIntervalMs: number;
  /** Where the Prometheus endpoint (`GET /metrics`) listens; undefined: none. Port 0 picks one. */
  readonly prometheus: { readonly host: string; readonly port: number } | undefined;
}

/** What a service says about itself when it reads its telemetry settings. */
export interface TelemetryDefaults {
  readonly serviceName: string;
  /** Resource attributes the service knows (region, role). */
  readonly resourceAttributes?: Readonly<Record<string, string>>;
  /** Share of new root traces recorded unless `OTEL_TRACES_SAMPLER_ARG` says otherwise. */
  readonly sampleRatio?: number;
}

const SAMPLERS = {
  always_on: { kind: "always_on", parentBased: false },
  always_off: { kind: "always_off", parentBased: false },
  traceidratio: { kind: "ratio", parentBased: false },
  parentbased_always_on: { kind: "always_on", parentBased: true },
  parentbased_always_off: { kind: "always_off", parentBased: true },
  parentbased_traceidratio: { kind: "ratio", parentBased: true },
} as const;

/**
 * Gatehouse's own telemetry variables, which `telemetryOptionsFromEnv` reads besides the standard
 * `OTEL_*` ones: services list them among the names their configuration reads.
 */
export const TELEMETRY_ENV_NAMES: readonly string[] = Object.freeze([
  "GATEHOUSE_TELEMETRY",
  "GATEHOUSE_METRICS_LISTEN",
]);

const HOST_PORT = /^([^\s:]+|\[[0-9a-fA-F:]+\]):(\d{1,5})$/;

/**
 * Reads the telemetry settings: Gatehouse's own switches plus the standard `OTEL_*` variables.
 *
 * - `GATEHOUSE_TELEMETRY` `on`|`off` (default `off`); `OTEL_SDK_DISABLED=true` forces off.
 * - `GATEHOUSE_METRICS_LISTEN` `host:port` of the Prometheus endpoint (unset: none; `:0` picks a port).
 * - `OTEL_SERVICE_NAME`, `OTEL_RESOURCE_ATTRIBUTES` (`k=v,k=v`).
 * - `OTEL_TRACES_SAMPLER` (`always_on`, `always_off`, `traceidratio`, `parentbased_*`; default
 *   `parentbased_traceidratio`) and `OTEL_TRACES_SAMPLER_ARG` (the ratio, default the service's).
 * - `OTEL_EXPORTER_OTLP_ENDPOINT` (base URL; `/v1/traces` and `/v1/metrics` appended),
 *   `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`, `OTEL_EXPORTER_OTLP_METRICS_ENDPOINT` (full URLs);
 *   `OTEL_TRACES_EXPORTER` / `OTEL_METRICS_EXPORTER` `none` turn OTLP export off.
 * - `OTEL_METRIC_EXPORT_INTERVAL` (ms, default 60000).
 *
 * Throws one error naming every bad variable and its value.
 *
 * @example
 * const telemetry = telemetryOptionsFromEnv(env, { serviceName: "gatehouse-control-plane" });
 */
export function telemetryOptionsFromEnv(
  env: Readonly<Record<string, string | undefined>>,
  defaults: TelemetryDefaults,
): TelemetryOptions {
  const problems: string[] = [];
  const bad = (key: string, why: string) => problems.push(`${key}=${JSON.stringify(env[key])}: ${why}`);

  const switchValue = (env.GATEHOUSE_TELEMETRY ?? "off").toLowerCase();
  if (!["on", "off", "true", "false", "1", "0"].includes(switchValue)) bad("GATEHOUSE_TELEMETRY", "must be on or off");
  const disabledBySdk = (env.OTEL_SDK_DISABLED ?? "").toLowerCase() === "true";
  const enabled = ["on", "true", "1"].includes(switchValue) && !disabledBySdk;

  const samplerName = (env.OTEL_TRACES_SAMPLER ?? "parentbased_traceidratio").toLowerCase();
  const sampler = SAMPLERS[samplerName as keyof typeof SAMPLERS];
  if (sampler === undefined) bad("OTEL_TRACES_SAMPLER", `must be one of ${Object.keys(SAMPLERS).join(", ")}`);
  let ratio = defaults.sampleRatio ?? 1;
  if (env.OTEL_TRACES_SAMPLER_ARG !== undefined && env.OTEL_TRACES_SAMPLER_ARG !== "") {
    const r = Number(env.OTEL_TRACES_SAMPLER_ARG);
    if (!Number.isFinite(r) || r < 0 || r > 1) bad("OTEL_TRACES_SAMPLER_ARG", "must be a ratio in 0..1");
    else ratio = r;
  }

  const url = (key: string): string | undefined => {
    const v = env[key];
    if (v === undefined || v === "") return undefined;
    if (!/^https?:\/\/[^\s]+$/.test(v)) {
      bad(key, "must be an http(s):// URL");
      return undefined;
    }
    return v;
  };
  const base = url("OTEL_EXPORTER_OTLP_ENDPOINT")?.replace(/\/+$/, "");
  const tracesOff = (env.OTEL_TRACES_EXPORTER ?? "").toLowerCase() === "none";
  const metricsOff = (env.OTEL_METRICS_EXPORTER ?? "").toLowerCase() === "none";
  const tracesUrl = url("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") ?? (base === undefined ? undefined : `${base}/v1/traces`);
  const metricsUrl =
    url("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT") ?? (base === undefined ? undefined : `${base}/v1/metrics`);

  let interval = 60_000;
  if (env.OTEL_METRIC_EXPORT_INTERVAL !== undefined && env.OTEL_METRIC_EXPORT_INTERVAL !== "") {
    const n = Number(env.OTEL_METRIC_EXPORT_INTERVAL);
    if (!Number.isInteger(n) || n < 100 || n > 86_400_000)
      bad("OTEL_METRIC_EXPORT_INTERVAL", "must be ms in 100..86400000");
    else interval = n;
  }

  let prometheus: TelemetryOptions["prometheus"];
  const listen = env.GATEHOUSE_METRICS_LISTEN;
  if (listen !== undefined && listen !== "") {
    const m = HOST_PORT.exec(listen);
    const port = Number(m?.[2]);
    if (m === null || port > 65_535) bad("GATEHOUSE_METRICS_LISTEN", "must be host:port");
    else prometheus = Object.freeze({ host: (m[1] ?? "").replace(/^\[|\]$/g, ""), port });
  }

  const attributes: Record<string, string> = { ...defaults.resourceAttributes };
  for (const pair of (env.OTEL_RESOURCE_ATTRIBUTES ?? "").split(",")) {
    if (pair.trim() === "") continue;
    const eq = pair.indexOf("=");
    if (eq <= 0) {
      bad("OTEL_RESOURCE_ATTRIBUTES", "must be key=value pairs separated by commas");
      break;
    }
    attributes[decodeURIComponent(pair.slice(0, eq).trim())] = decodeURIComponent(pair.slice(eq + 1).trim());
  }

  if (problems.length > 0) throw new Error(`invalid telemetry configuration:\n  ${problems.join("\n  ")}`);
  return Object.freeze({
    enabled,
    serviceName: env.OTEL_SERVICE_NAME || defaults.serviceName,
    resourceAttributes: Object.freeze(attributes),
    sampler: Object.freeze({ ...(sampler ?? SAMPLERS.parentbased_traceidratio), ratio }),
    otlpTracesUrl: tracesOff ? undefined : tracesUrl,
    otlpMetricsUrl: metricsOff ? undefined : metricsUrl,
    metricExportIntervalMs: interval,
    prometheus,
  });
}

/** Telemetry off: what a process uses when nothing was configured (tests, tools). */
export const TELEMETRY_OFF: TelemetryOptions = Object.freeze({
  enabled: false,
  serviceName: "gatehouse",
  resourceAttributes: Object.freeze({}),
  sampler: Object.freeze({ kind: "always_off", parentBased: true, ratio: 0 }),
  otlpTracesUrl: undefined,
  otlpMetricsUrl: undefined,
  metricExportIntervalMs: 60_000,
  prometheus: undefined,
});
