import { hostname } from "node:os";
import type { Redis } from "ioredis";
import type { Logger } from "pino";

/** Options of {@link acquireApplierLease}. */
export interface ApplierLeaseOptions {
  /** A command connection to the region's Redis. */
  readonly redis: Redis;
  /** The view's key prefix: the lease is `<prefix>lease`, the fencing token `<prefix>fence`. */
  readonly keyPrefix: string;
  /** How long a lease lives without renewal (renewed every third of it). */
  readonly ttlMs: number;
  readonly logger: Logger;
  /** Gives up waiting (resolves undefined) once aborted. */
  readonly signal?: AbortSignal;
  /** Tries once: resolves undefined at once when another applier holds the lease. */
  readonly once?: boolean;
}

/** The region's applier lease, held. */
export interface ApplierLease {
  /** Who holds it (`host:pid:random`), as stored in Redis. */
  readonly owner: string;
  /**
   * The fencing token: incremented on every acquisition and checked by the view's write scripts,
   * so an applier that lost the lease (paused, partitioned) cannot write after its successor began.
   */
  readonly token: string;
  /** Resolves when the lease is lost (taken over, or not renewed within its TTL). */
  readonly lost: Promise<void>;
  /** Stops renewing and frees the lease at once if still held (a clean shutdown hands over fast). */
  release(): Promise<void>;
}

const ACQUIRE_LUA = `
if redis.call('SET', ARGV[1] .. 'lease', ARGV[2], 'NX', 'PX', ARGV[3]) then
  return tostring(redis.call('INCR', ARGV[1] .. 'fence'))
end
return false
`;
const RENEW_LUA = `
if redis.call('GET', ARGV[1] .. 'lease') == ARGV[2] then return redis.call('PEXPIRE', ARGV[1] .. 'lease', ARGV[3]) end
return 0
`;
const RELEASE_LUA = `
if redis.call('GET', ARGV[1] .. 'lease') == ARGV[2] then return redis.call('DEL', ARGV[1] .. 'lease') end
return 0
`;

/**
 * Waits until this process holds the region's applier lease (one active applier per region; the
 * others wait here as standbys, trying every third of the TTL), then keeps it renewed.
 * Resolves undefined if `signal` aborts first.
 * @example
 * const lease = await acquireApplierLease({ redis, keyPrefix, ttlMs: 5000, logger });
 * const view = createRegionView({ redis, keyPrefix, fencingToken: lease.token });
 */
export async function acquireApplierLease(options: ApplierLeaseOptions): Promise<ApplierLease | undefined> {
  const { redis, keyPrefix: p, ttlMs, logger, signal } = options;
  const owner = `${hostname()}:${process.pid}:${Math.random().toString(36).slice(2, 10)}`;
  const every = Math.max(50, Math.floor(ttlMs / 3));
  let token: string | undefined;
  let waitingLogged = false;
  while (token === undefined) {
    if (signal?.aborted) return undefined;
    try {
      const got = (await redis.eval(ACQUIRE_LUA, 0, p, owner, String(ttlMs))) as string | null;
      if (got !== null) token = got;
    } catch (e) {
      logger.warn({ err: e }, "applier lease: Redis unreachable");
    }
    if (token === undefined) {
      if (options.once === true) return undefined;
      if (!waitingLogged) logger.info("standby: another applier holds the region's lease");
      waitingLogged = true;
      await new Promise((r) => setTimeout(r, every));
    }
  }
  logger.info({ owner, token }, "applier lease acquired");
  let markLost = () => {};
  const lost = new Promise<void>((resolve) => {
    markLost = resolve;
  });
  let held = true;
  let renewedAt = Date.now();
  const lose = (why: string) => {
    if (!held) return;
    held = false;
    clearInterval(timer);
    logger.error({ owner, token, why }, "applier lease lost");
    markLost();
  };
  const timer = setInterval(() => {
    redis.eval(RENEW_LUA, 0, p, owner, String(ttlMs)).then(
      (ok) => {
        if (Number(ok) === 1) renewedAt = Date.now();
        else lose("another applier holds it");
      },
      (e: unknown) => {
        logger.warn({ err: e }, "applier lease: renewal failed");
        if (Date.now() - renewedAt >= ttlMs) lose("not renewed within its TTL");
      },
    );
  }, every);
  timer.unref();
  return {
    owner,
    token,
    lost,
    async release() {
      if (!held) return;
      held = false;
      clearInterval(timer);
      await redis.eval(RELEASE_LUA, 0, p, owner).catch(() => {});
    },
  };
}
