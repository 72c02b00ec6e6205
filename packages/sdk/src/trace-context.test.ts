import { AuthorizerServiceService, GetRegionStatusResponse } from "@gatehouse/proto";
import { type Metadata, Server, ServerCredentials, type ServerUnaryCall, type sendUnaryData } from "@grpc/grpc-js";
import { context, propagation, TraceFlags, trace } from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import { W3CTraceContextPropagator } from "@opentelemetry/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Gatehouse } from "./gatehouse.ts";

// A real gRPC server standing in for a region (only GetRegionStatus answers): it records the
// metadata each call carries, which is what a tracing region continues the caller's trace from.
describe("the SDK sends the caller's trace context", () => {
  const seen: Metadata[] = [];
  const server = new Server();
  let address = "";

  beforeAll(async () => {
    // What a caller's OpenTelemetry SDK registers: the active span follows awaits.
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    server.addService(AuthorizerServiceService, {
      getRegionStatus(call: ServerUnaryCall<unknown, unknown>, callback: sendUnaryData<GetRegionStatusResponse>) {
        seen.push(call.metadata);
        callback(null, GetRegionStatusResponse.fromPartial({}));
      },
    });
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync("127.0.0.1:0", ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))),
    );
    address = `127.0.0.1:${port}`;
  });
  afterAll(() => {
    server.forceShutdown();
    propagation.disable();
    context.disable();
  });

  const client = () =>
    new Gatehouse({
      region: "us-east-1",
      credentials: { accessKeyId: "AKIAEXAMPLETRACE0001", secretAccessKey: "not-a-real-secret" },
      endpoints: { regions: { "us-east-1": [address] } },
      env: {},
    });

  it("writes traceparent from the active context when the caller registered a propagator", async () => {
    propagation.setGlobalPropagator(new W3CTraceContextPropagator());
    const traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
    const spanId = "00f067aa0ba902b7";
    const active = trace.setSpanContext(context.active(), { traceId, spanId, traceFlags: TraceFlags.SAMPLED });
    const gh = client();
    try {
      await context.with(active, () => gh.authz.regionStatus());
      expect(seen.at(-1)?.get("traceparent")).toEqual([`00-${traceId}-${spanId}-01`]);
      // Outside any span: nothing to continue, nothing sent.
      await gh.authz.regionStatus();
      expect(seen.at(-1)?.get("traceparent")).toEqual([]);
    } finally {
      gh.close();
    }
  });

  it("sends nothing without a propagator (no OpenTelemetry SDK in the caller's process)", async () => {
    propagation.disable();
    const active = trace.setSpanContext(context.active(), {
      traceId: "4bf92f3577b34da6a3ce929d0e0e4736",
      spanId: "00f067aa0ba902b7",
      traceFlags: TraceFlags.SAMPLED,
    });
    const gh = client();
    try {
      await context.with(active, () => gh.authz.regionStatus());
      expect(seen.at(-1)?.get("traceparent")).toEqual([]);
    } finally {
      gh.close();
    }
  });
});
