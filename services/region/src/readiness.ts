import type { ProbeResult, ReadinessProbe } from "@gatehouse/lifecycle";
import type { RegionView } from "@gatehouse/view-redis";

/**
 * The readiness name a decider reports on `grpc.health.v1.Health`: SERVING once the region's
 * view has applied the change topic up to its end as of this decider's start, and while its Redis
 * answers. `""` (liveness) stays SERVING while the process runs, Kafka or not.
 */
export const DECIDER_READINESS = "gatehouse.v1.AuthorizerService";

/**
 * The readiness name an applier-only process reports (on `GATEHOUSE_REGION_HEALTH_LISTEN`):
 * SERVING while its Redis answers (active or standing by).
 */
export const APPLIER_READINESS = "gatehouse.region.Applier";

/**
 * Ready once the view has caught up with the topic as it was when the decider started, then for
 * as long as Redis answers. The decider does not read Kafka: it uses the consumer lag the active
 * applier records in the view every second (see GetRegionStatus). The first record made after
 * `startedAtMs` fixes the target (each partition's end offset then, at or past its end at start);
 * the decider is caught up once a record shows every partition applied up to its target. Until
 * an applier records lag after the start (none running, or Kafka unreachable), it is not ready.
 */
export function createCatchUpProbe(view: RegionView, now: () => number = Date.now): ReadinessProbe {
  const startedAtMs = now();
  let targets: Map<number, number> | undefined;
  let caughtUp = false;
  return async (): Promise<ProbeResult> => {
    const lag = await view.consumerLag();
    if (caughtUp) return { ready: true };
    if (lag.length === 0 || lag.some((l) => l.recordedAtMs < startedAtMs)) {
      return {
        ready: false,
        reason:
          "no consumer lag recorded by the region's applier since this decider started (applier down or Kafka unreachable?)",
      };
    }
    targets ??= new Map(lag.map((l) => [l.partition, l.endOffset]));
    const applied = new Map(lag.map((l) => [l.partition, l.appliedOffset]));
    const behind = [...targets].filter(([p, end]) => (applied.get(p) ?? -1) < end);
    if (behind.length > 0) {
      const [p, end] = behind[0] as [number, number];
      return {
        ready: false,
        reason: `catching up: ${behind.length} partition(s) behind the topic's end at start-up (partition ${p} at ${applied.get(p)} of ${end})`,
      };
    }
    caughtUp = true;
    return { ready: true };
  };
}

/** Ready while the region's Redis answers a PING. */
export function createRedisProbe(redis: { ping(): Promise<string> }): ReadinessProbe {
  return async () => {
    await redis.ping();
    return { ready: true };
  };
}
