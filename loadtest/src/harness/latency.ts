/**
 * Latency recording in HDR histograms (microseconds, 3 significant digits), and the open-loop
 * schedule that corrects for coordinated omission: each request's latency is measured from the
 * time it was due, not from when the loaded client managed to send it.
 */
import hdr from "hdr-histogram-js";

/** A histogram of microseconds. */
export type Histogram = ReturnType<typeof hdr.build>;

/** A histogram of microseconds from 1 µs to 10 min. */
export function histogram(): Histogram {
  return hdr.build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: 600_000_000,
    numberOfSignificantValueDigits: 3,
  });
}

/** Records a duration given in milliseconds. */
export function recordMs(h: Histogram, ms: number): void {
  h.recordValue(Math.max(1, Math.round(ms * 1000)));
}

/** A percentile of `h` in milliseconds (0 when empty). */
export function pctMs(h: Histogram, p: number): number {
  return h.totalCount === 0 ? 0 : h.getValueAtPercentile(p) / 1000;
}

/**
 * Runs `call` at `rate` per second for `durationMs` (open loop): call i is due at
 * start + i / rate whatever became of the earlier ones; its latency, from its due time to its
 * completion, goes to `h`. Returns how many were sent and how many failed.
 */
export async function openLoop(
  rate: number,
  durationMs: number,
  call: (i: number) => Promise<void>,
  h: Histogram,
  onDone?: () => void,
): Promise<{ sent: number; failed: number; ms: number; errors: Map<string, number> }> {
  const total = Math.floor((rate * durationMs) / 1000);
  const start = performance.now();
  const inFlight = new Set<Promise<void>>();
  const errors = new Map<string, number>();
  let failed = 0;
  let sent = 0;
  while (sent < total) {
    const now = performance.now();
    const due = Math.min(total, Math.floor(((now - start) * rate) / 1000) + 1);
    for (; sent < due; sent++) {
      const dueAt = start + (sent * 1000) / rate;
      const p: Promise<void> = call(sent).then(
        () => {
          recordMs(h, performance.now() - dueAt);
          onDone?.();
        },
        (e: unknown) => {
          failed++;
          const name = (e as { awsName?: string; code?: string }).awsName ?? (e as Error).message;
          errors.set(name, (errors.get(name) ?? 0) + 1);
        },
      );
      inFlight.add(p);
      void p.finally(() => inFlight.delete(p));
    }
    const next = start + (sent * 1000) / rate;
    await new Promise((r) => setTimeout(r, Math.max(0, Math.min(5, next - performance.now()))));
  }
  await Promise.all(inFlight);
  return { sent, failed, ms: performance.now() - start, errors };
}

/**
 * Runs `concurrency` workers that each call `call` again as soon as the last answered, for
 * `durationMs` (closed loop: finds saturation; its latencies are service times, not what a
 * caller at a fixed rate would see). Returns completed calls and failures.
 */
export async function closedLoop(
  concurrency: number,
  durationMs: number,
  call: (i: number) => Promise<number>,
  h: Histogram,
): Promise<{ calls: number; units: number; failed: number; ms: number }> {
  const start = performance.now();
  const end = start + durationMs;
  let calls = 0;
  let units = 0;
  let failed = 0;
  let i = 0;
  const worker = async () => {
    while (performance.now() < end) {
      const t = performance.now();
      try {
        // Not `units += await call()`: that reads `units` before the await, and the workers running
        // meanwhile would have their additions overwritten.
        const done = await call(i++);
        units += done;
        calls++;
        recordMs(h, performance.now() - t);
      } catch {
        failed++;
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return { calls, units, failed, ms: performance.now() - start };
}

/**
 * `h`'s counts in log-spaced buckets of milliseconds (ten per decade: 1, 1.26, 1.58, … ms), from
 * the histogram's recorded values (each HDR bucket counted once, at its highest equivalent value).
 */
export function latencyBuckets(h: Histogram): { from_ms: number; to_ms: number; count: number }[] {
  const counts = new Map<number, number>();
  if (!(h instanceof hdr.JsHistogram)) throw new Error("latencyBuckets needs a JS (not wasm) histogram");
  const it = h.recordedValuesIterator;
  it.reset();
  while (it.hasNext()) {
    const v = it.next();
    const ms = h.highestEquivalentValue(v.valueIteratedTo) / 1000;
    const k = Math.floor(Math.log10(Math.max(ms, 0.001)) * 10);
    counts.set(k, (counts.get(k) ?? 0) + v.countAddedInThisIterationStep);
  }
  const edge = (k: number) => Math.round(10 ** (k / 10) * 10_000) / 10_000;
  return [...counts.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([k, count]) => ({ from_ms: edge(k), to_ms: edge(k + 1), count }));
}
