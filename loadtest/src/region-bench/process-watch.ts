// What stalls a process of the region bench while a window is measured: its event loop's delay
// (perf_hooks.monitorEventLoopDelay, 1 ms resolution), its garbage collections (a
// PerformanceObserver of "gc" entries: count, total and longest pause, by kind), the bytes it
// allocated (v8.GCProfiler: the heap's growth between collections plus what each collection
// freed) and its CPU (this thread's, and the whole process's: the rest is V8's GC helpers and
// libuv's threads). The decider, the no-op server and each load-generator thread watch themselves,
// so an open loop's tail can be put down to the server, the generator or neither (the host).
//
// Pause durations are wall time: on a shared host a thread descheduled in a pause lengthens it.
// Allocated bytes and CPU are what the load swayed least.
import { constants, monitorEventLoopDelay, PerformanceObserver } from "node:perf_hooks";
import { GCProfiler, getHeapStatistics } from "node:v8";
import { isMainThread } from "node:worker_threads";

/** One process's stalls over a window, in ms. */
export interface ProcessStalls {
  readonly loop_delay_p50_ms: number;
  readonly loop_delay_p99_ms: number;
  readonly loop_delay_max_ms: number;
  readonly gc_count: number;
  readonly gc_total_ms: number;
  readonly gc_max_ms: number;
  /**
   * Pauses by V8 collection kind (minor: scavenges; minor_mark_sweep; major: mark-compact, the
   * atomic pause; incremental: marking steps; weakcb: weak callbacks).
   */
  readonly gc_by_kind: Readonly<Record<string, { count: number; total_ms: number; max_ms: number }>>;
  /** Bytes this isolate allocated in the window (the heap's growth plus what collections freed). */
  readonly allocated_bytes: number;
  /** The isolate's heap after the window (used bytes). */
  readonly heap_used_bytes: number;
  /** CPU ms of this thread in the window. */
  readonly thread_cpu_ms: number;
  /** CPU ms of the whole process (all threads) in the window; for a worker thread, the same as the thread's. */
  readonly process_cpu_ms: number;
}

// perf_hooks' kinds (V8's GCType bits). Before 2026-12-05 21:55 UTC this table was off by one bit:
// what earlier JSON calls "incremental" are major (mark-compact) pauses, its "weakcb" incremental
// marking steps, its "major" minor mark-sweeps.
const GC_KINDS: Record<number, string> = {
  [constants.NODE_PERFORMANCE_GC_MINOR]: "minor",
  [constants.NODE_PERFORMANCE_GC_MINOR_MARK_SWEEP]: "minor_mark_sweep",
  [constants.NODE_PERFORMANCE_GC_MAJOR]: "major",
  [constants.NODE_PERFORMANCE_GC_INCREMENTAL]: "incremental",
  [constants.NODE_PERFORMANCE_GC_WEAKCB]: "weakcb",
};
const round = (ms: number) => Number(ms.toFixed(2));

/** Starts watching this thread's event loop and the process's collections; `stop` returns what was seen. */
export function watchStalls(): { stop(): ProcessStalls } {
  const loop = monitorEventLoopDelay({ resolution: 1 });
  loop.enable();
  const byKind: Record<string, { count: number; total_ms: number; max_ms: number }> = {};
  let count = 0;
  let total = 0;
  let max = 0;
  const observer = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      const kind = GC_KINDS[(e as { detail?: { kind?: number } }).detail?.kind ?? 0] ?? "other";
      const k = byKind[kind] ?? { count: 0, total_ms: 0, max_ms: 0 };
      byKind[kind] = k;
      k.count++;
      k.total_ms += e.duration;
      k.max_ms = Math.max(k.max_ms, e.duration);
      count++;
      total += e.duration;
      max = Math.max(max, e.duration);
    }
  });
  observer.observe({ entryTypes: ["gc"] });
  const profiler = new GCProfiler();
  const heapStart = getHeapStatistics().used_heap_size;
  profiler.start();
  const threadStart = process.threadCpuUsage();
  const processStart = process.cpuUsage();
  return {
    stop() {
      const heapEnd = getHeapStatistics().used_heap_size;
      const gcs = profiler.stop()?.statistics ?? [];
      const thread = process.threadCpuUsage(threadStart);
      const whole = isMainThread ? process.cpuUsage(processStart) : thread;
      loop.disable();
      observer.disconnect();
      // Allocated = what the heap grew by between collections (and since the last one).
      let allocated = 0;
      let after = heapStart;
      for (const gc of gcs) {
        allocated += Math.max(0, gc.beforeGC.heapStatistics.usedHeapSize - after);
        after = gc.afterGC.heapStatistics.usedHeapSize;
      }
      allocated += Math.max(0, heapEnd - after);
      const ms = (ns: number) => round(ns / 1e6);
      return {
        loop_delay_p50_ms: ms(loop.percentile(50)),
        loop_delay_p99_ms: ms(loop.percentile(99)),
        loop_delay_max_ms: ms(loop.max),
        gc_count: count,
        gc_total_ms: round(total),
        gc_max_ms: round(max),
        gc_by_kind: Object.fromEntries(
          Object.entries(byKind).map(([k, v]) => [
            k,
            { count: v.count, total_ms: round(v.total_ms), max_ms: round(v.max_ms) },
          ]),
        ),
        allocated_bytes: allocated,
        heap_used_bytes: heapEnd,
        thread_cpu_ms: round((thread.user + thread.system) / 1000),
        process_cpu_ms: round((whole.user + whole.system) / 1000),
      };
    },
  };
}
