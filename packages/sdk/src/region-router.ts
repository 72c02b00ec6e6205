import { Client, credentials as grpcCredentials, Metadata, type ServiceError } from "@grpc/grpc-js";
import type { RegionRouting } from "./client-config.ts";
import { GatehouseError } from "./errors.ts";

/** The readiness name a region's deciders report on `grpc.health.v1.Health` (SERVING once caught up). */
const DECIDER_READINESS = "gatehouse.v1.AuthorizerService";
const HEALTH_CHECK = "/grpc.health.v1.Health/Check";
const SERVING = 1;

/** Options of {@link RegionRouter}. */
export interface RegionRouterOptions {
  readonly routing: RegionRouting;
  /** The configured region (the only one for `home` routing). */
  readonly home: string | undefined;
  /** Each region's endpoints (`host:port`), for probing. */
  readonly endpoints: Readonly<Record<string, readonly string[]>>;
  /** `nearest`: how often round-trip times are measured again (default 30,000 ms; 0: only at start). */
  readonly probeIntervalMs?: number;
  /** A region that failed to answer is tried last for this long (default 10,000 ms). */
  readonly cooldownMs?: number;
  readonly now?: () => number;
}

/** What the router knows of one region. */
export interface RegionHealth {
  readonly region: string;
  /** The best of the last probe's round trips (ms); undefined before a probe or when it failed. */
  readonly rttMs: number | undefined;
  /** Whether its deciders said SERVING at the last probe (true before any probe). */
  readonly serving: boolean;
  /** Until when it is tried last, after it failed to answer (epoch ms; 0: not demoted). */
  readonly demotedUntil: number;
}

/** A one-field protobuf message: `grpc.health.v1.HealthCheckRequest { string service = 1; }`. */
function encodeHealthRequest(service: string): Buffer {
  const name = Buffer.from(service, "utf8");
  return Buffer.concat([Buffer.from([0x0a, name.length]), name]);
}

/** `HealthCheckResponse { ServingStatus status = 1; }`: the status, 0 (UNKNOWN) when absent. */
function decodeHealthStatus(bytes: Buffer): number {
  return bytes.length >= 2 && bytes[0] === 0x08 ? (bytes[1] as number) : 0;
}

/**
 * Picks the region each check or STS call goes to, and fails over to the next region when one
 * cannot answer (`UNAVAILABLE` after its own endpoints were tried: down, unreachable, or staler
 * than the call's `maxStalenessMs`). A region that failed is tried last for `cooldownMs`.
 *
 * - `home`: the configured region only (no fail-over across regions).
 * - `ordered`: the regions in the order given (`region_order = us-east-1, eu-west-1`).
 * - `nearest`: every region with endpoints, ordered by round-trip time: at start (the first call
 *   waits for it) and every `probeIntervalMs`, each region's first endpoint is asked
 *   `grpc.health.v1.Health/Check` three times over a connection of its own and the fastest
 *   answer counts; regions whose deciders are not SERVING (still catching up) come after those
 *   that are, and regions that do not answer come last. Ties keep the configured order.
 */
export class RegionRouter {
  readonly #options: RegionRouterOptions;
  readonly #now: () => number;
  readonly #health = new Map<string, { rttMs: number | undefined; serving: boolean; demotedUntil: number }>();
  readonly #probeClients = new Map<string, Client>();
  #probing: Promise<void> | undefined;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(options: RegionRouterOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
    for (const r of this.#candidates()) this.#health.set(r, { rttMs: undefined, serving: true, demotedUntil: 0 });
  }

  #candidates(): readonly string[] {
    const { routing, home } = this.#options;
    if (routing.kind === "home") return home === undefined ? [] : [home];
    return routing.regions;
  }

  /** The regions in the order the next call tries them. */
  order(): string[] {
    const candidates = this.#candidates();
    const now = this.#now();
    const rank = (r: string): [number, number, number] => {
      const h = this.#health.get(r);
      if (h === undefined) return [0, 0, 0];
      const demoted = h.demotedUntil > now ? 1 : 0;
      if (this.#options.routing.kind !== "nearest") return [demoted, 0, 0];
      return [demoted, h.serving ? 0 : 1, h.rttMs ?? Number.POSITIVE_INFINITY];
    };
    return candidates
      .map((r, i) => ({ r, i, k: rank(r) }))
      .sort((a, b) => a.k[0] - b.k[0] || a.k[1] - b.k[1] || a.k[2] - b.k[2] || a.i - b.i)
      .map((x) => x.r);
  }

  /** What the router knows of each candidate region. */
  health(): RegionHealth[] {
    return this.#candidates().map((region) => {
      const h = this.#health.get(region);
      return { region, rttMs: h?.rttMs, serving: h?.serving ?? true, demotedUntil: h?.demotedUntil ?? 0 };
    });
  }

  /**
   * Runs `attempt(region, remainingMs)` on the regions in order until one answers. Only an
   * idempotent call moves on to the next region, and only after `UNAVAILABLE`.
   */
  async route<T>(
    timeoutMs: number,
    idempotent: boolean,
    attempt: (region: string, remainingMs: number) => Promise<T>,
  ): Promise<T> {
    // One region: nothing to order or fail over to (the hot path of most clients).
    if (this.#options.routing.kind === "home") return attempt(this.#options.home as string, timeoutMs);
    if (this.#options.routing.kind === "nearest") await this.#startProbing();
    const deadline = this.#now() + timeoutMs;
    const order = this.order();
    // No candidate (nearest with no region configured): the configured region says what is missing.
    if (order.length === 0) return attempt(this.#options.home as string, timeoutMs);
    let last: unknown;
    for (const [i, region] of order.entries()) {
      const remaining = deadline - this.#now();
      if (i > 0 && remaining <= 0) break;
      try {
        const value = await attempt(region, Math.max(remaining, 1));
        const h = this.#health.get(region);
        if (h !== undefined) h.demotedUntil = 0;
        return value;
      } catch (e) {
        last = e;
        if (!(e instanceof GatehouseError) || e.code !== "UNAVAILABLE" || !idempotent) throw e;
        const h = this.#health.get(region);
        if (h !== undefined) h.demotedUntil = this.#now() + (this.#options.cooldownMs ?? 10_000);
      }
    }
    throw last;
  }

  /** Measures every candidate region once (joining a round under way). */
  probe(): Promise<void> {
    this.#probing ??= Promise.all(this.#candidates().map((r) => this.#probeRegion(r))).then(() => {
      this.#probing = undefined;
    });
    return this.#probing;
  }

  #started = false;
  #startProbing(): Promise<void> {
    if (this.#started || this.#closed) return Promise.resolve();
    this.#started = true;
    const interval = this.#options.probeIntervalMs ?? 30_000;
    if (interval > 0) {
      this.#timer = setInterval(() => void this.probe(), interval);
      this.#timer.unref();
    }
    return this.probe();
  }

  async #probeRegion(region: string): Promise<void> {
    const endpoint = this.#options.endpoints[region]?.[0];
    const h = this.#health.get(region);
    if (endpoint === undefined || h === undefined) return;
    let client = this.#probeClients.get(region);
    if (client === undefined) {
      client = new Client(endpoint, grpcCredentials.createInsecure(), {
        "grpc.initial_reconnect_backoff_ms": 200,
        "grpc.max_reconnect_backoff_ms": 2_000,
      });
      this.#probeClients.set(region, client);
    }
    let best: number | undefined;
    let serving = false;
    for (let i = 0; i < 3; i++) {
      const started = performance.now();
      const status = await new Promise<number | undefined>((resolve) => {
        (client as Client).makeUnaryRequest(
          HEALTH_CHECK,
          (service: string) => encodeHealthRequest(service),
          decodeHealthStatus,
          DECIDER_READINESS,
          new Metadata(),
          { deadline: Date.now() + 1_000 },
          (e: ServiceError | null, status?: number) => resolve(e === null ? status : undefined),
        );
      });
      if (status === undefined) break;
      serving = status === SERVING;
      const rtt = performance.now() - started;
      best = best === undefined ? rtt : Math.min(best, rtt);
    }
    h.rttMs = best;
    h.serving = best === undefined ? false : serving;
  }

  /** Stops probing and closes the probes' connections. */
  close(): void {
    this.#closed = true;
    if (this.#timer !== undefined) clearInterval(this.#timer);
    for (const c of this.#probeClients.values()) c.close();
    this.#probeClients.clear();
  }
}
