// An optional open-loop generator for the region bench: h2load (Debian's nghttp2-client, written in
// C) sending one pre-framed gRPC request at a fixed rate (`--rps`) on one connection, every
// request's start and duration written to its `--log-file`. It costs the shared machine far less
// CPU per call than node:http2 worker threads, so the open loop's tail says more about the server.
//
// Its pacing is coarse: h2load's --rps sends what is due in bursts at about 100 Hz (measured
// here: at 2,000/s, 95% of requests started together with the one before and the rest about 10 ms
// apart), so a request waits up to ~10 ms before it is sent, which the correction below counts
// (`pacing` reports it): its p50 includes that wait, and the server sees bursts.
//
// What it cannot do: vary the request (h2load posts one body: the first frame of the mix, so the
// decider answers one question over and over), or check grpc-status (it sees HTTP 200 for every
// gRPC answer; the bench checks answers through grpc-js before). Latency is corrected for
// coordinated omission here: the nth request (by start time) was due at t0 + n / rate, and counts
// from then, so a request h2load sent late (its streams all busy, its thread descheduled) counts
// its wait.
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { LoadResult, LoadRun } from "./h2-load.ts";
import { watchStalls } from "./process-watch.ts";

/** The `q` quantile of `us` (µs), in ms. */
function percentileMs(us: number[], q: number): number {
  const sorted = [...us].sort((a, b) => a - b);
  return Number(((sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0) / 1000).toFixed(3));
}

/** Whether h2load is on PATH. */
export function h2loadAvailable(): boolean {
  return spawnSync("h2load", ["--version"], { stdio: "ignore" }).status === 0;
}

/**
 * Runs an open loop (`run.mode.kind === "open"`) with h2load over `connections` connections (its
 * clients: each sends `rate / connections` per second, h2load's `--rps` being per client); the
 * result as the node workers report it.
 */
export async function runH2load(run: LoadRun, connections = 1): Promise<LoadResult> {
  if (run.mode.kind !== "open") throw new Error("h2load is used for the open loop only");
  const rate = run.mode.rate;
  const dir = mkdtempSync(join(tmpdir(), "region-bench-h2load-"));
  try {
    const body = join(dir, "request.bin");
    const log = join(dir, "requests.log");
    writeFileSync(body, run.frames[0] as Uint8Array);
    const total = Math.round((run.warmupSeconds + run.seconds) * rate);
    const args = [
      "-n",
      String(total),
      "-c",
      String(connections),
      "-t",
      "1",
      "-m",
      "1024",
      `--rps=${rate / connections}`,
      "-H",
      "content-type: application/grpc",
      "-H",
      "te: trailers",
      "-d",
      body,
      `--log-file=${log}`,
      `http://${run.address}${run.path}`,
    ];
    // This thread's stalls (the bench's main thread, idle meanwhile), for the result's shape.
    const watch = watchStalls();
    const { code, stderr } = await new Promise<{ code: number | null; stderr: string }>((resolve, reject) => {
      const p = spawn("h2load", args, { stdio: ["ignore", "ignore", "pipe"] });
      let err = "";
      p.stderr.on("data", (d: Buffer) => {
        err += d.toString();
      });
      p.once("error", reject);
      p.once("exit", (c) => resolve({ code: c, stderr: err }));
    });
    const stalls = watch.stop();
    if (code !== 0) throw new Error(`h2load exited with ${code}: ${stderr.slice(0, 500)}`);
    // Rows: start (µs since the epoch), HTTP status, µs until the end of the response.
    const rows = readFileSync(log, "utf8")
      .split("\n")
      .filter((l) => l !== "")
      .map((l) => l.split("\t").map(Number) as [number, number, number])
      .sort((a, b) => a[0] - b[0]);
    const t0 = rows[0]?.[0] ?? 0;
    const warmupCalls = Math.floor(run.warmupSeconds * rate);
    const intervalUs = 1e6 / rate;
    const latencies: number[] = [];
    const lags: number[] = [];
    let errors = 0;
    let completed = 0;
    for (let i = warmupCalls; i < rows.length; i++) {
      const [start, status, took] = rows[i] as [number, number, number];
      lags.push(start - (t0 + i * intervalUs));
      if (status !== 200) {
        errors++;
        continue;
      }
      completed++;
      latencies.push(start + took - (t0 + i * intervalUs));
    }
    const first = rows[warmupCalls]?.[0] ?? t0;
    const last = rows.reduce((m, r) => Math.max(m, r[0] + r[2]), 0);
    return {
      completed,
      completedAll: rows.length - errors,
      errors: errors + (total - rows.length),
      seconds: Math.max(1e-3, (last - first) / 1e6),
      latenciesUs: Float64Array.from(latencies),
      // h2load's own CPU is not measured (another process).
      cpuMs: Number.NaN,
      stalls,
      pacing: {
        send_lag_p50_ms: percentileMs(lags, 0.5),
        send_lag_p99_ms: percentileMs(lags, 0.99),
      },
      ...(rows.length < total ? { firstError: `h2load logged ${rows.length} of ${total} requests` } : {}),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
