// The raw generator's framing and parsing against real servers: grpc-js (as the decider and the
// no-op server answer) and node:http2 (to make the answers grpc-js never makes).
import { createServer, type Http2Server, type ServerHttp2Session } from "node:http2";
import type { AddressInfo } from "node:net";
import { Server, ServerCredentials, type ServiceDefinition, status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { grpcFrame } from "./h2-load.ts";
import { Outcome, RawH2Client, requestTemplate } from "./raw-h2.ts";
import { runRawLoad } from "./raw-h2-load.ts";

const identity = (b: Buffer) => b;
const method = (path: string) => ({
  path,
  requestStream: false,
  responseStream: false,
  requestSerialize: identity,
  requestDeserialize: identity,
  responseSerialize: identity,
  responseDeserialize: identity,
});
const definition: ServiceDefinition = {
  echo: method("/t.T/Echo"),
  fail: method("/t.T/Fail"),
};

let grpc: Server;
let grpcAddress = "";
const seen: Buffer[] = [];

beforeAll(async () => {
  grpc = new Server();
  grpc.addService(definition, {
    echo: (call: { request: Buffer }, cb: (e: null, r: Buffer) => void) => {
      seen.push(call.request);
      cb(null, Buffer.concat([Buffer.from("echo:"), call.request]));
    },
    fail: (_call: unknown, cb: (e: { code: number; details: string }) => void) =>
      cb({ code: status.PERMISSION_DENIED, details: "no" }),
  });
  const port = await new Promise<number>((ok, ko) =>
    grpc.bindAsync("127.0.0.1:0", ServerCredentials.createInsecure(), (e, p) => (e === null ? ok(p) : ko(e))),
  );
  grpcAddress = `127.0.0.1:${port}`;
});
afterAll(() => grpc.forceShutdown());

/** Makes `n` calls (template i % templates) on one connection; resolves with each call's outcome. */
async function calls(
  address: string,
  templates: Buffer[],
  n: number,
  options: { receiveWindow?: number } = {},
): Promise<{ outcomes: number[]; client: RawH2Client }> {
  const outcomes: number[] = new Array(n).fill(99);
  let left = n;
  let done: () => void = () => {};
  const all = new Promise<void>((r) => {
    done = r;
  });
  const client = new RawH2Client(address, templates, {
    capacity: n,
    ...options,
    onDone: (call, outcome) => {
      outcomes[call] = outcome;
      if (--left === 0) done();
    },
  });
  await new Promise<void>((r) => client.socket.once("connect", () => r()));
  for (let i = 0; i < n; i++) client.send(i, i % templates.length);
  await Promise.race([all, new Promise((r) => setTimeout(r, 5000))]);
  client.close();
  return { outcomes, client };
}

describe("raw HTTP/2 generator", () => {
  it("makes unary calls a grpc-js server answers with grpc-status 0, each request its own bytes", async () => {
    seen.length = 0;
    const messages = [Buffer.from("first"), Buffer.from("second request"), Buffer.alloc(3000, 7)];
    const templates = messages.map((m) => requestTemplate(grpcAddress, "/t.T/Echo", grpcFrame(m)));
    const { outcomes, client } = await calls(grpcAddress, templates, 300);
    expect(outcomes.every((o) => o === Outcome.ok)).toBe(true);
    expect(seen.length).toBe(300);
    for (let i = 0; i < 300; i++) expect(seen[i]?.equals(messages[i % 3] as Buffer)).toBe(true);
    // From the second call on, trailers are indexed fields: answered without hpack.js.
    expect(client.decoded.remembered).toBeGreaterThan(250);
  });

  it("reports a grpc-js error status, and a path the server does not serve", async () => {
    const templates = [
      requestTemplate(grpcAddress, "/t.T/Fail", grpcFrame(Buffer.from("x"))),
      requestTemplate(grpcAddress, "/t.T/Missing", grpcFrame(Buffer.from("x"))),
      requestTemplate(grpcAddress, "/t.T/Echo", grpcFrame(Buffer.from("x"))),
    ];
    const { outcomes } = await calls(grpcAddress, templates, 30);
    for (let i = 0; i < 30; i += 3) {
      expect(outcomes[i]).toBe(status.PERMISSION_DENIED);
      expect(outcomes[i + 1]).toBe(status.UNIMPLEMENTED);
      expect(outcomes[i + 2]).toBe(Outcome.ok);
    }
  });

  describe("answers grpc-js does not make (node:http2 server)", () => {
    let h2: Http2Server;
    let address = "";
    const sessions: ServerHttp2Session[] = [];
    let pings = 0;
    beforeAll(async () => {
      h2 = createServer();
      h2.on("session", (s) => {
        sessions.push(s);
      });
      h2.on("stream", (stream, headers) => {
        const path = headers[":path"];
        stream.on("error", () => {});
        stream.on("data", () => {});
        stream.on("end", () => {
          if (path === "/big") {
            // 64 KiB per answer: many of them need the connection window replenished.
            stream.respond({ ":status": 200, "content-type": "application/grpc" }, { waitForTrailers: true });
            stream.on("wantTrailers", () => stream.sendTrailers({ "grpc-status": "0" }));
            stream.end(grpcFrame(Buffer.alloc(65_536, 1)));
          } else if (path === "/empty") {
            stream.respond(
              { ":status": 200, "content-type": "application/grpc", "grpc-status": "0" },
              { endStream: true },
            );
          } else if (path === "/unavailable") {
            stream.respond({ ":status": 503 }, { endStream: true });
          } else if (path === "/reset") {
            stream.close(2);
          } else if (path === "/ping") {
            stream.session?.ping(() => {
              pings++;
              stream.respond({ ":status": 200, "content-type": "application/grpc" }, { waitForTrailers: true });
              stream.on("wantTrailers", () => stream.sendTrailers({ "grpc-status": "0" }));
              stream.end(grpcFrame(Buffer.from("pong")));
            });
          } else if (path === "/goaway") {
            stream.session?.goaway(0, stream.id);
            stream.respond({ ":status": 200, "content-type": "application/grpc" }, { waitForTrailers: true });
            stream.on("wantTrailers", () => stream.sendTrailers({ "grpc-status": "0" }));
            stream.end(grpcFrame(Buffer.from("bye")));
          }
        });
      });
      await new Promise<void>((r) => h2.listen(0, "127.0.0.1", () => r()));
      address = `127.0.0.1:${(h2.address() as AddressInfo).port}`;
    });
    afterAll(async () => {
      for (const s of sessions) s.destroy();
      await new Promise((r) => h2.close(r));
    });
    const template = (path: string) => requestTemplate(address, path, grpcFrame(Buffer.from("q")));

    it("keeps the connection window open for large answers", async () => {
      const { outcomes } = await calls(address, [template("/big")], 64, { receiveWindow: 256 * 1024 });
      expect(outcomes.filter((o) => o === Outcome.ok).length).toBe(64);
    });

    it("fails calls with no message, an HTTP error or a reset stream, and answers PINGs", async () => {
      const { outcomes } = await calls(
        address,
        [template("/empty"), template("/unavailable"), template("/reset"), template("/ping")],
        8,
      );
      expect(outcomes).toEqual([
        Outcome.noMessage,
        Outcome.httpStatus,
        Outcome.reset,
        Outcome.ok,
        Outcome.noMessage,
        Outcome.httpStatus,
        Outcome.reset,
        Outcome.ok,
      ]);
      expect(pings).toBe(2);
    });

    it("honours GOAWAY: the streams it lets finish end, no new one starts", async () => {
      const outcomes: number[] = [];
      const client = new RawH2Client(address, [template("/goaway")], {
        capacity: 4,
        onDone: (call, outcome) => {
          outcomes[call] = outcome;
        },
      });
      await new Promise<void>((r) => client.socket.once("connect", () => r()));
      client.send(0, 0);
      await new Promise((r) => setTimeout(r, 300));
      client.send(1, 0);
      await new Promise((r) => setTimeout(r, 100));
      client.close();
      expect(outcomes).toEqual([Outcome.ok, Outcome.connection]);
      expect(client.failure).toMatch(/GOAWAY/);
    });
  });

  it("runs a paced open loop from a worker thread, every answer checked", async () => {
    const frames = [grpcFrame(Buffer.from("a")), grpcFrame(Buffer.from("bb"))];
    const r = await runRawLoad({
      address: grpcAddress,
      path: "/t.T/Echo",
      frames,
      mode: { kind: "open", rate: 2000 },
      warmupSeconds: 0.25,
      seconds: 1,
      connections: 1,
    });
    expect(r.errors).toBe(0);
    expect(r.completed).toBe(2000);
    expect(r.latenciesUs.length).toBe(2000);
    // The timed window is the measured calls' second (first measured send to last send), and the
    // thread watched itself over it. Wide bounds: a loaded host (the test suite on 2 cores) can
    // stall the thread for a few hundred ms at either end; a window missing or adding a whole
    // phase is still caught.
    expect(r.seconds).toBeGreaterThan(0.5);
    expect(r.seconds).toBeLessThan(3);
    expect(r.stalls.allocated_bytes).toBeGreaterThan(0);
    // Sent when due: under a millisecond late at the median, unless the host kept the thread
    // from running (then its own wake-ups were late too: up to 7 ms at the median seen at load
    // average 24 on 2 cores); a generator sleeping 20 ms at a time is ~11 ms late.
    expect(r.pacing?.send_lag_p50_ms).toBeLessThan(1 + r.stalls.loop_delay_p99_ms);
    const failing = await runRawLoad({
      address: grpcAddress,
      path: "/t.T/Fail",
      frames,
      mode: { kind: "open", rate: 500 },
      warmupSeconds: 0,
      seconds: 0.2,
      connections: 1,
    });
    expect(failing.completed).toBe(0);
    expect(failing.errors).toBe(100);
    expect(failing.firstError).toMatch(/grpc-status 7/);
    // No warm-up: the window starts with the first call.
    expect(failing.seconds).toBeGreaterThan(0.1);
    expect(failing.seconds).toBeLessThan(2);
  });
});
