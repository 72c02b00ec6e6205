import { createHash, randomBytes } from "node:crypto";
import type { Credentials } from "@gatehouse/auth";
import { createSecretBox } from "@gatehouse/auth";
import type { Redis } from "ioredis";
import { HttpError } from "./http-error.ts";
import type { RecordLookup, SessionRecord, SessionRecords } from "./session-records.ts";
import type { SessionInfo } from "./session-store.ts";

/** Options of {@link createRedisSessionRecords}. */
export interface RedisSessionRecordsOptions {
  /** A connection made with `enableOfflineQueue: false` and a `commandTimeout`, so an outage fails fast. */
  readonly redis: Redis;
  readonly keyPrefix: string;
  readonly idleTimeoutMs: number;
  /** The 32-byte key sealing the records, and keys rotated out that still open older ones. */
  readonly secretKey: Uint8Array;
  readonly previousSecretKeys?: readonly Uint8Array[];
  readonly now?: () => number;
  /** Told of every Redis failure (a 503 is answered); the error names no key or value. */
  readonly onError: (e: unknown) => void;
}

const ID = /^[A-Za-z0-9_-]{43}$/;

/** What a sealed record holds (the id is not in it: only its hash is ever stored). */
interface StoredRecord {
  readonly v: 1;
  readonly csrfToken: string;
  readonly info: SessionInfo;
  readonly credentials: Credentials;
}

/** The store's key of a session id: a hash, so neither the cookie's value nor a way back to it is in Redis. */
export function sessionIdHash(id: string): string {
  return createHash("sha256").update(`gatehouse console session\0${id}`).digest("hex");
}

/** The 503 a request answers when Redis does not. */
export function storeUnavailable(): HttpError {
  return new HttpError(
    503,
    "ServiceUnavailable",
    "the console's session store (Redis) is unavailable; try again shortly",
  );
}

/**
 * Sessions in a Redis shared by every gateway replica. Each session is two keys, both named by
 * a hash of its id (the cookie's value never is a key): `session:<hash>`, the record sealed with
 * AES-256-GCM (the project's secret box, the hash as its AAD, so a record moved to another key
 * does not open), whose TTL is the idle timeout (restarted by each request) capped at the
 * credentials' expiry; and `issued:<hash>`, no secret, living until the credentials expire, so
 * that a session Redis expired answers `expired` rather than `none`. Sign-out deletes both.
 * Redis failing rejects with a 503 (fail closed); nothing is cached in the process.
 */
export function createRedisSessionRecords(options: RedisSessionRecordsOptions): SessionRecords {
  const { redis, keyPrefix, idleTimeoutMs } = options;
  const now = options.now ?? Date.now;
  const box = createSecretBox(options.secretKey, options.previousSecretKeys ?? []);
  const keys = (hash: string) => ({ record: `${keyPrefix}session:${hash}`, issued: `${keyPrefix}issued:${hash}` });
  const guarded = async <T>(f: () => Promise<T>): Promise<T> => {
    try {
      return await f();
    } catch (e) {
      options.onError(e);
      throw storeUnavailable();
    }
  };
  /** A transaction's results, throwing the first command error (exec resolves with them). */
  const execOk = async (results: [Error | null, unknown][] | null): Promise<unknown[]> => {
    if (results === null) throw new Error("Redis transaction discarded");
    for (const [err] of results) if (err !== null) throw err;
    return results.map(([, v]) => v);
  };
  const ttl = (info: SessionInfo, t: number) => Math.max(1, Math.min(idleTimeoutMs, info.expiresAt - t));

  return {
    create: (info, credentials) =>
      guarded(async () => {
        const t = now();
        const id = randomBytes(32).toString("base64url");
        const csrfToken = randomBytes(32).toString("base64url");
        const hash = sessionIdHash(id);
        const k = keys(hash);
        const stored: StoredRecord = { v: 1, csrfToken, info, credentials };
        const sealed = box.seal(JSON.stringify(stored), k.record);
        await execOk(
          await redis
            .multi()
            .set(k.record, sealed, "PX", ttl(info, t))
            .set(k.issued, "1", "PX", Math.max(1, info.expiresAt - t))
            .exec(),
        );
        return { id, csrfToken, info, credentials } satisfies SessionRecord;
      }),
    touch: (id) =>
      guarded(async (): Promise<RecordLookup> => {
        if (id === undefined || !ID.test(id)) return { kind: "none" };
        const k = keys(sessionIdHash(id));
        const [sealed, issued] = (await execOk(await redis.pipeline().getBuffer(k.record).exists(k.issued).exec())) as [
          Buffer | null,
          number,
        ];
        if (sealed === null) return issued === 1 ? { kind: "expired" } : { kind: "none" };
        let stored: StoredRecord;
        try {
          stored = JSON.parse(box.open(sealed, k.record)) as StoredRecord;
        } catch (e) {
          // Sealed under a key no longer configured, or altered: the session cannot be served.
          options.onError(e);
          await redis.del(k.record, k.issued);
          return { kind: "expired" };
        }
        const t = now();
        if (t >= stored.info.expiresAt) {
          await redis.del(k.record, k.issued);
          return { kind: "expired" };
        }
        // A key deleted meanwhile (sign-out elsewhere) stays deleted: PEXPIRE does not create.
        await redis.pexpire(k.record, ttl(stored.info, t));
        return {
          kind: "active",
          session: { id, csrfToken: stored.csrfToken, info: stored.info, credentials: stored.credentials },
        };
      }),
    end: (id) =>
      guarded(async () => {
        if (!ID.test(id)) return;
        const k = keys(sessionIdHash(id));
        await redis.del(k.record, k.issued);
      }),
    sweep: () => {},
    size: () => undefined,
    close: async () => {},
  };
}
