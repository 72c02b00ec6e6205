// OpenTelemetry end to end: a control plane and two regions, each with a telemetry of its own (its
// own tracer provider, resource and Prometheus endpoint, as separate processes have), all spans to
// one in-memory exporter; real Postgres, Kafka and Redis. A write is one trace: the control
// plane's server span → the relay's publish span (trace context stored with the outbox row) →
// each region's apply span (trace context in the Kafka header).
import { createSigningInterceptor } from "@gatehouse/auth";
import { type GetSessionTokenResponse, StsServiceClient } from "@gatehouse/proto";
import { startTelemetry, TELEMETRY_OFF, type Telemetry } from "@gatehouse/telemetry";
import { credentials, Metadata } from "@grpc/grpc-js";
import { InMemorySpanExporter, type ReadableSpan } from "@opentelemetry/sdk-trace";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  controlClient,
  OPERATOR,
  startTestControlPlane,
  startTestRegion,
  type TestControlPlane,
  type TestRegion,
} from "./region-stack.int-helper.ts";

const REGIONS = ["us-east-1", "eu-west-1"] as const;

/** A process's telemetry: on, every trace sampled, spans to `exporter`, metrics on port 0. */
function telemetryOf(name: string, region: string, exporter: InMemorySpanExporter): Promise<Telemetry> {
  return startTelemetry(
    {
      ...TELEMETRY_OFF,
      enabled: true,
      serviceName: name,
      resourceAttributes: { "cloud.region": region },
      sampler: { kind: "always_on", parentBased: true, ratio: 1 },
      prometheus: { host: "127.0.0.1", port: 0 },
    },
    { spanExporter: exporter },
  );
}

const serviceOf = (s: ReadableSpan) => String(s.resource.attributes["service.name"]);
const regionOf = (s: ReadableSpan) => String(s.resource.attributes["cloud.region"]);

async function scrape(t: Telemetry): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${t.prometheusPort}/metrics`);
  expect(res.status).toBe(200);
  return res.text();
}

describe("OpenTelemetry across the control plane and the regions", () => {
  const exporter = new InMemorySpanExporter();
  const telemetries: Telemetry[] = [];
  let cp: TestControlPlane;
  let cpTelemetry: Telemetry;
  const regions: TestRegion[] = [];
  const regionTelemetry: Telemetry[] = [];

  beforeAll(async () => {
    cpTelemetry = await telemetryOf("gatehouse-control-plane", "us-east-1", exporter);
    telemetries.push(cpTelemetry);
    cp = await startTestControlPlane({ telemetry: cpTelemetry });
    for (const name of REGIONS) {
      const t = await telemetryOf("gatehouse-region-all", name, exporter);
      telemetries.push(t);
      regionTelemetry.push(t);
      regions.push(
        await startTestRegion({
          topic: cp.topic,
          controlPlane: cp,
          name,
          telemetry: t,
          extraEnv: { GATEHOUSE_SECRET_KEY: cp.secretKey },
        }),
      );
    }
  });
  afterAll(async () => {
    for (const r of regions) await r.close();
    await cp?.close();
    for (const t of telemetries) await t.shutdown();
  });

  /** The spans of the trace whose root is the server span of `method` named by `match`. */
  const traceOf = (method: string) => {
    const server = exporter
      .getFinishedSpans()
      .filter((s) => s.name === `gatehouse.v1.ControlService/${method}` && serviceOf(s) === "gatehouse-control-plane");
    const root = server.at(-1);
    if (root === undefined) return undefined;
    const spans = exporter.getFinishedSpans().filter((s) => s.spanContext().traceId === root.spanContext().traceId);
    return { root, spans };
  };

  it("one write is one trace: server span → publish (from the outbox row) → each region's apply", async () => {
    const operator = controlClient(cp.address, OPERATOR);
    const account = await operator.call("createAccount", { accountAlias: "" });
    const root = controlClient(cp.address, {
      accessKeyId: account.rootAccessKeyId,
      secretAccessKey: account.rootSecretAccessKey,
    });
    try {
      // A TypeScript write (CreateAccount, mutate) and a single-call SQL write (CreateUser, gh_create_user).
      await root.call("createUser", { userName: "traced" });
      for (const method of ["CreateAccount", "CreateUser"]) {
        await expect
          .poll(() => traceOf(method)?.spans.filter((s) => s.name === "gatehouse.apply").length ?? 0, {
            timeout: 30_000,
          })
          .toBeGreaterThanOrEqual(REGIONS.length);
        const trace = traceOf(method);
        if (trace === undefined) throw new Error(`no trace of ${method}`);
        const { root: server, spans } = trace;
        expect(server.parentSpanContext, `${method}: the server span starts the trace`).toBeUndefined();
        expect(server.attributes["rpc.method"]).toBe(method);
        const publishes = spans.filter((s) => s.name === "gatehouse.outbox publish");
        expect(publishes.length, `${method}: one publish span for the write's rows`).toBe(1);
        for (const p of publishes) {
          expect(p.parentSpanContext?.spanId, `${method}: publish is the write's child`).toBe(
            server.spanContext().spanId,
          );
          expect(serviceOf(p)).toBe("gatehouse-control-plane");
          expect(p.attributes["gatehouse.account_id"]).toBe(account.accountId);
        }
        const publishIds = new Set(publishes.map((p) => p.spanContext().spanId));
        const applies = spans.filter((s) => s.name === "gatehouse.apply");
        expect(new Set(applies.map(regionOf)), `${method}: applied in every region`).toEqual(new Set(REGIONS));
        for (const a of applies) {
          expect(serviceOf(a)).toBe("gatehouse-region-all");
          expect(publishIds.has(a.parentSpanContext?.spanId ?? ""), `${method}: apply is a publish's child`).toBe(true);
          expect(a.attributes["gatehouse.account_id"]).toBe(account.accountId);
        }
        // Postgres spans (the official pg instrumentation) join the write's trace when pg was
        // patched before it loaded (the services' main.ts); in-process they may not: not asserted.
      }
    } finally {
      operator.close();
      root.close();
    }
  });

  it("a region's calls to the control plane are CLIENT spans the control plane's server spans continue", async () => {
    // A third region bootstrapped from the control plane's export: ListAccounts, then ExportAccount per account.
    const t = await telemetryOf("gatehouse-region-all", "ap-southeast-1", exporter);
    telemetries.push(t);
    const third = await startTestRegion({
      topic: cp.topic,
      controlPlane: cp,
      name: "ap-southeast-1",
      telemetry: t,
      extraEnv: { GATEHOUSE_REGION_BOOTSTRAP: "export" },
    });
    regions.push(third);
    const spans = exporter.getFinishedSpans();
    const clients = spans.filter(
      (s) => s.name === "gatehouse.v1.ControlService/ExportAccount" && regionOf(s) === "ap-southeast-1",
    );
    expect(clients.length).toBeGreaterThan(0);
    for (const client of clients) {
      expect(client.kind).toBe(2); // SpanKind.CLIENT
      const server = spans.find(
        (s) =>
          serviceOf(s) === "gatehouse-control-plane" && s.parentSpanContext?.spanId === client.spanContext().spanId,
      );
      expect(server?.name).toBe("gatehouse.v1.ControlService/ExportAccount");
      expect(server?.spanContext().traceId).toBe(client.spanContext().traceId);
    }
  });

  it("the Prometheus endpoints expose the named series", async () => {
    const operator = controlClient(cp.address, OPERATOR);
    const account = await operator.call("createAccount", { accountAlias: "" });
    const rootCreds = { accessKeyId: account.rootAccessKeyId, secretAccessKey: account.rootSecretAccessKey };
    const east = regions[0] as TestRegion;
    const address = `127.0.0.1:${east.region.decider?.port}`;
    const sts = new StsServiceClient(address, credentials.createInsecure(), {
      interceptors: [createSigningInterceptor({ credentials: rootCreds, authority: address, service: "sts" })],
    });
    const forged = controlClient(cp.address, { accessKeyId: account.rootAccessKeyId, secretAccessKey: "x".repeat(40) });
    try {
      // Decisions (allow and deny), STS issuance, a signature failure at the control plane.
      const accountId = account.accountId as string;
      await expect
        .poll(async () => (await east.status()).accounts.some((a) => a.accountId === accountId), { timeout: 30_000 })
        .toBe(true);
      const rootArn = `arn:aws:iam::${accountId}:root`;
      const allowed = await east.authorize({
        principal: { kind: { $case: "arn", value: rootArn } },
        action: "s3:GetObject",
        resource: `arn:aws:s3:::bucket-${accountId}/k`,
        resourceAccount: accountId,
      });
      expect(allowed.decision).toBeGreaterThan(0);
      const issued = await new Promise<GetSessionTokenResponse>((resolve, reject) =>
        sts.getSessionToken(
          { durationSeconds: 900, serialNumber: "", tokenCode: "" },
          new Metadata(),
          { deadline: Date.now() + 10_000 },
          (e, r) => (e === null ? resolve(r) : reject(e)),
        ),
      );
      expect(issued.credentials?.accessKeyId).toMatch(/^ASIA/);
      await expect(forged.call("listUsers", {})).rejects.toMatchObject({ code: 16 });

      const region = await scrape(regionTelemetry[0] as Telemetry);
      for (const series of [
        /^gatehouse_decisions_total\{[^}]*result="allow"[^}]*region="us-east-1"[^}]*\} [1-9]/m,
        /^gatehouse_authorize_duration_bucket\{[^}]*region="us-east-1"/m,
        /^gatehouse_authorize_duration_count\{[^}]*\} [1-9]/m,
        /^gatehouse_l1_hit_ratio\{[^}]*region="us-east-1"[^}]*\} [0-9.]+/m,
        /^gatehouse_region_staleness\{[^}]*region="us-east-1"[^}]*\} [0-9.]+/m,
        /^gatehouse_consumer_lag\{[^}]*partition="\d+"[^}]*\} \d+/m,
        /^gatehouse_sts_issued_total\{[^}]*operation="GetSessionToken"[^}]*\} 1/m,
      ]) {
        expect(region, String(series)).toMatch(series);
      }
      const control = await scrape(cpTelemetry);
      expect(control).toMatch(/^gatehouse_outbox_backlog\{[^}]*\} \d+/m);
      const failures = /^gatehouse_signature_failures_total\{([^}]*)\} ([0-9]+)/m.exec(control);
      expect(failures?.[1]).toContain('error="SignatureDoesNotMatch"');
      expect(failures?.[1]).toContain('service="control-plane"');
      expect(Number(failures?.[2])).toBeGreaterThan(0);
      // The wrong path is refused, so only /metrics answers.
      expect((await fetch(`http://127.0.0.1:${cpTelemetry.prometheusPort}/`)).status).toBe(404);
    } finally {
      sts.close();
      forged.close();
      operator.close();
    }
  });
});
