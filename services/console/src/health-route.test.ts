// The gateway's HTTP health routes against a real grpc.health.v1 server standing in for the
// control plane's (the same `createHealth` the control plane serves), on ephemeral ports.
import { createHealth, type ProbeResult } from "@gatehouse/lifecycle";
import { Server, ServerCredentials } from "@grpc/grpc-js";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConsoleConfig } from "./config.ts";
import { type ConsoleGateway, startConsoleGateway } from "./gateway.ts";
import { probeConsoleHealth } from "./health-probe.ts";

const logger = pino({ level: "silent" });
let ready: ProbeResult = { ready: true };
const health = createHealth({
  readiness: { "gatehouse.v1.ControlService": async () => ready },
  intervalMs: 20,
  logger,
});
const server = new Server();
let gateway: ConsoleGateway;

const until = async (f: () => Promise<boolean>) => {
  const end = Date.now() + 5000;
  while (!(await f())) {
    if (Date.now() > end) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 25));
  }
};
const status = async (path: string) => (await fetch(`${gateway.url}${path}`)).status;

beforeAll(async () => {
  health.addToServer(server);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))),
  );
  health.start();
  gateway = await startConsoleGateway({
    config: loadConsoleConfig({
      GATEHOUSE_CONSOLE_LISTEN: "127.0.0.1:0",
      GATEHOUSE_CONSOLE_CONTROL_PLANE: `127.0.0.1:${port}`,
    }),
    logger,
  });
});
afterAll(async () => {
  await gateway?.close();
  health.shutdown();
  server.forceShutdown();
});

describe("GET /healthz and /livez", () => {
  it("/healthz is 200 while the control plane's readiness is SERVING, 503 with the reason when not", async () => {
    await until(async () => (await status("/healthz")) === 200);
    const ok = await fetch(`${gateway.url}/healthz`);
    expect(ok.headers.get("cache-control")).toBe("no-store");
    expect(await ok.json()).toEqual({ status: "ok", controlPlane: "SERVING" });
    expect(await probeConsoleHealth(`${gateway.url}/healthz`, 2000)).toMatchObject({ code: 0 });

    ready = { ready: false, reason: "postgres down" };
    await until(async () => (await status("/healthz")) === 503);
    const down = await fetch(`${gateway.url}/healthz`);
    expect(await down.json()).toEqual({ status: "unavailable", controlPlane: "NOT_SERVING" });
    expect(await probeConsoleHealth(`${gateway.url}/healthz`, 2000)).toMatchObject({ code: 1 });
    // Liveness does not follow the control plane: restarting would sign everyone out for nothing.
    expect(await status("/livez")).toBe(200);
    ready = { ready: true };
    await until(async () => (await status("/healthz")) === 200);
  });

  it("/healthz is 503 when the control plane does not answer at all; HEAD works too", async () => {
    server.forceShutdown();
    await until(async () => (await status("/healthz")) === 503);
    const down = (await (await fetch(`${gateway.url}/healthz`)).json()) as { status: string; controlPlane: string };
    expect(down.status).toBe("unavailable");
    expect(down.controlPlane).toBe("UNREACHABLE");
    expect((await fetch(`${gateway.url}/livez`, { method: "HEAD" })).status).toBe(200);
    expect(await probeConsoleHealth("http://127.0.0.1:1/healthz", 1000)).toMatchObject({ code: 1 });
  });
});
