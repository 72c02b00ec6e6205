import { InMemorySpanExporter } from "@opentelemetry/sdk-trace";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTelemetry, TELEMETRY_OFF, type Telemetry } from "./index.ts";

describe("startTelemetry", () => {
  const exporter = new InMemorySpanExporter();
  let telemetry: Telemetry;
  beforeAll(async () => {
    telemetry = await startTelemetry(
      { ...TELEMETRY_OFF, enabled: true, sampler: { kind: "always_on", parentBased: true, ratio: 1 } },
      { spanExporter: exporter },
    );
  });
  afterAll(() => telemetry.shutdown());

  it("puts the active span's trace and span ids on log lines written inside it, and only there", async () => {
    const lines: string[] = [];
    const logger = pino({ mixin: () => telemetry.logFields() }, { write: (line: string) => lines.push(line) });
    await telemetry.inSpan("work", {}, async () => {
      logger.info({ secretAccessKey: "never-here" }, "inside");
    });
    logger.info("outside");
    const span = exporter.getFinishedSpans().find((s) => s.name === "work");
    const [inside, outside] = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(inside?.trace_id).toBe(span?.spanContext().traceId);
    expect(inside?.span_id).toBe(span?.spanContext().spanId);
    expect(outside?.trace_id).toBeUndefined();
  });

  it("continues a stored traceparent: the span's parent is the remote one, its own traceparent is sent on", () => {
    const stored = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
    const span = telemetry.startSpan("publish", { kind: "producer", parent: stored });
    const sent = span.traceparent;
    span.end();
    const finished = exporter.getFinishedSpans().find((s) => s.name === "publish");
    expect(finished?.spanContext().traceId).toBe("0af7651916cd43dd8448eb211c80319c");
    expect(finished?.parentSpanContext?.spanId).toBe("b7ad6b7169203331");
    expect(sent).toBe(`00-0af7651916cd43dd8448eb211c80319c-${finished?.spanContext().spanId}-01`);
    expect(telemetry.contextOf(sent)).not.toBe(telemetry.contextOf(undefined));
  });
});
