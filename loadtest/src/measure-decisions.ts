/** How long to warm up and to measure one engine on one workload. */
export interface MeasureOptions {
  warmupMs: number;
  measureMs: number;
  /** Target wall time of one timed batch; see {@link measureThroughput}. Defaults to 20 µs. */
  batchTargetNs?: number;
}

/** The outcome of {@link measureThroughput}. */
export interface ThroughputMeasurement {
  decisions: number;
  decisionsPerSecond: number;
  /** Decisions per timed batch. */
  batchSize: number;
}

/**
 * Decisions per second of `decide(i)` over the request indices `0..count-1`, cycling in order.
 *
 * Reading `process.hrtime.bigint()` costs tens of nanoseconds, as much as a fast decision, so the
 * calls are timed in batches of N consecutive requests, N chosen so that one batch takes about
 * `batchTargetNs` (20 µs: clock overhead < 1%). Throughput is total decisions over total timed
 * time. Batches give no per-call latency: {@link samplePerCall} measures that.
 *
 * The decisions feed a sink so the JIT cannot drop the calls.
 */
export function measureThroughput(
  decide: (index: number) => string,
  count: number,
  options: MeasureOptions,
): ThroughputMeasurement {
  let sink = 0;
  let next = 0;
  const run = (n: number) => {
    for (let k = 0; k < n; k++) {
      sink += decide(next).length;
      next = next + 1 === count ? 0 : next + 1;
    }
  };

  // Warm up (JIT tiers, inline caches), then calibrate the batch size on warm code.
  const warmStart = process.hrtime.bigint();
  const warmupNs = BigInt(Math.round(options.warmupMs * 1e6));
  while (process.hrtime.bigint() - warmStart < warmupNs) run(Math.min(count, 64));
  let probe = 1;
  let probeNs = 0;
  for (;;) {
    const t0 = process.hrtime.bigint();
    run(probe);
    probeNs = Number(process.hrtime.bigint() - t0);
    if (probeNs >= 1_000_000 || probe >= 1 << 20) break;
    probe *= 2;
  }
  // The fastest of a few probes: a probe that got descheduled would make batches too small.
  for (let i = 0; i < 4; i++) {
    const t0 = process.hrtime.bigint();
    run(probe);
    probeNs = Math.min(probeNs, Number(process.hrtime.bigint() - t0));
  }
  const perDecision = probeNs / probe;
  const batchSize = Math.max(1, Math.min(4096, Math.round((options.batchTargetNs ?? 20_000) / perDecision)));

  let decisions = 0;
  let timedNs = 0n;
  const budgetNs = BigInt(Math.round(options.measureMs * 1e6));
  const start = process.hrtime.bigint();
  while (process.hrtime.bigint() - start < budgetNs) {
    const t0 = process.hrtime.bigint();
    run(batchSize);
    timedNs += process.hrtime.bigint() - t0;
    decisions += batchSize;
  }
  if (sink === -1) console.log("unreachable");
  return { decisions, decisionsPerSecond: decisions / (Number(timedNs) / 1e9), batchSize };
}

/**
 * The cost of one `process.hrtime.bigint()` reading as seen between two back-to-back readings: the
 * median of many such pairs. Per-call samples subtract it.
 */
export function timerOverheadNs(pairs = 20_001): number {
  const deltas = new Float64Array(pairs);
  for (let i = 0; i < pairs; i++) {
    const t0 = process.hrtime.bigint();
    deltas[i] = Number(process.hrtime.bigint() - t0);
  }
  deltas.sort();
  return deltas[pairs >> 1] as number;
}

/**
 * The nearest-rank percentile of ascending `sorted` values (`p` in 0..100): the smallest value with
 * at least p% of the values at or below it. NaN for no values.
 */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[Math.min(rank, sorted.length) - 1] as number;
}

/** Per-call latency percentiles, in ns. */
export interface PerCallLatency {
  p50Ns: number;
  p99Ns: number;
  meanNs: number;
  samples: number;
  /** What was subtracted from every sample: the timer's own cost ({@link timerOverheadNs}). */
  timerOverheadNs: number;
}

/**
 * p50/p99/mean of raw single-call timings (each `t1 - t0` around one call) after subtracting the
 * timer's own overhead; a sample below the overhead counts as 0.
 */
export function perCallLatency(rawNs: readonly number[], overheadNs: number): PerCallLatency {
  const net = rawNs.map((t) => Math.max(0, t - overheadNs)).sort((a, b) => a - b);
  const mean = net.length === 0 ? Number.NaN : net.reduce((a, b) => a + b, 0) / net.length;
  return {
    p50Ns: percentile(net, 50),
    p99Ns: percentile(net, 99),
    meanNs: Math.round(mean),
    samples: net.length,
    timerOverheadNs: overheadNs,
  };
}

/** Options of {@link samplePerCall}. */
export interface SampleOptions {
  /** Stop after this many samples… */
  samples: number;
  /** …or after this much wall time, whichever comes first (at least 10 samples are taken). */
  budgetMs: number;
  /** Calls made untimed first (JIT warm-up); the throughput phase usually has warmed the code already. */
  warmupCalls?: number;
}

/**
 * Times single calls of `decide(i)`, one `process.hrtime.bigint()` pair around each, cycling through
 * the request indices, and returns the per-call percentiles net of the timer overhead. This is what
 * a latency histogram of a service would see, and what the peers' per-call figures are.
 */
export function samplePerCall(
  decide: (index: number) => string,
  count: number,
  options: SampleOptions,
  overheadNs: number,
): PerCallLatency {
  let sink = 0;
  for (let i = 0; i < (options.warmupCalls ?? 0); i++) sink += decide(i % count).length;
  const raw: number[] = [];
  const budgetNs = BigInt(Math.round(options.budgetMs * 1e6));
  const start = process.hrtime.bigint();
  let next = 0;
  while (raw.length < options.samples && (raw.length < 10 || process.hrtime.bigint() - start < budgetNs)) {
    const t0 = process.hrtime.bigint();
    sink += decide(next).length;
    raw.push(Number(process.hrtime.bigint() - t0));
    next = next + 1 === count ? 0 : next + 1;
  }
  if (sink === -1) console.log("unreachable");
  return perCallLatency(raw, overheadNs);
}
