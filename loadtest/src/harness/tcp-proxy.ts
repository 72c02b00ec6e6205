/**
 * A TCP proxy on loopback that the fault drills control: it forwards every connection to one
 * upstream address and can cut the link (a partition: nothing passes either way, connections
 * stay open, as with a pulled cable; new connections are accepted and held) and add latency
 * (each chunk is delivered `latencyMs` after it arrived, in each direction, order kept).
 */
import { connect, createServer, type Server, type Socket } from "node:net";

/** A proxy's controls. */
export interface TcpProxy {
  readonly port: number;
  /** Stops all traffic until {@link restore} (connections stay open, data is held). */
  cut(): void;
  /** Lets traffic through again; what was held goes on, in order. */
  restore(): void;
  /** Delay added to every chunk, in each direction (0: none). */
  setLatency(ms: number): void;
  readonly stats: { connections: number; bytes: number };
  close(): Promise<void>;
}

/** One direction of a proxied connection: chunks queued while cut or until their delivery time. */
class Pipe {
  private readonly queue: { at: number; chunk: Buffer }[] = [];
  private timer: NodeJS.Timeout | undefined;
  private readonly to: Socket;
  private readonly proxy: { cutOff: boolean; latencyMs: number; stats: { bytes: number } };
  constructor(to: Socket, proxy: { cutOff: boolean; latencyMs: number; stats: { bytes: number } }) {
    this.to = to;
    this.proxy = proxy;
  }
  push(chunk: Buffer): void {
    this.queue.push({ at: Date.now() + this.proxy.latencyMs, chunk });
    this.flush();
  }
  flush(): void {
    if (this.timer !== undefined) return;
    while (!this.proxy.cutOff && this.queue.length > 0) {
      const head = this.queue[0] as { at: number; chunk: Buffer };
      const wait = head.at - Date.now();
      if (wait > 0) {
        this.timer = setTimeout(() => {
          this.timer = undefined;
          this.flush();
        }, wait);
        return;
      }
      this.queue.shift();
      this.proxy.stats.bytes += head.chunk.length;
      if (!this.to.destroyed) this.to.write(head.chunk);
    }
  }
  clear(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.queue.length = 0;
  }
}

/** Starts a proxy on `127.0.0.1:port` (0: any free port) forwarding to `upstream` (`host:port`). */
export async function startTcpProxy(port: number, upstream: string): Promise<TcpProxy> {
  const [host, upstreamPort] = upstream.split(/:(?=\d+$)/) as [string, string];
  const state = { cutOff: false, latencyMs: 0, stats: { connections: 0, bytes: 0 } };
  const pipes = new Set<Pipe>();
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    state.stats.connections++;
    const server = connect({ host, port: Number(upstreamPort) });
    const up = new Pipe(server, state);
    const down = new Pipe(client, state);
    pipes.add(up).add(down);
    sockets.add(client).add(server);
    client.on("data", (b: Buffer) => up.push(b));
    server.on("data", (b: Buffer) => down.push(b));
    const end = () => {
      up.clear();
      down.clear();
      pipes.delete(up);
      pipes.delete(down);
      sockets.delete(client);
      sockets.delete(server);
      client.destroy();
      server.destroy();
    };
    client.on("close", end).on("error", end);
    server.on("close", end).on("error", end);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => resolve());
  });
  const bound = (server.address() as { port: number }).port;
  return {
    port: bound,
    stats: state.stats,
    cut() {
      state.cutOff = true;
    },
    restore() {
      state.cutOff = false;
      for (const p of pipes) p.flush();
    },
    setLatency(ms: number) {
      state.latencyMs = ms;
    },
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
