import * as hdr from "hdr-histogram-js";

/** How long to warm up and to measure one engine on one workload. */
export interface MeasureOptions {
  warmupMs: number;
  measureMs: number;
  /** Target wall time of one timed batch; see {@link measureDecisions}. Defaults to 20 µs. */
  batchTargetNs?: number;
}

/** The outcome of {@link measureDecisions}. */
export interface DecisionMeasurement {
  decisions: number;
  decisionsPerSecond: number;
  p50Ns: number;
  p99Ns: number;
  /** Decisions per timed batch: 1 means every decision was timed on its own. */
  batchSize: number;
}

/**
 * Times `decide(i)` over the request indices `0..count-1`, cycling through them in order.
 *
 * How sub-microsecond decisions are timed: reading `process.hrtime.bigint()` costs tens of
 * nanoseconds, as much as a fast decision, so decisions are timed in batches of N consecutive
 * requests, N chosen so that one batch takes about `batchTargetNs` (20 µs: clock overhead < 1%).
 * Each batch's average (elapsed / N) is recorded in an HDR histogram with weight N, so percentiles
 * are per decision. When N > 1 the percentiles are of batch averages: they hide variation between
 * requests within one batch (p99 reads lower than a per-call p99 would); the report prints N. Slow
 * engines (tens of µs per call) get N = 1, i.e. true per-call latencies. Throughput is total
 * decisions over total timed time.
 *
 * The decisions feed a sink so the JIT cannot drop the calls.
 */
export function measureDecisions(
  decide: (index: number) => string,
  count: number,
  options: MeasureOptions,
): DecisionMeasurement {
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

  const histogram = hdr.build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: 1e11,
    numberOfSignificantValueDigits: 3,
  });
  let decisions = 0;
  let timedNs = 0n;
  const budgetNs = BigInt(Math.round(options.measureMs * 1e6));
  const start = process.hrtime.bigint();
  while (process.hrtime.bigint() - start < budgetNs) {
    const t0 = process.hrtime.bigint();
    run(batchSize);
    const elapsed = process.hrtime.bigint() - t0;
    timedNs += elapsed;
    decisions += batchSize;
    histogram.recordValueWithCount(Math.max(1, Math.round(Number(elapsed) / batchSize)), batchSize);
  }
  const result: DecisionMeasurement = {
    decisions,
    decisionsPerSecond: decisions / (Number(timedNs) / 1e9),
    p50Ns: histogram.getValueAtPercentile(50),
    p99Ns: histogram.getValueAtPercentile(99),
    batchSize,
  };
  histogram.destroy();
  if (sink === -1) console.log("unreachable");
  return result;
}
