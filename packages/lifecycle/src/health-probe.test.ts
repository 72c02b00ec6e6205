// The container health check, run as Docker runs it: a child process against a real gRPC server.
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { Server, ServerCredentials } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createHealth } from "./health.ts";

const script = fileURLToPath(new URL("./health-probe.ts", import.meta.url));
const quiet = { info() {}, warn() {} };

function probe(...args: string[]): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [script, ...args], { timeout: 30_000 }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === "number" ? error.code : -1;
      resolve({ code, out: `${stdout}${stderr}` });
    });
  });
}

describe("health-probe (the Docker HEALTHCHECK)", () => {
  const server = new Server();
  let port = 0;
  beforeAll(async () => {
    const health = createHealth({
      readiness: {
        "test.Ready": async () => ({ ready: true }),
        "test.Unready": async () => ({ ready: false, reason: "dependency down" }),
      },
      intervalMs: 50,
      logger: quiet,
    });
    health.addToServer(server);
    port = await new Promise<number>((resolve, reject) =>
      server.bindAsync("127.0.0.1:0", ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))),
    );
    health.start();
    await new Promise((r) => setTimeout(r, 200));
  });
  afterAll(() => new Promise<void>((resolve) => server.tryShutdown(() => resolve())));

  it("exits 0 for liveness and a ready name, probing 0.0.0.0 on the loopback", async () => {
    expect(await probe(`127.0.0.1:${port}`)).toMatchObject({ code: 0 });
    const ready = await probe(`0.0.0.0:${port}`, "test.Ready");
    expect(ready.code).toBe(0);
    expect(ready.out).toContain("SERVING");
  }, 60_000);

  it("exits 1 for NOT_SERVING, an unknown name and nothing listening", async () => {
    const unready = await probe(`127.0.0.1:${port}`, "test.Unready");
    expect(unready).toMatchObject({ code: 1 });
    expect(unready.out).toContain("NOT_SERVING");
    expect((await probe(`127.0.0.1:${port}`, "test.Nobody")).code).toBe(1);
    expect((await probe("127.0.0.1:1", "", "--timeout-ms", "500")).code).toBe(1);
  }, 60_000);

  it("exits 2 with the usage for a malformed address", async () => {
    const bad = await probe("localhost");
    expect(bad.code).toBe(2);
    expect(bad.out).toContain("usage:");
  }, 30_000);
});
