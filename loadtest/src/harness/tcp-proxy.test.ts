// The drills' TCP proxy over real loopback sockets: it forwards both ways, a cut holds every byte
// (on open connections and on new ones) until restored, and latency delays each chunk.
import { once } from "node:events";
import { connect, createServer, type Socket } from "node:net";
import { afterEach, expect, test } from "vitest";
import { startTcpProxy, type TcpProxy } from "./tcp-proxy.ts";

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of closers.splice(0)) await c();
});

/** An echo server and a proxy in front of it. */
async function setup(): Promise<TcpProxy> {
  const sockets = new Set<Socket>();
  const echo = createServer((s) => {
    sockets.add(s);
    s.on("data", (b) => s.write(b));
    s.on("error", () => {});
  });
  echo.listen(0, "127.0.0.1");
  await once(echo, "listening");
  const proxy = await startTcpProxy(0, `127.0.0.1:${(echo.address() as { port: number }).port}`);
  closers.push(async () => {
    await proxy.close();
    for (const s of sockets) s.destroy();
    await new Promise((r) => echo.close(r));
  });
  return proxy;
}

async function client(port: number) {
  const s = connect({ host: "127.0.0.1", port });
  await once(s, "connect");
  let received = "";
  s.on("data", (b: Buffer) => {
    received += b.toString();
  });
  closers.push(async () => void s.destroy());
  return { send: (t: string) => s.write(t), received: () => received };
}

const until = async (f: () => boolean, ms = 2000) => {
  const end = Date.now() + ms;
  while (!f() && Date.now() < end) await new Promise((r) => setTimeout(r, 5));
  return f();
};

test("forwards both ways", async () => {
  const proxy = await setup();
  const c = await client(proxy.port);
  c.send("hello");
  expect(await until(() => c.received() === "hello")).toBe(true);
});

test("a cut holds all traffic, on open and new connections, until restored", async () => {
  const proxy = await setup();
  const open = await client(proxy.port);
  proxy.cut();
  open.send("during");
  const late = await client(proxy.port);
  late.send("new");
  await new Promise((r) => setTimeout(r, 300));
  expect(open.received()).toBe("");
  expect(late.received()).toBe("");
  proxy.restore();
  expect(await until(() => open.received() === "during" && late.received() === "new")).toBe(true);
});

test("latency delays every chunk in each direction, in order", async () => {
  const proxy = await setup();
  const c = await client(proxy.port);
  proxy.setLatency(100);
  const t = performance.now();
  c.send("a");
  c.send("b");
  expect(await until(() => c.received() === "ab")).toBe(true);
  // Out and back: two delays.
  expect(performance.now() - t).toBeGreaterThanOrEqual(195);
});
