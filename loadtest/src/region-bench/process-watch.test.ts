import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { describe, expect, it } from "vitest";
import { watchStalls } from "./process-watch.ts";

// A full collection on demand: --expose-gc set at run time, gc() taken from a fresh context.
setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

describe("watchStalls", () => {
  it("counts the bytes allocated in the window, those collected meanwhile included", async () => {
    const watch = watchStalls();
    // 64 MiB in 64 KiB arrays, almost all garbage at once: several scavenges free them.
    let kept = 0;
    for (let i = 0; i < 1024; i++) {
      const a = new Array<number>(8192).fill(i);
      kept += a.length;
    }
    await new Promise((r) => setTimeout(r, 50));
    const s = watch.stop();
    expect(kept).toBe(1024 * 8192);
    expect(s.allocated_bytes).toBeGreaterThan(60 * 1024 * 1024);
    expect(s.allocated_bytes).toBeLessThan(90 * 1024 * 1024);
    expect(s.gc_by_kind.minor?.count ?? 0).toBeGreaterThan(0);
    expect(s.thread_cpu_ms).toBeGreaterThan(0);
    // The process's CPU includes this thread's; the two clocks (getrusage for the process and
    // for the thread) are read a moment apart and accounted separately by the kernel, so allow
    // them 2 ms of disagreement (a CI run saw the process 0.3 ms behind the thread).
    expect(s.process_cpu_ms).toBeGreaterThanOrEqual(s.thread_cpu_ms - 2);
  });

  it("names a full collection major (perf_hooks' kinds)", async () => {
    const watch = watchStalls();
    gc();
    // The observer is told asynchronously.
    await new Promise((r) => setTimeout(r, 50));
    const s = watch.stop();
    expect(s.gc_by_kind.major?.count ?? 0).toBeGreaterThan(0);
    expect(
      Object.keys(s.gc_by_kind).every((k) =>
        ["minor", "minor_mark_sweep", "major", "incremental", "weakcb"].includes(k),
      ),
    ).toBe(true);
  });
});
