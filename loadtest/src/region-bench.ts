/**
 * `npm run bench:region`: one region's decider on loopback, warm cache, against the transport's own
 * limit on this machine. Prints a table and writes `loadtest/results/region-bench.json`.
 *
 * The processes, all real: this process runs the control plane (Postgres, outbox relay to Kafka,
 * in a throw-away schema and topic) and orchestrates; the applier and ONE decider are child
 * processes (`region-bench/region-child.ts`, the region's own `startRegion`) over the local Redis
 * of us-east-1 under a throw-away key prefix; the no-op baseline is another child
 * (`region-bench/noop-server.ts`). The load comes from worker threads of this process sending
 * requests serialized and framed ahead of time over node:http2 (`region-bench/h2-load.ts`), as
 * h2load would: a grpc-js client tops out near 9,000 calls/s on this machine, below what the
 * servers answer.
 *
 * Sections, in order (each adds figures to the flat JSON and rows to the table; the STS figures
 * are meant to come as further entries of `sections`):
 *  - cache: every principal asked once (compiled into the L1); heap bytes per cached principal
 *    from the decider's heap after full GCs, before and after.
 *  - authorize: closed loop at saturation, decider and no-op alternately (`--rounds`), then an
 *    open loop (coordinated omission corrected, HDR histogram) at half the decider's saturation
 *    rate (or `--rate`) against both.
 *  - batch: BatchAuthorize of 1,000 checks, closed loop.
 *  - sts: issue 14's figures from `bench:sts` (`services/region/src/bench/sts-bench.ts`, run as a
 *    child process): AssumeRole/s and session-credential verifications/s in one region process,
 *    in process without gRPC (its own Redis key prefix); what each figure includes is in that file.
 *  - telemetry: Authorize at saturation on three fresh deciders, telemetry off, on (metrics, 1% of
 *    calls traced) and on with every call traced, interleaved round by round (issue 17).
 *  - visible: writes through the control plane at `--visible-rate` per second (open loop), each
 *    followed, once its commit response arrives, by an Authorize with `min_revision` = the
 *    write's revision; the time from the commit response to that answer. `min_revision` waits
 *    on the region's applied-revision notification (no polling), so this is when the region
 *    first answers at the new revision. Each answer's decision is checked against the write.
 * The L1 hit ratio is the decider's own count (GetRegionStatus) over the authorize and batch
 * sections.
 *
 * Flags: --accounts=8 --users=250 --seconds=8 --warmup=2 --rounds=2 --concurrency=64
 * --connections=2 --clients=2 --rate=<offered Authorize/s; default half the saturation>
 * --visible-rate=200 --visible-seconds=10 --batch-concurrency=2 --cpu-prof (the decider records a
 * V8 CPU profile of each saturation round and of the batch section, in
 * loadtest/results/profiles/) --only=authorize,batch,visible,telemetry --decider-node-options="--max-semi-space-size=32"
 * (V8 flags for the decider process)
 */

import { type ChildProcess, fork, spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { cpus as hostCpus } from "node:os";
import { join, resolve } from "node:path";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { parseArgs, parseEnv } from "node:util";
import { deleteTopic } from "@gatehouse/bus-kafka";
import { loadControlPlaneConfig, startControlPlane } from "@gatehouse/control-plane";
import {
  AuthorizeRequest,
  AuthorizeResponse,
  AuthorizerServiceClient,
  AuthorizerServiceService,
  BatchAuthorizePrincipalRequest,
  BatchAuthorizeRequest,
  type BatchAuthorizeResponse,
  Decision,
  type GetRegionStatusRequest,
  type GetRegionStatusResponse,
} from "@gatehouse/proto";
import { credentials, Metadata, type ServiceError } from "@grpc/grpc-js";
import * as hdr from "hdr-histogram-js";
import { Redis } from "ioredis";
import pg from "pg";
import { pino } from "pino";
import {
  authorizeRequest,
  type BenchAccount,
  type Creds,
  controlClient,
  createDataset,
  principalsOf,
  seeded,
} from "./region-bench/dataset.ts";
import { grpcFrame, type LoadResult, type LoadRun, runLoad } from "./region-bench/h2-load.ts";
import { h2loadAvailable, runH2load } from "./region-bench/h2load-open.ts";
import { type HostLoad, watchHost } from "./region-bench/host-load.ts";
import type { ProcessStalls } from "./region-bench/process-watch.ts";
import { runRawLoad } from "./region-bench/raw-h2-load.ts";
import type { FromRegionChild, ToRegionChild } from "./region-bench/region-child.ts";
import { runVisible } from "./region-bench/visible-load.ts";

const { values: flags } = parseArgs({
  options: {
    accounts: { type: "string", default: "8" },
    users: { type: "string", default: "250" },
    seconds: { type: "string", default: "8" },
    warmup: { type: "string", default: "2" },
    rounds: { type: "string", default: "2" },
    concurrency: { type: "string", default: "64" },
    connections: { type: "string", default: "2" },
    clients: { type: "string", default: "2" },
    rate: { type: "string" },
    "visible-rate": { type: "string", default: "200" },
    "visible-seconds": { type: "string", default: "10" },
    "batch-concurrency": { type: "string", default: "2" },
    "batch-requests": { type: "string", default: "20" },
    "open-rounds": { type: "string", default: "3" },
    "open-generator": { type: "string", default: "raw" },
    "raw-connections": { type: "string", default: "1" },
    "cpu-prof": { type: "boolean", default: false },
    "heap-prof": { type: "boolean", default: false },
    only: { type: "string", default: "authorize,batch,batch-principal,visible,sts,telemetry" },
    "decider-node-options": { type: "string", default: "" },
    "server-node-options": { type: "string", default: "" },
    pin: { type: "string" },
    "h2load-connections": { type: "string", default: "1" },
    "tail-variants": { type: "string", default: "default,pinned,single-threaded-gc,semi-space-64" },
    "tail-rounds": { type: "string", default: "3" },
    "tail-generator": { type: "string", default: "raw" },
  },
});
const num = (name: keyof typeof flags): number => {
  const v = Number(flags[name]);
  if (!Number.isFinite(v) || v <= 0) throw new Error(`--${name}=${String(flags[name])}: must be a positive number`);
  return v;
};
const only = new Set((flags.only ?? "").split(","));

/**
 * `--pin=SERVER/GENERATOR` (taskset CPU lists, e.g. `1/0`): the decider(s) and the no-op server on
 * SERVER's CPUs, this process (the control plane, the load-generator threads, h2load) on
 * GENERATOR's, every thread of each (`taskset -a`); the applier and the infrastructure unpinned.
 */
const pin = (() => {
  if (flags.pin === undefined) return undefined;
  const m = /^([0-9,-]+)\/([0-9,-]+)$/.exec(flags.pin);
  if (m === null) throw new Error(`--pin=${flags.pin}: expected SERVER_CPUS/GENERATOR_CPUS, e.g. 1/0`);
  if (spawnSync("taskset", ["--version"], { stdio: "ignore" }).status !== 0) {
    throw new Error("--pin needs taskset (util-linux)");
  }
  return { server: m[1] as string, generator: m[2] as string };
})();
/** Sets the CPU affinity of every thread of process `pid` (threads it starts later inherit it). */
function pinProcess(pid: number | undefined, cpus: string): void {
  const r = spawnSync("taskset", ["-a", "-p", "-c", cpus, String(pid)], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`taskset -a -p -c ${cpus} ${pid}: ${r.stderr}`);
}
/** The servers' V8 flags: `--server-node-options` for both servers, `--decider-node-options` for the decider(s) only. */
const split = (o: string | undefined) => (o ?? "").split(" ").filter((x) => x !== "");
const serverOptions = split(flags["server-node-options"]);

const root = resolve(import.meta.dirname, "../..");
const resultsDir = join(root, "loadtest/results");
// The local infrastructure: .gatehouse/infra.env (written by deploy/local/infra.sh), else the defaults.
const infraFile = join(root, ".gatehouse/infra.env");
const infra = existsSync(infraFile) ? parseEnv(readFileSync(infraFile, "utf8")) : {};
const pgUrl = infra.GATEHOUSE_PG_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
const brokers = infra.GATEHOUSE_KAFKA_BROKERS ?? "127.0.0.1:9092";
const redisUrl = /(?:^|,)us-east-1=([^,]+)/.exec(infra.GATEHOUSE_REDIS_URLS ?? "")?.[1] ?? "redis://127.0.0.1:6380";
const AUTHORIZE_PATH = AuthorizerServiceService.authorize.path;
const BATCH_PATH = AuthorizerServiceService.batchAuthorize.path;
const BATCH_PRINCIPAL_PATH = AuthorizerServiceService.batchAuthorizePrincipal.path;
const NOOP_PATH = "/gatehouse.bench.Noop/Call";
const BATCH_SIZE = 1000;

/** One row of the printed table. */
type Row = readonly [figure: string, value: string, note: string];

/** What the sections share: the running processes and the dataset. */
interface BenchContext {
  readonly decider: string;
  readonly noop: string;
  readonly controlPlane: string;
  readonly accounts: readonly BenchAccount[];
  readonly principals: ReturnType<typeof principalsOf>;
  readonly authorizer: AuthorizerServiceClient;
  status(): Promise<GetRegionStatusResponse>;
  /** The decider's heap after full garbage collections. */
  deciderHeap(): Promise<number>;
  /**
   * Commit → published (the relay's acknowledged send) latencies, ms, while `fn` runs, and when
   * (epoch ms) each account revision was published.
   */
  published<T>(fn: () => Promise<T>): Promise<{ value: T; latenciesMs: number[]; at: Map<string, number> }>;
  /** Runs `fn` and returns its result with the CPU µs the decider (or the no-op server) used meanwhile. */
  cpuOf<T>(server: "decider" | "noop", fn: () => Promise<T>): Promise<{ value: T; cpuMicros: number }>;
  /** Runs `fn` while the decider (or the no-op server) watches its own stalls (event-loop delay, GC pauses). */
  watched<T>(
    server: "decider" | "noop" | "canary" | ChildProcess,
    fn: () => Promise<T>,
  ): Promise<{ value: T; stalls: ProcessStalls }>;
  /** Runs `fn` while the decider records a sampling heap profile into `file`. */
  heapSampled<T>(file: string, fn: () => Promise<T>): Promise<T>;
  /** Runs `fn` while the decider records a CPU profile named after `name` (with --cpu-prof). */
  profiled<T>(name: string, fn: () => Promise<T>): Promise<T>;
  /**
   * Starts one more decider child over the same view with `env` added (the telemetry and tail
   * sections). It is stopped when the section that started it ends.
   */
  spawnDecider(
    env: Readonly<Record<string, string>>,
    nodeOptions?: readonly string[],
  ): Promise<{ address: string; process: ChildProcess; cpuMicros(): Promise<number> }>;
  /** Starts one more no-op server with these V8 flags (the tail section); stopped like spawnDecider's. */
  spawnNoop(nodeOptions: readonly string[]): Promise<{ address: string; process: ChildProcess }>;
}

/** A part of the bench: its figures (flat in the JSON), its rows, its details. */
interface SectionResult {
  readonly figures: Readonly<Record<string, number>>;
  readonly rows: readonly Row[];
  readonly detail: object;
}
interface Section {
  readonly name: string;
  run(ctx: BenchContext): Promise<SectionResult>;
}

const ms = (us: number) => Number((us / 1000).toFixed(3));
const describeHost = (h: HostLoad) => `load ${h.load_1m}, CPUs busy ${h.busy_pct}%`;
const median = (xs: readonly number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)] ?? 0;
const fmt = (n: number) => n.toLocaleString("en-US", { maximumFractionDigits: 2 });

/** Merges the workers' results: calls/s over the window, and latency percentiles from one HDR histogram. */
function summarize(results: readonly LoadResult[]) {
  const histogram = hdr.build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: 60_000_000,
    numberOfSignificantValueDigits: 3,
  });
  let completed = 0;
  let errors = 0;
  let seconds = 0;
  let cpuMs = 0;
  for (const r of results) {
    completed += r.completed;
    errors += r.errors;
    seconds = Math.max(seconds, r.seconds);
    cpuMs += r.cpuMs;
    for (const us of r.latenciesUs) histogram.recordValue(Math.max(1, Math.round(us)));
  }
  const out = {
    rps: Math.round(completed / seconds),
    completed,
    errors,
    p50_ms: ms(histogram.getValueAtPercentile(50)),
    p99_ms: ms(histogram.getValueAtPercentile(99)),
    p999_ms: ms(histogram.getValueAtPercentile(99.9)),
    max_ms: ms(histogram.maxValue),
    client_cpu_us_per_call: Number(((cpuMs * 1000) / Math.max(1, completed)).toFixed(1)),
    ...(results.find((r) => r.firstError !== undefined)?.firstError === undefined
      ? {}
      : { first_error: results.find((r) => r.firstError !== undefined)?.firstError }),
  };
  histogram.destroy();
  return out;
}

/**
 * The summary plus the server's CPU µs per call: the server process's CPU over the whole run
 * (warm-up included, all its threads) per call completed in it. Less swayed than calls/s by what
 * else runs on this shared machine.
 */
function withServerCpu(results: readonly LoadResult[], cpuMicros: number) {
  const s = summarize(results);
  const calls = results.reduce((a, r) => a + r.completedAll, 0);
  return { ...s, server_cpu_us_per_call: Number((cpuMicros / Math.max(1, calls)).toFixed(1)) };
}

function unary<Req, Res>(
  fn: (r: Req, m: Metadata, o: object, cb: (e: ServiceError | null, v?: Res) => void) => unknown,
) {
  return (r: Req, deadlineMs = 10_000) =>
    new Promise<Res>((res, rej) =>
      fn(r, new Metadata(), { deadline: Date.now() + deadlineMs }, (e, v) => (e === null ? res(v as Res) : rej(e))),
    );
}

/** Every principal once, compiled into the L1; the decider's heap before and after. */
const cacheSection: Section = {
  name: "cache",
  async run(ctx) {
    const before = await ctx.status();
    const heapBefore = await ctx.deciderHeap();
    const frames = ctx.principals.map((p, i) =>
      grpcFrame(AuthorizeRequest.encode(authorizeRequest(p, i * 8)).finish()),
    );
    // Each principal once, 32 at a time, through grpc-js (checked: no errors).
    const authorize = unary<AuthorizeRequest, AuthorizeResponse>(ctx.authorizer.authorize.bind(ctx.authorizer));
    let next = 0;
    await Promise.all(
      Array.from({ length: 32 }, async () => {
        while (next < ctx.principals.length) {
          const i = next++;
          await authorize(AuthorizeRequest.decode((frames[i] as Buffer).subarray(5)));
        }
      }),
    );
    const heapAfter = await ctx.deciderHeap();
    const after = await ctx.status();
    const cached = Number(after.l1Principals) - Number(before.l1Principals);
    const bytes = Math.round((heapAfter - heapBefore) / Math.max(1, cached));
    const estimate = Math.round(Number(after.l1Bytes) / Math.max(1, Number(after.l1Principals)));
    return {
      figures: { bytes_per_principal: bytes },
      rows: [
        ["heap bytes per cached principal", fmt(bytes), `${cached} principals; the L1's own estimate ${fmt(estimate)}`],
      ],
      detail: {
        principals_cached: cached,
        heap_before: heapBefore,
        heap_after: heapAfter,
        l1_estimate_bytes_per_principal: estimate,
      },
    };
  },
};

function requestFrames(ctx: BenchContext, count: number): Buffer[] {
  const random = seeded(13);
  return Array.from({ length: count }, (_, n) => {
    const p = ctx.principals[Math.floor(random() * ctx.principals.length)] as BenchContext["principals"][number];
    return grpcFrame(AuthorizeRequest.encode(authorizeRequest(p, n)).finish());
  });
}

/**
 * One open-loop run at `rate` against a server (the decider's Authorize or the no-op), with what
 * the server watched of itself meanwhile (event-loop delay, GC pauses, allocations, CPU), what the
 * generator's threads did, and how busy the host was.
 */
async function openLoop(
  ctx: BenchContext,
  o: {
    server: "decider" | "noop" | ChildProcess;
    address: string;
    path: string;
    generator: OpenGenerator;
    rate: number;
    frames: readonly Uint8Array[];
  },
) {
  const run: LoadRun = {
    frames: o.frames,
    warmupSeconds: num("warmup"),
    seconds: num("seconds"),
    connections: num("connections"),
    address: o.address,
    path: o.path,
    mode: { kind: "open", rate: o.rate },
  };
  const host = watchHost();
  const watched = await ctx.watched("canary", () =>
    ctx.watched(o.server, async () =>
      o.generator === "node"
        ? runLoad(run, num("clients"))
        : o.generator === "raw"
          ? [await runRawLoad({ ...run, connections: num("raw-connections") })]
          : [await runH2load(run, num("h2load-connections"))],
    ),
  );
  const { value, stalls } = watched.value;
  const canary = watched.stalls;
  const summary = summarize(value);
  // The server watched itself over the whole run, warm-up included: per call of the whole run.
  const calls = Math.max(
    1,
    value.reduce((a, r) => a + r.completedAll, 0),
  );
  return {
    ...summary,
    host: host.stop(),
    server_allocated_bytes_per_call: Math.round(stalls.allocated_bytes / calls),
    server_cpu_us_per_call: Number(((stalls.process_cpu_ms * 1000) / calls).toFixed(1)),
    server_main_thread_cpu_us_per_call: Number(((stalls.thread_cpu_ms * 1000) / calls).toFixed(1)),
    stalls: {
      server: stalls,
      generator: value.map((r) => r.stalls),
      // An idle process's own loop delay meanwhile: how long a runnable thread waited for a CPU.
      canary: { loop_delay_p99_ms: canary.loop_delay_p99_ms, loop_delay_max_ms: canary.loop_delay_max_ms },
    },
    ...(value[0]?.pacing === undefined ? {} : { pacing: value[0].pacing }),
  };
}
type OpenRun = Awaited<ReturnType<typeof openLoop>>;
/**
 * The open loop's generators: `raw` (raw-h2.ts: pre-framed HTTP/2 on a socket from one paced
 * worker thread, every grpc-status checked), `node` (node:http2 worker threads), `h2load`.
 */
type OpenGenerator = "raw" | "node" | "h2load";
const generatorLabel = (g: OpenGenerator): string =>
  g === "raw"
    ? `raw HTTP/2 (one paced worker thread, ${num("raw-connections")} connection${num("raw-connections") === 1 ? "" : "s"})`
    : g === "node"
      ? `node:http2 (${num("clients")} worker threads)`
      : `h2load (one request, ${num("h2load-connections")} connection${num("h2load-connections") === 1 ? "" : "s"})`;
/** The open-loop generators the authorize section ran, the headline figures' first. */
let openLoopGenerators: readonly OpenGenerator[] = [];
/** The open-loop rate the authorize section used (the tail section's default). */
let authorizeOpenRate: number | undefined;

/**
 * One open-loop run on one line: its tail next to what stalled the server, what it cost per call
 * (the figures the shared host sways least) and how busy the host was.
 */
function describeRun(name: string, x: OpenRun): string {
  const generatorLoop = Math.max(...x.stalls.generator.map((g) => g.loop_delay_max_ms));
  const generatorGc = Math.max(...x.stalls.generator.map((g) => g.gc_max_ms));
  const generatorAllocated = Math.round(
    x.stalls.generator.reduce((a, g) => a + g.allocated_bytes, 0) / Math.max(1, x.completed),
  );
  const pacing =
    x.pacing === undefined
      ? ""
      : `, sent p50 ${x.pacing.send_lag_p50_ms} / p99 ${x.pacing.send_lag_p99_ms}${x.pacing.send_lag_max_ms === undefined ? "" : ` / max ${x.pacing.send_lag_max_ms}`} ms after due`;
  return `${name} p50 ${x.p50_ms} / p99 ${x.p99_ms} / max ${x.max_ms} ms${x.errors > 0 ? ` (${x.errors} FAILED: ${x.first_error})` : ""} (idle canary loop p99 ${x.stalls.canary.loop_delay_p99_ms} / max ${x.stalls.canary.loop_delay_max_ms} ms; server loop max ${x.stalls.server.loop_delay_max_ms} ms, GC ${x.stalls.server.gc_count} × max ${x.stalls.server.gc_max_ms} ms, ${x.server_cpu_us_per_call} µs CPU and ${fmt(x.server_allocated_bytes_per_call)} B allocated per call; generator loop max ${generatorLoop} ms, GC max ${generatorGc} ms, ${fmt(generatorAllocated)} B allocated and ${Number.isNaN(x.client_cpu_us_per_call) ? "?" : x.client_cpu_us_per_call} µs CPU per call${pacing}; host ${describeHost(x.host)})`;
}

/** Authorize vs the no-op service: closed loop at saturation (alternating), then open loop at half of it. */
const authorizeSection: Section = {
  name: "authorize",
  async run(ctx) {
    const frames = requestFrames(ctx, 4096);
    // The decisions the mix gets (checked through grpc-js; any error stops the bench).
    const sample = await Promise.all(
      frames
        .slice(0, 256)
        .map((f) =>
          unary<AuthorizeRequest, AuthorizeResponse>(ctx.authorizer.authorize.bind(ctx.authorizer))(
            AuthorizeRequest.decode(f.subarray(5)),
          ),
        ),
    );
    const mix = { allow: 0, explicit_deny: 0, implicit_deny: 0 };
    for (const r of sample) {
      if (r.decision === Decision.DECISION_ALLOW) mix.allow++;
      else if (r.decision === Decision.DECISION_EXPLICIT_DENY) mix.explicit_deny++;
      else mix.implicit_deny++;
    }
    const responseBytes = AuthorizeResponse.encode(sample[0] as AuthorizeResponse).finish().length;
    const requestBytes = Math.round(frames.reduce((a, f) => a + f.length - 5, 0) / frames.length);
    const base = {
      frames,
      warmupSeconds: num("warmup"),
      seconds: num("seconds"),
      connections: num("connections"),
    };
    const clients = num("clients");
    const closed = { kind: "closed", concurrency: num("concurrency") } as const;
    const rounds: { authorize: ReturnType<typeof withServerCpu>; noop: ReturnType<typeof withServerCpu> }[] = [];
    for (let r = 0; r < num("rounds"); r++) {
      const host = watchHost();
      const noopRun = await ctx.cpuOf("noop", () =>
        runLoad({ ...base, address: ctx.noop, path: NOOP_PATH, mode: closed }, clients),
      );
      const noop = withServerCpu(noopRun.value, noopRun.cpuMicros);
      const authorizeRun = await ctx.cpuOf("decider", () =>
        ctx.profiled(`authorize-${r + 1}`, () =>
          runLoad({ ...base, address: ctx.decider, path: AUTHORIZE_PATH, mode: closed }, clients),
        ),
      );
      const authorize = withServerCpu(authorizeRun.value, authorizeRun.cpuMicros);
      console.log(
        `  round ${r + 1}: authorize ${fmt(authorize.rps)}/s (${authorize.server_cpu_us_per_call} µs server CPU per call), no-op ${fmt(noop.rps)}/s (${noop.server_cpu_us_per_call} µs); host ${describeHost(host.stop())}`,
      );
      rounds.push({ authorize, noop });
    }
    const best = (k: "authorize" | "noop") =>
      rounds.map((r) => r[k]).sort((a, b) => b.rps - a.rps)[0] as ReturnType<typeof withServerCpu>;
    const saturation = best("authorize");
    const noopSaturation = best("noop");
    const rate = flags.rate === undefined ? Math.round(saturation.rps / 2) : num("rate");
    authorizeOpenRate = rate;
    // Open loop, decider and no-op alternately for --open-rounds; each round with what stalled the
    // server and the generator's threads meanwhile (event-loop delay, GC pauses), to tell apart
    // the decider's share of the tail from the generator's and the host's.
    const openRun = (server: "decider" | "noop", generator: OpenGenerator) =>
      openLoop(ctx, {
        server,
        address: server === "decider" ? ctx.decider : ctx.noop,
        path: server === "decider" ? AUTHORIZE_PATH : NOOP_PATH,
        generator,
        rate,
        frames,
      });
    const asked = (flags["open-generator"] ?? "raw").split(",");
    for (const g of asked)
      if (g !== "raw" && g !== "node" && g !== "h2load")
        throw new Error(`--open-generator=${g}: one or more of raw, node, h2load`);
    if (asked.includes("h2load") && !h2loadAvailable()) {
      console.log("  h2load is not installed (Debian: apt-get install nghttp2-client): the open loop runs without it");
    }
    // In a fixed order; the first that runs gives the headline figures (raw, else node, else h2load).
    const openGenerators = (["raw", "node", "h2load"] as const).filter(
      (g) => asked.includes(g) && (g !== "h2load" || h2loadAvailable()),
    );
    if (openGenerators.length === 0) openGenerators.push("node");
    const headline = openGenerators[0] as OpenGenerator;
    openLoopGenerators = openGenerators;
    // One line per server and round: what the tail was next to what stalled the server, what it
    // cost per call (the figures the shared host sways least) and how busy the host was.
    const line = describeRun;
    type OpenRound = { authorize: OpenRun; noop: OpenRun };
    const roundsBy = new Map<OpenGenerator, OpenRound[]>(openGenerators.map((g) => [g, []]));
    for (let r = 0; r < num("open-rounds"); r++) {
      for (const g of openGenerators) {
        const authorize = await openRun("decider", g);
        const noop = await openRun("noop", g);
        console.log(`  open round ${r + 1} at ${fmt(rate)}/s, ${generatorLabel(g)}: ${line("authorize", authorize)}`);
        console.log(`    ${line("no-op", noop)}`);
        roundsBy.get(g)?.push({ authorize, noop });
      }
    }
    if (flags["heap-prof"]) {
      // One more open-loop run (not counted) with the decider's sampling heap profiler on.
      const file = join(resultsDir, "profiles", "decider-authorize-open.heapprofile");
      await ctx.heapSampled(file, () => openRun("decider", headline));
    }
    const medianOf = (rounds: readonly OpenRound[]) =>
      [...rounds].sort((a, b) => a.authorize.p99_ms - b.authorize.p99_ms)[
        Math.floor((rounds.length - 1) / 2)
      ] as OpenRound;
    // The headline open-loop figures come from the first generator that ran (raw, node, h2load).
    const openRounds = roundsBy.get(headline) as OpenRound[];
    const h2loadRounds = roundsBy.get("h2load") ?? [];
    const h2loadLabel = generatorLabel("h2load");
    // The round with the median Authorize p99 (and its no-op round beside it).
    const medianRound = [...openRounds].sort((a, b) => a.authorize.p99_ms - b.authorize.p99_ms)[
      Math.floor((openRounds.length - 1) / 2)
    ] as (typeof openRounds)[number];
    const authorizeOpen = medianRound.authorize;
    const noopOpen = medianRound.noop;
    const p99Range = (
      k: "authorize" | "noop",
      rounds: readonly { authorize: { p99_ms: number }; noop: { p99_ms: number } }[] = openRounds,
    ) => {
      const xs = rounds.map((r) => r[k].p99_ms);
      return `${Math.min(...xs)}–${Math.max(...xs)}`;
    };
    const h2loadMedian = h2loadRounds.length === 0 ? undefined : medianOf(h2loadRounds);
    const nodeRounds = headline === "node" ? [] : (roundsBy.get("node") ?? []);
    const nodeMedian = nodeRounds.length === 0 ? undefined : medianOf(nodeRounds);
    const ratio = Number((saturation.rps / noopSaturation.rps).toFixed(3));
    const errors =
      rounds.reduce((a, r) => a + r.authorize.errors + r.noop.errors, 0) +
      openRounds.reduce((a, r) => a + r.authorize.errors + r.noop.errors, 0);
    if (errors > 0)
      console.log(
        `  errors: ${errors} (${[saturation, noopSaturation, authorizeOpen, noopOpen]
          .map((x) => x.first_error)
          .filter((x) => x !== undefined)
          .join("; ")})`,
      );
    return {
      figures: {
        authorize_rps: saturation.rps,
        noop_rps: noopSaturation.rps,
        authorize_to_noop: ratio,
        authorize_offered_rps: rate,
        authorize_p50_ms: authorizeOpen.p50_ms,
        authorize_p99_ms: authorizeOpen.p99_ms,
        noop_p50_ms: noopOpen.p50_ms,
        noop_p99_ms: noopOpen.p99_ms,
        authorize_allocated_bytes_per_call: median(openRounds.map((r) => r.authorize.server_allocated_bytes_per_call)),
        noop_allocated_bytes_per_call: median(openRounds.map((r) => r.noop.server_allocated_bytes_per_call)),
        authorize_open_server_cpu_us: median(openRounds.map((r) => r.authorize.server_cpu_us_per_call)),
        noop_open_server_cpu_us: median(openRounds.map((r) => r.noop.server_cpu_us_per_call)),
        authorize_saturation_p50_ms: saturation.p50_ms,
        authorize_saturation_p99_ms: saturation.p99_ms,
        authorize_server_cpu_us: saturation.server_cpu_us_per_call,
        noop_server_cpu_us: noopSaturation.server_cpu_us_per_call,
        ...(nodeMedian === undefined
          ? {}
          : {
              authorize_node_p50_ms: nodeMedian.authorize.p50_ms,
              authorize_node_p99_ms: nodeMedian.authorize.p99_ms,
              noop_node_p50_ms: nodeMedian.noop.p50_ms,
              noop_node_p99_ms: nodeMedian.noop.p99_ms,
            }),
        ...(h2loadMedian === undefined || headline === "h2load"
          ? {}
          : {
              authorize_h2load_p50_ms: h2loadMedian.authorize.p50_ms,
              authorize_h2load_p99_ms: h2loadMedian.authorize.p99_ms,
              noop_h2load_p50_ms: h2loadMedian.noop.p50_ms,
              noop_h2load_p99_ms: h2loadMedian.noop.p99_ms,
            }),
      },
      rows: [
        [
          "Authorize/s at saturation (closed loop)",
          fmt(saturation.rps),
          `best of ${rounds.length} rounds, ${closed.concurrency} in flight per client; p50 ${saturation.p50_ms} ms, p99 ${saturation.p99_ms} ms`,
        ],
        [
          "no-op grpc-js calls/s (closed loop)",
          fmt(noopSaturation.rps),
          `same request bytes (${requestBytes}), response bytes (${responseBytes})`,
        ],
        ["Authorize / no-op", `${(ratio * 100).toFixed(1)}%`, "target ≥ 70%"],
        [
          "server CPU per call: Authorize / no-op",
          `${saturation.server_cpu_us_per_call} / ${noopSaturation.server_cpu_us_per_call} µs`,
          "the server process's CPU (all threads) in the best saturation rounds",
        ],
        [
          `Authorize p50 at ${fmt(rate)}/s offered`,
          `${authorizeOpen.p50_ms} ms`,
          `open loop (${generatorLabel(headline)}), from each call's scheduled start; completed ${fmt(authorizeOpen.rps)}/s, ${authorizeOpen.errors} failed`,
        ],
        [
          `Authorize p99 at ${fmt(rate)}/s offered`,
          `${authorizeOpen.p99_ms} ms`,
          `median of ${openRounds.length} rounds (${p99Range("authorize")} ms); p99.9 ${authorizeOpen.p999_ms} ms, max ${authorizeOpen.max_ms} ms; target p99 ≤ 2 ms`,
        ],
        [
          "server: bytes allocated, CPU per call (open loop)",
          `${fmt(median(openRounds.map((r) => r.authorize.server_allocated_bytes_per_call)))} B, ${median(openRounds.map((r) => r.authorize.server_cpu_us_per_call))} µs / no-op ${fmt(median(openRounds.map((r) => r.noop.server_allocated_bytes_per_call)))} B, ${median(openRounds.map((r) => r.noop.server_cpu_us_per_call))} µs`,
          "Authorize / no-op; medians over the rounds; the server process's heap allocations (v8.GCProfiler) and CPU (all threads) over its calls in the window",
        ],
        [
          `no-op p50 / p99 at ${fmt(rate)}/s offered`,
          `${noopOpen.p50_ms} / ${noopOpen.p99_ms} ms`,
          `the same round's; p99 ${p99Range("noop")} ms over the rounds; completed ${fmt(noopOpen.rps)}/s, ${noopOpen.errors} failed`,
        ],
        ...(nodeMedian === undefined
          ? []
          : ([
              [
                `with node:http2: Authorize p50 / p99`,
                `${nodeMedian.authorize.p50_ms} / ${nodeMedian.authorize.p99_ms} ms`,
                `${generatorLabel("node")}, ${fmt(rate)}/s; median of ${nodeRounds.length} rounds (p99 ${p99Range("authorize", nodeRounds)} ms)`,
              ],
              [
                `with node:http2: no-op p50 / p99`,
                `${nodeMedian.noop.p50_ms} / ${nodeMedian.noop.p99_ms} ms`,
                `the same round's; p99 ${p99Range("noop", nodeRounds)} ms over the rounds`,
              ],
            ] satisfies Row[])),
        ...(h2loadMedian === undefined || headline === "h2load"
          ? []
          : ([
              [
                `with h2load: Authorize p50 / p99`,
                `${h2loadMedian.authorize.p50_ms} / ${h2loadMedian.authorize.p99_ms} ms`,
                `${h2loadLabel}, ${fmt(rate)}/s, sent in ~10 ms bursts (counted: sent p50 ${h2loadMedian.authorize.pacing?.send_lag_p50_ms} ms after due); median of ${h2loadRounds.length} rounds (p99 ${p99Range("authorize", h2loadRounds)} ms)`,
              ],
              [
                `with h2load: no-op p50 / p99`,
                `${h2loadMedian.noop.p50_ms} / ${h2loadMedian.noop.p99_ms} ms`,
                `the same round's; p99 ${p99Range("noop", h2loadRounds)} ms over the rounds`,
              ],
            ] satisfies Row[])),
      ],
      detail: {
        request_bytes: requestBytes,
        response_bytes: responseBytes,
        distinct_requests: frames.length,
        decision_mix_of_first_256: mix,
        rounds,
        open_loop: {
          offered_rps: rate,
          rounds: openRounds,
          median_round: { authorize: authorizeOpen, noop: noopOpen },
          generator: headline,
          ...Object.fromEntries(
            [...roundsBy].filter(([g]) => g !== headline).map(([g, rounds]) => [`${g}_rounds`, rounds]),
          ),
        },
        errors,
      },
    };
  },
};

/**
 * A BatchAuthorize call as a platform service would send it: the checks of `requests` of its own
 * requests, each request one principal (any of the dataset's) with its own context (source address,
 * TLS) and an equal share of the 1,000 checks, each check an action of the mix on its own resource
 * (S3 objects differ per check). With `requests` = 1,000, every check its own principal.
 */
function batchRequest(ctx: BenchContext, random: () => number, requests: number, b: number): BatchAuthorizeRequest {
  const out: AuthorizeRequest[] = [];
  for (let q = 0; q < requests; q++) {
    const p = ctx.principals[Math.floor(random() * ctx.principals.length)] as BenchContext["principals"][number];
    // The request's context: that of the mix's `n`th question (source address and TLS vary).
    const n = b * requests + q;
    const { context } = authorizeRequest(p, n);
    const checks = Math.floor(BATCH_SIZE / requests) + (q < BATCH_SIZE % requests ? 1 : 0);
    for (let k = 0; k < checks; k++) {
      const check = authorizeRequest(p, Math.floor(random() * 8), out.length);
      out.push({ ...check, context, correlationId: `c${b}-${out.length}` });
    }
  }
  return { requests: out };
}

/**
 * BatchAuthorize of 1,000 checks per call, closed loop: from `--batch-requests` requests (principal
 * and context) per call, then the worst case, every check its own principal.
 */
const batchSection: Section = {
  name: "batch",
  async run(ctx) {
    const measure = async (requests: number, name: string) => {
      const random = seeded(13 + requests);
      const batches = Array.from({ length: 8 }, (_, b) =>
        BatchAuthorizeRequest.encode(batchRequest(ctx, random, requests, b)).finish(),
      );
      const check = await unary<BatchAuthorizeRequest, BatchAuthorizeResponse>(
        ctx.authorizer.batchAuthorize.bind(ctx.authorizer),
      )(BatchAuthorizeRequest.decode(batches[0] as Uint8Array));
      const failed = check.responses.filter((r) => r.error !== undefined).length;
      const mix = { allow: 0, explicit_deny: 0, implicit_deny: 0 };
      for (const r of check.responses) {
        if (r.decision === Decision.DECISION_ALLOW) mix.allow++;
        else if (r.decision === Decision.DECISION_EXPLICIT_DENY) mix.explicit_deny++;
        else mix.implicit_deny++;
      }
      if (check.responses.length !== BATCH_SIZE || failed > 0) {
        throw new Error(`BatchAuthorize answered ${check.responses.length} checks, ${failed} failed`);
      }
      const run: LoadRun = {
        address: ctx.decider,
        path: BATCH_PATH,
        frames: batches.map((b) => grpcFrame(b)),
        mode: { kind: "closed", concurrency: num("batch-concurrency") },
        warmupSeconds: num("warmup"),
        seconds: num("seconds"),
        connections: 1,
      };
      const measured = await ctx.cpuOf("decider", () => ctx.profiled(name, () => runLoad(run, 1)));
      const s = summarize(measured.value);
      // The decider's CPU (all its threads) per decision over the whole run, warm-up included.
      const calls = measured.value.reduce((a, r) => a + r.completedAll, 0);
      const cpu = Number((measured.cpuMicros / Math.max(1, calls * BATCH_SIZE)).toFixed(3));
      const bytes = Math.round(batches.reduce((a, b) => a + b.length, 0) / batches.length);
      return { perS: s.rps * BATCH_SIZE, cpu, s, mix, bytes };
    };
    const requests = num("batch-requests");
    const grouped = await measure(requests, "batch");
    const distinct = await measure(BATCH_SIZE, "batch-distinct");
    const inFlight = num("batch-concurrency");
    const detail = (m: typeof grouped) => ({
      calls_per_s: m.s.rps,
      call_p50_ms: m.s.p50_ms,
      call_p99_ms: m.s.p99_ms,
      errors: m.s.errors,
      request_bytes: m.bytes,
      decision_mix_of_first_call: m.mix,
      server_cpu_us_per_decision: m.cpu,
    });
    return {
      figures: {
        batch_decisions_per_s: grouped.perS,
        batch_server_cpu_us_per_decision: grouped.cpu,
        batch_distinct_decisions_per_s: distinct.perS,
        batch_distinct_server_cpu_us_per_decision: distinct.cpu,
      },
      rows: [
        [
          "BatchAuthorize decisions/s",
          fmt(grouped.perS),
          `${BATCH_SIZE} checks per call from ${requests} requests (principal, context), actions of the mix on per-check resources, ${inFlight} calls in flight; p50 ${grouped.s.p50_ms} ms per call; ${grouped.cpu} µs decider CPU per decision`,
        ],
        [
          "BatchAuthorize, every check its own principal",
          fmt(distinct.perS),
          `${BATCH_SIZE} principals per call; p50 ${distinct.s.p50_ms} ms per call; ${distinct.cpu} µs decider CPU per decision`,
        ],
      ],
      detail: { requests_per_call: requests, grouped: detail(grouped), distinct: detail(distinct) },
    };
  },
};

/** Change → visible: a write's commit response to the decider answering at its revision. */
const visibleSection: Section = {
  name: "visible",
  async run(ctx) {
    const rate = num("visible-rate");
    const loopDelay = monitorEventLoopDelay({ resolution: 5 });
    loopDelay.enable();
    const {
      value: r,
      latenciesMs: published,
      at: publishedAt,
    } = await ctx.published(() =>
      runVisible({
        controlPlane: ctx.controlPlane,
        decider: ctx.decider,
        accounts: ctx.accounts,
        rate,
        total: Math.round(rate * num("visible-seconds")),
      }),
    );
    loopDelay.disable();
    const sorted = (xs: number[]) => xs.sort((x, y) => x - y);
    const at = (xs: readonly number[], q: number) =>
      Number((xs[Math.min(xs.length - 1, Math.floor(q * xs.length))] ?? 0).toFixed(2));
    const latencies = sorted(r.latenciesMs);
    sorted(published);
    // The region's part: the relay's acknowledged send to the answer at that revision.
    const regionPart = sorted(
      r.answered.flatMap((a) => {
        const sent = publishedAt.get(`${a.accountId}/${a.revision}`);
        return sent === undefined ? [] : [a.atMs - sent];
      }),
    );
    if (r.failed > 0) console.log(`  visible: ${r.failed} writes or reads failed (${r.firstError})`);
    return {
      figures: { visible_p50_ms: at(latencies, 0.5), visible_p99_ms: at(latencies, 0.99) },
      rows: [
        [
          "change→visible p50",
          `${at(latencies, 0.5)} ms`,
          `PutUserPolicy commit response → Authorize with min_revision answered; ${fmt(Math.round(latencies.length / r.seconds))} writes/s`,
        ],
        [
          "change→visible p99",
          `${at(latencies, 0.99)} ms`,
          `max ${at(latencies, 1)} ms; ${latencies.length} samples, ${r.wrong} wrong answers, ${r.failed} failed`,
        ],
        [
          "of which commit→published p50 / p99",
          `${at(published, 0.5)} / ${at(published, 0.99)} ms`,
          "the control plane's relay: Postgres commit to Kafka's acknowledgement",
        ],
        [
          "and published→answered p50 / p99",
          `${at(regionPart, 0.5)} / ${at(regionPart, 0.99)} ms`,
          "the region's part: Kafka → applier → Redis → notification → decider (ms clock)",
        ],
      ],
      detail: {
        writes: Math.round(rate * num("visible-seconds")),
        samples: latencies.length,
        wrong_answers: r.wrong,
        answers_overlapping_another_write_to_the_same_user: r.overlapping,
        failed: r.failed,
        offered_writes_per_s: rate,
        max_ms: at(latencies, 1),
        // The control plane's event loop (this process's main thread) meanwhile.
        control_plane_event_loop_delay_p99_ms: Number((loopDelay.percentile(99) / 1e6).toFixed(1)),
        commit_to_published_p50_ms: at(published, 0.5),
        commit_to_published_p99_ms: at(published, 0.99),
        published_to_answered_p50_ms: at(regionPart, 0.5),
        published_to_answered_p99_ms: at(regionPart, 0.99),
      },
    };
  },
};

/**
 * BatchAuthorizePrincipal (one principal, one context, 1,000 checks per call) beside BatchAuthorize
 * of exactly the same checks spelled out in full (each carrying the principal and the context):
 * like with like, the difference is what the compact form saves per check.
 */
const batchPrincipalSection: Section = {
  name: "batch-principal",
  async run(ctx) {
    const random = seeded(17);
    const calls = Array.from({ length: 8 }, (_, b) => {
      const p = ctx.principals[Math.floor(random() * ctx.principals.length)] as BenchContext["principals"][number];
      const shared = authorizeRequest(p, b);
      const checks = Array.from({ length: BATCH_SIZE }, (_, n) => {
        const one = authorizeRequest(p, n);
        return {
          action: one.action,
          resource: one.resource,
          resourceAccount: "",
          resourcePolicy: "",
          correlationId: one.correlationId,
        };
      });
      const compact: BatchAuthorizePrincipalRequest = {
        principal: shared.principal,
        context: shared.context,
        minRevision: undefined,
        maxStalenessMs: 0,
        checks,
      };
      const expanded: BatchAuthorizeRequest = {
        requests: checks.map((c) => ({ ...shared, ...c })),
      };
      return { compact, expanded };
    });
    // Both forms give the same answers (any difference or error stops the bench).
    for (const { compact, expanded } of calls.slice(0, 2)) {
      const [a, b] = await Promise.all([
        unary<BatchAuthorizePrincipalRequest, BatchAuthorizeResponse>(
          ctx.authorizer.batchAuthorizePrincipal.bind(ctx.authorizer),
        )(compact),
        unary<BatchAuthorizeRequest, BatchAuthorizeResponse>(ctx.authorizer.batchAuthorize.bind(ctx.authorizer))(
          expanded,
        ),
      ]);
      const failed = a.responses.filter((r) => r.error !== undefined).length;
      if (a.responses.length !== BATCH_SIZE || failed > 0 || JSON.stringify(a) !== JSON.stringify(b)) {
        throw new Error(
          `BatchAuthorizePrincipal answered ${a.responses.length} checks, ${failed} failed, or unlike BatchAuthorize`,
        );
      }
    }
    const measure = async (name: string, path: string, frames: Uint8Array[]) => {
      const run: LoadRun = {
        address: ctx.decider,
        path,
        frames: frames.map((f) => grpcFrame(f)),
        mode: { kind: "closed", concurrency: num("batch-concurrency") },
        warmupSeconds: num("warmup"),
        seconds: num("seconds"),
        connections: 1,
      };
      const measured = await ctx.cpuOf("decider", () => ctx.profiled(name, () => runLoad(run, 1)));
      const s = summarize(measured.value);
      return {
        perS: s.rps * BATCH_SIZE,
        // The decider's CPU over the whole run (warm-up included) per decision in the whole run.
        cpu: Number(
          (
            measured.cpuMicros / Math.max(1, measured.value.reduce((a, r) => a + r.completedAll, 0) * BATCH_SIZE)
          ).toFixed(3),
        ),
        s,
      };
    };
    const expanded = await measure(
      "batch-expanded",
      BATCH_PATH,
      calls.map((c) => BatchAuthorizeRequest.encode(c.expanded).finish()),
    );
    const compact = await measure(
      "batch-principal",
      BATCH_PRINCIPAL_PATH,
      calls.map((c) => BatchAuthorizePrincipalRequest.encode(c.compact).finish()),
    );
    const inFlight = num("batch-concurrency");
    return {
      figures: {
        batch_principal_decisions_per_s: compact.perS,
        batch_principal_server_cpu_us_per_decision: compact.cpu,
        batch_same_checks_decisions_per_s: expanded.perS,
        batch_same_checks_server_cpu_us_per_decision: expanded.cpu,
      },
      rows: [
        [
          "BatchAuthorizePrincipal decisions/s",
          fmt(compact.perS),
          `one principal and context, ${BATCH_SIZE} (action, resource, correlation id) checks per call, ${inFlight} calls in flight; p50 ${compact.s.p50_ms} ms per call; ${compact.cpu} µs decider CPU per decision`,
        ],
        [
          "BatchAuthorize, the same checks",
          fmt(expanded.perS),
          `each check with the principal and context spelled out; p50 ${expanded.s.p50_ms} ms per call; ${expanded.cpu} µs decider CPU per decision`,
        ],
      ],
      detail: {
        compact: {
          calls_per_s: compact.s.rps,
          call_p50_ms: compact.s.p50_ms,
          call_p99_ms: compact.s.p99_ms,
          errors: compact.s.errors,
          server_cpu_us_per_decision: compact.cpu,
        },
        same_checks: {
          calls_per_s: expanded.s.rps,
          call_p50_ms: expanded.s.p50_ms,
          call_p99_ms: expanded.s.p99_ms,
          errors: expanded.s.errors,
          server_cpu_us_per_decision: expanded.cpu,
        },
      },
    };
  },
};

/**
 * AssumeRole/s and session verifications/s: `bench:sts` in a child process of its own (no gRPC:
 * the issuer and the decider's session opening called in process, the view in Redis), its JSON
 * folded in. Repeat verifications hit the codec's memory of opened tokens; first verifications
 * (`session_verify_cold_per_s`) decrypt and check every token.
 */
const stsSection: Section = {
  name: "sts",
  async run() {
    const file = resolve(import.meta.dirname, "../../services/region/src/bench/sts-bench.ts");
    const out = resolve(import.meta.dirname, "../results/sts-bench.json");
    const code = await new Promise<number | null>((res, rej) => {
      const p = spawn(process.execPath, ["--disable-warning=TimeoutNegativeWarning", file], { stdio: "inherit" });
      p.once("error", rej);
      p.once("exit", res);
    });
    if (code !== 0) throw new Error(`bench:sts exited with ${code}`);
    const r = JSON.parse(readFileSync(out, "utf8")) as {
      assume_role_per_s: number;
      session_verify_per_s: number;
      session_verify_cold_per_s: number;
    };
    return {
      figures: {
        assume_role_per_s: r.assume_role_per_s,
        session_verify_per_s: r.session_verify_per_s,
        session_verify_cold_per_s: r.session_verify_cold_per_s,
      },
      rows: [
        ["AssumeRole/s", fmt(r.assume_role_per_s), "median of 3 windows, one region process, no gRPC (target ≥ 2,000)"],
        [
          "session verifications/s",
          fmt(r.session_verify_per_s),
          "repeat tokens (remembered once opened) (target ≥ 50,000)",
        ],
        ["first verifications/s", fmt(r.session_verify_cold_per_s), "every token decrypted and checked"],
      ],
      detail: r,
    };
  },
};

/** The bench's sections in the order they run. */
/**
 * Telemetry off vs on in one run: three fresh decider processes over the same view, started alike
 * and loaded alike, closed loop at saturation, interleaved round by round (the order rotates, so no
 * variant always runs first or last on this shared machine): telemetry off (the default: no
 * wrapper is installed on Authorize, nothing is recorded), on with the default sampling (every
 * decision counted and timed, 1% of Authorize calls traced), and on with every call traced. The
 * spans are recorded and dropped (no OTLP collector in the bench); metrics are served on an
 * ephemeral Prometheus port and never scraped during the runs.
 */
const telemetrySection: Section = {
  name: "telemetry",
  async run(ctx) {
    const variants = [
      { name: "off", env: { GATEHOUSE_TELEMETRY: "off" } },
      { name: "on", env: { GATEHOUSE_TELEMETRY: "on", GATEHOUSE_METRICS_LISTEN: "127.0.0.1:0" } },
      {
        name: "on_all_traced",
        env: { GATEHOUSE_TELEMETRY: "on", GATEHOUSE_METRICS_LISTEN: "127.0.0.1:0", OTEL_TRACES_SAMPLER_ARG: "1" },
      },
    ] as const;
    const started: { name: string; address: string; cpuMicros(): Promise<number> }[] = [];
    for (const v of variants) started.push({ name: v.name, ...(await ctx.spawnDecider(v.env)) });
    const base = {
      frames: requestFrames(ctx, 4096),
      warmupSeconds: num("warmup"),
      seconds: num("seconds"),
      connections: num("connections"),
    };
    const closed = { kind: "closed", concurrency: num("concurrency") } as const;
    const runs = new Map<string, ReturnType<typeof withServerCpu>[]>(variants.map((v) => [v.name, []]));
    // Fresh processes: every principal compiled into each L1 and the code optimized before any
    // round counts (an untimed run per variant).
    for (const v of started) {
      await runLoad({ ...base, address: v.address, path: AUTHORIZE_PATH, mode: closed }, num("clients"));
    }
    for (let r = 0; r < num("rounds"); r++) {
      const order = started.map((_, i) => started[(i + r) % started.length] as (typeof started)[number]);
      const line: string[] = [];
      for (const v of order) {
        const before = await v.cpuMicros();
        const results = await runLoad(
          { ...base, address: v.address, path: AUTHORIZE_PATH, mode: closed },
          num("clients"),
        );
        const run = withServerCpu(results, (await v.cpuMicros()) - before);
        if (run.errors > 0) throw new Error(`telemetry ${v.name}: ${run.errors} errors (${run.first_error})`);
        runs.get(v.name)?.push(run);
        line.push(`${v.name} ${fmt(run.rps)}/s ${run.server_cpu_us_per_call} µs`);
      }
      console.log(`  round ${r + 1}: ${line.join(", ")}`);
    }
    const of = (name: string) => runs.get(name) ?? [];
    const best = (name: string) => Math.max(...of(name).map((x) => x.rps));
    const cpu = (name: string) => Math.min(...of(name).map((x) => x.server_cpu_us_per_call));
    const range = (name: string, f: (x: ReturnType<typeof withServerCpu>) => number) =>
      `${fmt(Math.min(...of(name).map(f)))}–${fmt(Math.max(...of(name).map(f)))}`;
    const figures = {
      telemetry_off_rps: best("off"),
      telemetry_on_rps: best("on"),
      telemetry_on_all_traced_rps: best("on_all_traced"),
      telemetry_off_cpu_us: cpu("off"),
      telemetry_on_cpu_us: cpu("on"),
      telemetry_on_all_traced_cpu_us: cpu("on_all_traced"),
      telemetry_on_to_off: Number((best("on") / best("off")).toFixed(3)),
    };
    const row = (label: string, name: string): Row => [
      label,
      `${fmt(best(name))} / ${cpu(name)} µs`,
      `rounds ${range(name, (x) => x.rps)}/s, ${range(name, (x) => x.server_cpu_us_per_call)} µs server CPU per call`,
    ];
    return {
      figures,
      rows: [
        row("Authorize/s, CPU per call: telemetry off", "off"),
        row("  telemetry on (metrics, 1% traced)", "on"),
        row("  telemetry on, every call traced", "on_all_traced"),
      ],
      detail: Object.fromEntries([...runs].map(([name, list]) => [name, list])),
    };
  },
};

/** What a tail variant changes, for both servers alike. */
interface TailVariant {
  readonly name: string;
  /** V8 flags of the decider and the no-op server. */
  readonly nodeOptions: readonly string[];
  /** Run pinned (`taskset -a`): the servers on CPU 1, this process (the generator) on CPU 0. */
  readonly pinned: boolean;
}
function tailVariant(name: string): TailVariant {
  if (name === "default") return { name, nodeOptions: [], pinned: false };
  if (name === "pinned") return { name, nodeOptions: [], pinned: true };
  if (name === "single-threaded-gc") return { name, nodeOptions: ["--single-threaded-gc"], pinned: false };
  const semi = /^semi-space-(\d+)$/.exec(name);
  if (semi !== null) return { name, nodeOptions: [`--max-semi-space-size=${semi[1]}`], pinned: false };
  throw new Error(`--tail-variants: unknown variant ${name} (default, pinned, single-threaded-gc, semi-space-<MiB>)`);
}

/**
 * Where the open loop's tail comes from: variants of how the servers run (V8 flags, CPU pinning),
 * each with a fresh decider AND a fresh no-op server started alike (like for like), open loop at
 * the authorize section's rate (or `--rate`), interleaved round by round (the order rotates), each
 * run with its server's stalls, allocations and CPU per call and the host's load. The `pinned`
 * variant reuses the `default` variant's processes and only changes their CPU affinity (and this
 * process's) for its runs. Not in the default `--only`: run it with `--only=authorize,tail`.
 */
const tailSection: Section = {
  name: "tail",
  async run(ctx) {
    if (pin !== undefined)
      throw new Error("--only=tail: --pin pins every run; use the tail section's pinned variant instead");
    const rate = flags.rate === undefined ? authorizeOpenRate : num("rate");
    if (rate === undefined) throw new Error("--only=tail needs the authorize section or --rate");
    const variants = (flags["tail-variants"] ?? "").split(",").map(tailVariant);
    const askedGenerator = flags["tail-generator"] ?? "raw";
    if (askedGenerator !== "raw" && askedGenerator !== "node" && askedGenerator !== "h2load")
      throw new Error(`--tail-generator=${askedGenerator}: raw, node or h2load`);
    const generator: OpenGenerator = askedGenerator === "h2load" && !h2loadAvailable() ? "raw" : askedGenerator;
    const frames = requestFrames(ctx, 4096);
    const cpus = `0-${hostCpus().length - 1}`;
    type Servers = Awaited<ReturnType<typeof start>>;
    const start = async (v: TailVariant) => ({
      decider: await ctx.spawnDecider({}, ["--expose-gc", ...v.nodeOptions]),
      noop: await ctx.spawnNoop(v.nodeOptions),
    });
    const servers = new Map<string, Servers>();
    for (const v of variants) {
      const existing = v.pinned ? servers.get("default") : undefined;
      const started = existing ?? (await start(v));
      servers.set(v.pinned ? "pinned" : v.name, started);
      if (v.pinned && existing === undefined) servers.set("default", started);
      // Every principal of the mix compiled into the fresh L1 and the code optimized: one
      // untimed closed-loop run per server.
      if (existing === undefined) {
        const warm = { frames, warmupSeconds: 0, seconds: 3, connections: num("connections") };
        const closed = { kind: "closed", concurrency: num("concurrency") } as const;
        await runLoad({ ...warm, address: started.decider.address, path: AUTHORIZE_PATH, mode: closed }, 1);
        await runLoad({ ...warm, address: started.noop.address, path: NOOP_PATH, mode: closed }, 1);
      }
    }
    const setAffinity = (s: Servers, serverCpus: string, generatorCpus: string) => {
      pinProcess(s.decider.process.pid, serverCpus);
      pinProcess(s.noop.process.pid, serverCpus);
      pinProcess(process.pid, generatorCpus);
    };
    const runs = new Map<string, { authorize: OpenRun; noop: OpenRun }[]>(variants.map((v) => [v.name, []]));
    console.log(
      `  ${variants.length} variants at ${fmt(rate)}/s, ${generatorLabel(generator)}, ${num("tail-rounds")} rounds`,
    );
    for (let r = 0; r < num("tail-rounds"); r++) {
      const order = variants.map((_, i) => variants[(i + r) % variants.length] as TailVariant);
      for (const v of order) {
        const s = servers.get(v.name) as Servers;
        if (v.pinned) setAffinity(s, "1", "0");
        try {
          const one = (server: ChildProcess, address: string, path: string) =>
            openLoop(ctx, { server, address, path, generator, rate, frames });
          const authorize = await one(s.decider.process, s.decider.address, AUTHORIZE_PATH);
          const noop = await one(s.noop.process, s.noop.address, NOOP_PATH);
          runs.get(v.name)?.push({ authorize, noop });
          console.log(`  round ${r + 1}, ${v.name}: ${describeRun("authorize", authorize)}`);
          console.log(`    ${describeRun("no-op", noop)}`);
        } finally {
          if (v.pinned) setAffinity(s, cpus, cpus);
        }
      }
    }
    const figures: Record<string, number> = {};
    const rows: Row[] = [];
    const range = (xs: number[]) => `${fmt(Math.min(...xs))}–${fmt(Math.max(...xs))}`;
    for (const v of variants) {
      const list = runs.get(v.name) ?? [];
      const of = (k: "authorize" | "noop", f: (x: OpenRun) => number) => list.map((x) => f(x[k]));
      const key = v.name.replaceAll("-", "_");
      figures[`tail_${key}_authorize_p99_ms`] = median(of("authorize", (x) => x.p99_ms));
      figures[`tail_${key}_noop_p99_ms`] = median(of("noop", (x) => x.p99_ms));
      figures[`tail_${key}_authorize_gc_max_ms`] = median(of("authorize", (x) => x.stalls.server.gc_max_ms));
      figures[`tail_${key}_noop_gc_max_ms`] = median(of("noop", (x) => x.stalls.server.gc_max_ms));
      figures[`tail_${key}_canary_loop_max_ms`] = median(of("authorize", (x) => x.stalls.canary.loop_delay_max_ms));
      rows.push([
        `tail, ${v.name}: Authorize / no-op p99`,
        `${figures[`tail_${key}_authorize_p99_ms`]} / ${figures[`tail_${key}_noop_p99_ms`]} ms`,
        `medians of ${list.length} rounds (Authorize ${range(of("authorize", (x) => x.p99_ms))}, no-op ${range(of("noop", (x) => x.p99_ms))} ms); server GC max ${range(of("authorize", (x) => x.stalls.server.gc_max_ms))} / ${range(of("noop", (x) => x.stalls.server.gc_max_ms))} ms, loop max ${range(of("authorize", (x) => x.stalls.server.loop_delay_max_ms))} / ${range(of("noop", (x) => x.stalls.server.loop_delay_max_ms))} ms; idle canary loop max ${range([...of("authorize", (x) => x.stalls.canary.loop_delay_max_ms), ...of("noop", (x) => x.stalls.canary.loop_delay_max_ms)])} ms; host load ${range(of("authorize", (x) => x.host.load_1m))}`,
      ]);
    }
    return {
      figures,
      rows,
      detail: {
        offered_rps: rate,
        generator: generatorLabel(generator),
        variants: variants.map((v) => ({
          ...v,
          pinning: v.pinned
            ? "taskset -a: decider and no-op server on CPU 1, the bench process (control plane, generator) on CPU 0, for this variant's runs only"
            : "none",
        })),
        runs: Object.fromEntries(runs),
      },
    };
  },
};

const sections: readonly Section[] = [
  cacheSection,
  authorizeSection,
  tailSection,
  batchSection,
  batchPrincipalSection,
  stsSection,
  telemetrySection,
  visibleSection,
];

function child(
  file: string,
  args: string[],
  childEnv: NodeJS.ProcessEnv,
  execArgv: string[] = [],
): { process: ChildProcess; ready: Promise<number> } {
  const p = fork(join(import.meta.dirname, "region-bench", file), args, {
    env: childEnv,
    execArgv: ["--disable-warning=TimeoutNegativeWarning", ...execArgv],
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  const ready = new Promise<number>((res, rej) => {
    p.once("exit", (code) => rej(new Error(`${file} ${args.join(" ")} exited with ${code}`)));
    const onMessage = (m: FromRegionChild) => {
      if (m.type === "ready") {
        p.off("message", onMessage);
        res(m.port);
      }
    };
    p.on("message", onMessage);
  });
  return { process: p, ready };
}

async function main(): Promise<void> {
  const started = new Date();
  const id = randomBytes(4).toString("hex");
  const schema = `bench_region_${id}`;
  const topic = `bench.region.${id}`;
  const keyPrefix = `bench:region:${id}:`;
  const operator: Creds = { accessKeyId: "AKIABENCHREGION00000", secretAccessKey: randomBytes(30).toString("base64") };
  const cleanups: (() => Promise<unknown>)[] = [];
  /**
   * How to stop the processes the running section started (spawnDecider, spawnNoop). They stop
   * when it ends: left running, the telemetry section's three deciders took every notification of
   * the visible section's 200 writes/s (2.6% of a CPU each, measured), and its change→visible p50 /
   * p99 were 6.7–8.6 / 71–90 ms beside them against 2.7–4.2 / 28–38 ms without.
   */
  const sectionExtras: (() => Promise<unknown>)[] = [];
  const stopSectionExtras = async () => {
    const stops = sectionExtras.splice(0);
    await Promise.all(stops.map((s) => s().catch((e: unknown) => console.error("cleanup:", e))));
  };
  let publishedMs: number[] | undefined;
  const publishedAt = new Map<string, number>();
  const cleanup = async () => {
    await stopSectionExtras();
    for (const c of cleanups.reverse()) await c().catch((e: unknown) => console.error("cleanup:", e));
  };
  try {
    const cp = await startControlPlane({
      config: loadControlPlaneConfig({
        GATEHOUSE_CP_LISTEN: "127.0.0.1:0",
        GATEHOUSE_PG_URL: pgUrl,
        GATEHOUSE_PG_SCHEMA: schema,
        GATEHOUSE_KAFKA_BROKERS: brokers,
        GATEHOUSE_CHANGES_TOPIC: topic,
        GATEHOUSE_CHANGES_PARTITIONS: "12",
        GATEHOUSE_SECRET_KEY: randomBytes(32).toString("base64"),
        GATEHOUSE_OPERATOR_ACCESS_KEY_ID: operator.accessKeyId,
        GATEHOUSE_OPERATOR_SECRET_ACCESS_KEY: operator.secretAccessKey,
      }),
      logger: pino({ level: "warn" }),
      onPublished: (rows) => {
        if (publishedMs === undefined) return;
        const now = Date.now();
        for (const r of rows) {
          publishedMs.push(now - r.committedAtMs);
          publishedAt.set(`${r.accountId}/${r.revision}`, now);
        }
      },
    });
    cleanups.push(async () => {
      const c = new pg.Client({ connectionString: pgUrl });
      await c.connect();
      await c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await c.end();
    });
    cleanups.push(() => deleteTopic({ brokers: brokers.split(","), topic }));
    cleanups.push(() => cp.close());
    const controlPlane = `127.0.0.1:${cp.port}`;

    const regionEnv = {
      ...process.env,
      GATEHOUSE_REGION: "us-east-1",
      GATEHOUSE_REGION_REDIS_URL: redisUrl,
      GATEHOUSE_REGION_KEY_PREFIX: keyPrefix,
      GATEHOUSE_REGION_CONSUMER_GROUP: `bench-region-${id}`,
      GATEHOUSE_REGION_LISTEN: "127.0.0.1:0",
      GATEHOUSE_KAFKA_BROKERS: brokers,
      GATEHOUSE_CHANGES_TOPIC: topic,
      GATEHOUSE_LOG_LEVEL: "warn",
    };
    cleanups.push(async () => {
      const redis = new Redis(redisUrl);
      let cursor = "0";
      do {
        const [next, keys] = await redis.scan(cursor, "MATCH", `${keyPrefix}*`, "COUNT", 1000);
        cursor = next;
        if (keys.length > 0) await redis.del(...keys);
      } while (cursor !== "0");
      await redis.quit();
    });
    const stop = (p: ChildProcess) => async () => {
      if (p.exitCode !== null || p.signalCode !== null) return;
      p.send({ type: "stop" } satisfies ToRegionChild);
      await new Promise((r) => {
        const t = setTimeout(() => {
          p.kill("SIGKILL");
          r(undefined);
        }, 5000);
        p.once("exit", () => {
          clearTimeout(t);
          r(undefined);
        });
      });
    };
    const applier = child("region-child.ts", ["applier"], regionEnv);
    cleanups.push(stop(applier.process));
    await applier.ready;
    const profileDir = join(resultsDir, "profiles");
    if (flags["cpu-prof"]) mkdirSync(profileDir, { recursive: true });
    const deciderOptions = [...serverOptions, ...split(flags["decider-node-options"])];
    const deciderChild = child("region-child.ts", ["decider"], regionEnv, ["--expose-gc", ...deciderOptions]);
    cleanups.push(stop(deciderChild.process));
    const deciderPort = await deciderChild.ready;
    if (pin !== undefined) pinProcess(deciderChild.process.pid, pin.server);
    const decider = `127.0.0.1:${deciderPort}`;
    const authorizer = new AuthorizerServiceClient(decider, credentials.createInsecure());
    cleanups.push(async () => authorizer.close());

    console.log(`region bench: node ${process.version}; creating the dataset through the control plane…`);
    const t0 = performance.now();
    const { accounts, writes } = await createDataset(controlPlane, operator, num("accounts"), num("users"));
    const principals = principalsOf(accounts);
    // Wait until the region applied every account's last revision.
    const status = unary<GetRegionStatusRequest, GetRegionStatusResponse>(authorizer.getRegionStatus.bind(authorizer));
    for (;;) {
      const s = await status({ pageSize: 1000, pageToken: "" });
      if (s.accounts.length >= accounts.length && s.stalenessMs >= 0) {
        // One Authorize per account with min_revision of its last write proves it applied.
        break;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    const lastRevisions = await Promise.all(
      accounts.map(async (a) => {
        const c = controlClient(controlPlane, a.creds);
        const r = await c.call("tagUser", { entityName: "u-0", tags: [{ key: "ready", value: "1" }] });
        c.close();
        return r.revision;
      }),
    );
    const authorizeOnce = unary<AuthorizeRequest, AuthorizeResponse>(authorizer.authorize.bind(authorizer));
    await Promise.all(
      lastRevisions.map((rev, i) =>
        authorizeOnce(
          {
            ...authorizeRequest(
              principals.find((p) => p.accountId === accounts[i]?.accountId) as (typeof principals)[number],
              0,
            ),
            minRevision: rev,
          },
          60_000,
        ),
      ),
    );
    const setupSeconds = (performance.now() - t0) / 1000;
    console.log(
      `  ${accounts.length} accounts, ${principals.length} principals, ${writes} writes, applied in ${setupSeconds.toFixed(1)} s`,
    );

    const noopSize = AuthorizeResponse.encode({
      decision: Decision.DECISION_ALLOW,
      explanationJson: "",
      evaluatedAt: { accountId: accounts[0]?.accountId ?? "", revision: 1000, epoch: "" },
      correlationId: "c1234",
    }).finish().length;
    const noop = child("noop-server.ts", [String(noopSize), NOOP_PATH], process.env, serverOptions);
    cleanups.push(async () => noop.process.kill("SIGTERM"));
    const noopPort = await noop.ready;
    const canary = child("canary.ts", [], process.env);
    cleanups.push(async () => canary.process.kill("SIGTERM"));
    await canary.ready;
    if (pin !== undefined) {
      pinProcess(noop.process.pid, pin.server);
      // This process last: the children above were started before, with the host's affinity.
      pinProcess(process.pid, pin.generator);
      console.log(
        `  pinned (taskset -a): decider and no-op server on CPU ${pin.server}; this process (control plane, load generator, h2load) on CPU ${pin.generator}; the applier and the infrastructure unpinned`,
      );
    }

    const fromDecider = <T extends FromRegionChild["type"]>(type: T, message: ToRegionChild) =>
      new Promise<Extract<FromRegionChild, { type: T }>>((res) => {
        const onMessage = (m: FromRegionChild) => {
          if (m.type !== type) return;
          deciderChild.process.off("message", onMessage);
          res(m as Extract<FromRegionChild, { type: T }>);
        };
        deciderChild.process.on("message", onMessage);
        deciderChild.process.send(message);
      });
    const cpuNow = (p: ChildProcess) =>
      new Promise<number>((res) => {
        const onMessage = (m: { type: string; micros?: number }) => {
          if (m.type !== "cpu") return;
          p.off("message", onMessage);
          res(m.micros ?? 0);
        };
        p.on("message", onMessage);
        p.send({ type: "cpu" });
      });
    const ctx: BenchContext = {
      decider,
      noop: `127.0.0.1:${noopPort}`,
      controlPlane,
      accounts,
      principals,
      authorizer,
      status: () => status({ pageSize: 1, pageToken: "" }),
      async published(fn) {
        publishedMs = [];
        publishedAt.clear();
        try {
          const value = await fn();
          return { value, latenciesMs: publishedMs, at: new Map(publishedAt) };
        } finally {
          publishedMs = undefined;
        }
      },
      async watched(server, fn) {
        const p =
          server === "decider"
            ? deciderChild.process
            : server === "noop"
              ? noop.process
              : server === "canary"
                ? canary.process
                : server;
        const ask = <T>(type: string, reply: string) =>
          new Promise<T>((res) => {
            const onMessage = (m: { type: string }) => {
              if (m.type !== reply) return;
              p.off("message", onMessage);
              res(m as T);
            };
            p.on("message", onMessage);
            p.send({ type });
          });
        await ask("watch-start", "watch-started");
        const value = await fn();
        const { stalls } = await ask<{ stalls: ProcessStalls }>("watch-stop", "watched");
        return { value, stalls };
      },
      async cpuOf(server, fn) {
        const p = server === "decider" ? deciderChild.process : noop.process;
        const before = await cpuNow(p);
        const value = await fn();
        return { value, cpuMicros: (await cpuNow(p)) - before };
      },
      deciderHeap: async () => (await fromDecider("heap", { type: "heap" })).heapUsed,
      async spawnDecider(env, nodeOptions = deciderOptions) {
        const extra = child("region-child.ts", ["decider"], { ...regionEnv, ...env }, [...nodeOptions]);
        sectionExtras.push(stop(extra.process));
        const port = await extra.ready;
        if (pin !== undefined) pinProcess(extra.process.pid, pin.server);
        return { address: `127.0.0.1:${port}`, process: extra.process, cpuMicros: () => cpuNow(extra.process) };
      },
      async spawnNoop(nodeOptions) {
        const extra = child("noop-server.ts", [String(noopSize), NOOP_PATH], process.env, [...nodeOptions]);
        sectionExtras.push(async () => extra.process.kill("SIGTERM"));
        const port = await extra.ready;
        if (pin !== undefined) pinProcess(extra.process.pid, pin.server);
        return { address: `127.0.0.1:${port}`, process: extra.process };
      },
      async heapSampled(file, fn) {
        mkdirSync(profileDir, { recursive: true });
        await fromDecider("heap-sampling-started", { type: "heap-sampling-start" });
        try {
          return await fn();
        } finally {
          await fromDecider("heap-sampling-written", { type: "heap-sampling-stop", file });
          console.log(`  wrote ${file}`);
        }
      },
      async profiled(name, fn) {
        if (!flags["cpu-prof"]) return fn();
        await fromDecider("profile-started", { type: "profile-start" });
        try {
          return await fn();
        } finally {
          const file = join(profileDir, `decider-${name}.cpuprofile`);
          await fromDecider("profile-written", { type: "profile-stop", file });
          console.log(`  wrote ${file}`);
        }
      },
    };

    const figures: Record<string, number> = {};
    const rows: Row[] = [];
    const details: Record<string, object> = {};
    let cacheBefore: GetRegionStatusResponse | undefined;
    for (const section of sections) {
      if (section.name !== "cache" && !only.has(section.name)) continue;
      if (section.name === "authorize" || (section.name === "batch" && cacheBefore === undefined))
        cacheBefore ??= await ctx.status();
      console.log(`${section.name}…`);
      let r: SectionResult;
      try {
        r = await section.run(ctx);
      } finally {
        await stopSectionExtras();
      }
      Object.assign(figures, r.figures);
      rows.push(...r.rows);
      details[section.name] = r.detail;
      if (section.name === "batch" || (section.name === "authorize" && !only.has("batch"))) {
        const after = await ctx.status();
        const hits = Number(after.l1Hits) - Number(cacheBefore?.l1Hits ?? 0);
        const misses = Number(after.l1Misses) - Number(cacheBefore?.l1Misses ?? 0);
        figures.l1_hit_ratio = Number((hits / Math.max(1, hits + misses)).toFixed(5));
        rows.push([
          "L1 hit ratio",
          `${(figures.l1_hit_ratio * 100).toFixed(3)}%`,
          `${fmt(hits)} hits, ${fmt(misses)} misses over the Authorize and batch sections`,
        ]);
      }
    }

    const result = {
      ...figures,
      decider_node_options: flags["decider-node-options"],
      server_node_options: flags["server-node-options"],
      pinning:
        pin === undefined
          ? "none"
          : `taskset -a: decider and no-op server on CPU ${pin.server}; the bench process (control plane, load-generator threads, h2load) on CPU ${pin.generator}; the applier and the infrastructure unpinned`,
      load_generator: `closed loops: requests framed ahead of time, sent over node:http2 from ${num("clients")} worker thread(s) of the bench process (${num("connections")} connections each)${openLoopGenerators.length === 0 ? "" : `; open loop (authorize_p50_ms, authorize_p99_ms, noop_p99_ms): ${generatorLabel(openLoopGenerators[0] as OpenGenerator)}${openLoopGenerators.length > 1 ? `, also ${openLoopGenerators.slice(1).map(generatorLabel).join(" and ")}` : ""}`}`,
      open_loop_generator: openLoopGenerators[0] ?? null,
      started_at: started.toISOString(),
      node: process.version,
      dataset: {
        accounts: accounts.length,
        principals: principals.length,
        writes,
        setup_seconds: Number(setupSeconds.toFixed(1)),
      },
      detail: details,
      targets: {
        authorize_rps: ">= 15000 and >= 0.7 x noop_rps",
        authorize_p99_ms: "<= 2 at half the saturation rate",
        batch_decisions_per_s: ">= 500000",
        batch_principal_decisions_per_s: "(not in issue 13: the compact form beside it)",
        visible_p50_ms: "<= 20",
        visible_p99_ms: "<= 100",
      },
    };
    const width = Math.max(...rows.map((r) => r[0].length));
    const vwidth = Math.max(...rows.map((r) => r[1].length));
    console.log(`\n${"figure".padEnd(width)}  ${"value".padStart(vwidth)}  note`);
    for (const [f, v, n] of rows) console.log(`${f.padEnd(width)}  ${v.padStart(vwidth)}  ${n}`);
    console.log(`\nload generator: ${result.load_generator}`);
    mkdirSync(resultsDir, { recursive: true });
    writeFileSync(join(resultsDir, "region-bench.json"), `${JSON.stringify(result, null, 2)}\n`);
    console.log("wrote loadtest/results/region-bench.json");
  } finally {
    await cleanup();
  }
}

await main();
process.exit(0);
