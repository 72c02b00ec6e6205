import { describe, expect, it } from "vitest";
import { startTelemetry, TELEMETRY_DISABLED, telemetryOptionsFromEnv } from "./index.ts";

const defaults = {
  serviceName: "gatehouse-test",
  resourceAttributes: { "cloud.region": "us-east-1" },
  sampleRatio: 0.25,
};

describe("telemetryOptionsFromEnv", () => {
  it("is off by default, and then starts nothing", async () => {
    const options = telemetryOptionsFromEnv({}, defaults);
    expect(options.enabled).toBe(false);
    expect(options.prometheus).toBeUndefined();
    expect(options.otlpTracesUrl).toBeUndefined();
    expect(await startTelemetry(options)).toBe(TELEMETRY_DISABLED);
  });

  it("reads Gatehouse's switches and the standard OTEL_* variables", () => {
    const options = telemetryOptionsFromEnv(
      {
        GATEHOUSE_TELEMETRY: "on",
        GATEHOUSE_METRICS_LISTEN: "0.0.0.0:51690",
        OTEL_SERVICE_NAME: "cp-blue",
        OTEL_RESOURCE_ATTRIBUTES: "deployment.environment=prod,team=iam",
        OTEL_TRACES_SAMPLER: "parentbased_traceidratio",
        OTEL_TRACES_SAMPLER_ARG: "0.5",
        OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318/",
        OTEL_METRIC_EXPORT_INTERVAL: "15000",
      },
      defaults,
    );
    expect(options).toEqual({
      enabled: true,
      serviceName: "cp-blue",
      resourceAttributes: { "cloud.region": "us-east-1", "deployment.environment": "prod", team: "iam" },
      sampler: { kind: "ratio", parentBased: true, ratio: 0.5 },
      otlpTracesUrl: "http://collector:4318/v1/traces",
      otlpMetricsUrl: "http://collector:4318/v1/metrics",
      metricExportIntervalMs: 15_000,
      prometheus: { host: "0.0.0.0", port: 51_690 },
    });
  });

  it("keeps the service's default ratio, honours per-signal endpoints, none and OTEL_SDK_DISABLED", () => {
    const options = telemetryOptionsFromEnv(
      {
        GATEHOUSE_TELEMETRY: "on",
        OTEL_SDK_DISABLED: "true",
        OTEL_TRACES_SAMPLER: "always_on",
        OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318",
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "https://traces.example/v1/traces",
        OTEL_METRICS_EXPORTER: "none",
      },
      defaults,
    );
    expect(options.enabled).toBe(false);
    expect(options.sampler).toEqual({ kind: "always_on", parentBased: false, ratio: 0.25 });
    expect(options.otlpTracesUrl).toBe("https://traces.example/v1/traces");
    expect(options.otlpMetricsUrl).toBeUndefined();
  });

  it("names every bad variable and its value", () => {
    expect(() =>
      telemetryOptionsFromEnv(
        {
          GATEHOUSE_TELEMETRY: "maybe",
          GATEHOUSE_METRICS_LISTEN: "9464",
          OTEL_TRACES_SAMPLER: "sometimes",
          OTEL_TRACES_SAMPLER_ARG: "2",
          OTEL_EXPORTER_OTLP_ENDPOINT: "collector:4318",
        },
        defaults,
      ),
    ).toThrow(
      /GATEHOUSE_TELEMETRY="maybe".*\n.*OTEL_TRACES_SAMPLER="sometimes".*\n.*OTEL_TRACES_SAMPLER_ARG="2".*\n.*OTEL_EXPORTER_OTLP_ENDPOINT="collector:4318".*\n.*GATEHOUSE_METRICS_LISTEN="9464"/,
    );
  });
});
