import { fork } from "node:child_process";
import { once } from "node:events";
import { connect, createServer, type ServerHttp2Stream } from "node:http2";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { http2StreamRetention, limitHttp2StreamRetention, RENEW_EVERY_STREAMS } from "./http2-stream-retention.ts";

const CHILD = join(import.meta.dirname, "http2-stream-retention.test-child.ts");

/** `n` calls to `origin`, `inFlight` at a time; resolves with their statuses. */
async function calls(client: ReturnType<typeof connect>, n: number, inFlight: number, path = "/"): Promise<number[]> {
  const statuses: number[] = [];
  let started = 0;
  const one = async (): Promise<void> => {
    while (started++ < n) {
      const request = client.request({ ":path": path }, { endStream: true });
      request.on("response", (headers) => statuses.push(Number(headers[":status"])));
      request.resume();
      await once(request, "close");
    }
  };
  await Promise.all(Array.from({ length: inFlight }, one));
  return statuses;
}

/** Per round of 500 calls, the bytes of finished calls a server child's young collections kept. */
async function promotedPerRound(mode: "limited" | "stock"): Promise<{ promoted: number[]; renewals: number }> {
  const child = fork(CHILD, [mode], { execArgv: ["--expose-gc"], stdio: ["ignore", "inherit", "inherit", "ipc"] });
  const next = async () => (await once(child, "message"))[0] as Record<string, unknown>;
  try {
    const ready = await next();
    const client = connect(`http://127.0.0.1:${ready.port}`);
    try {
      await calls(client, 200, 4);
      child.send({ type: "full-gc" });
      await next();
      const promoted: number[] = [];
      let renewals = 0;
      for (let round = 0; round < 4; round++) {
        await calls(client, 500, 4);
        child.send({ type: "measure" });
        const measured = await next();
        promoted.push(measured.promoted as number);
        renewals = (measured.retention as { renewals: number }).renewals;
      }
      child.send({ type: "stop" });
      return { promoted, renewals };
    } finally {
      client.close();
    }
  } finally {
    if (child.exitCode === null) child.kill();
  }
}

const median = (xs: readonly number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

describe("limitHttp2StreamRetention", () => {
  it("keeps finished calls' state from surviving young collections (it does without)", async () => {
    const stock = await promotedPerRound("stock");
    const limited = await promotedPerRound("limited");
    // 500 calls × ~8 KB: without the limits, node:http2 keeps nearly all of it past two scavenges.
    expect(median(stock.promoted)).toBeGreaterThan(2_500_000);
    expect(median(limited.promoted)).toBeLessThan(median(stock.promoted) / 4);
    expect(limited.renewals).toBeGreaterThanOrEqual(Math.floor(2200 / RENEW_EVERY_STREAMS));
  }, 60_000);

  it("renews a session's stream table without losing a stream: calls across renewals, and a session destroyed mid-call", async () => {
    expect(limitHttp2StreamRetention().active).toBe(true);
    const before = http2StreamRetention().renewals;
    const hanging: ServerHttp2Stream[] = [];
    const server = createServer();
    server.on("stream", (stream, headers) => {
      stream.resume();
      if (headers[":path"] === "/hang") hanging.push(stream);
      else stream.respond({ ":status": 200 }, { endStream: true });
    });
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    const client = connect(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    try {
      const statuses = await calls(client, 5 * RENEW_EVERY_STREAMS, 16);
      expect(statuses).toHaveLength(5 * RENEW_EVERY_STREAMS);
      expect(statuses.every((s) => s === 200)).toBe(true);
      expect(http2StreamRetention().renewals - before).toBeGreaterThanOrEqual(2 * 4);

      // Streams open across more renewals, then the server's session destroyed: each is closed.
      const pending = Array.from({ length: RENEW_EVERY_STREAMS + 5 }, () => {
        const request = client.request({ ":path": "/hang" }, { endStream: true });
        request.on("error", () => {});
        return once(request, "close");
      });
      while (hanging.length < RENEW_EVERY_STREAMS + 5) await new Promise((r) => setTimeout(r, 5));
      const closed = hanging.map((s) => once(s, "close"));
      hanging[0]?.session?.destroy();
      await Promise.all([...closed, ...pending]);
      expect(hanging.every((s) => s.destroyed)).toBe(true);
    } finally {
      client.close();
      server.close();
    }
  }, 30_000);
});
