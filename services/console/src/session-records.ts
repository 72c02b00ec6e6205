import type { Credentials } from "@gatehouse/auth";
import { createSessionStore, type SessionInfo } from "./session-store.ts";

/** A signed-in session as a store holds it: no connection, only what any replica needs to serve it. */
export interface SessionRecord {
  /** The opaque id the cookie carries (32 random bytes, base64url). */
  readonly id: string;
  /** The token every non-GET request must carry in `X-CSRF-Token`. */
  readonly csrfToken: string;
  readonly info: SessionInfo;
  /** The temporary credentials: they never leave the gateway (in Redis they rest sealed). */
  readonly credentials: Credentials;
}

/** Why a session id found no session: `expired` (idle or credentials expired) or `none` (unknown, signed out). */
export type RecordLookup =
  | { readonly kind: "active"; readonly session: SessionRecord }
  | { readonly kind: "expired" }
  | { readonly kind: "none" };

/**
 * Where the gateway keeps sessions: this process ({@link memorySessionRecords}) or a Redis the
 * replicas share (`createRedisSessionRecords`). Every method may reject with a 503 `HttpError`
 * when the store cannot answer (fail closed: no session is assumed).
 */
export interface SessionRecords {
  /** A new session with fresh random id and CSRF token. */
  create(info: SessionInfo, credentials: Credentials): Promise<SessionRecord>;
  /** The session with this id, its idle clock restarted, or why there is none. */
  touch(id: string | undefined): Promise<RecordLookup>;
  /** Ends a session now (sign-out, a new sign-in over it). */
  end(id: string): Promise<void>;
  /** Ends what timed out (a no-op where the store expires records itself). */
  sweep(): void;
  /** Sessions held, when the store knows cheaply (the process's); undefined for a shared store. */
  size(): number | undefined;
  /** Ends the process's sessions (memory) or lets go of the connection (shared: sessions stay). */
  close(): Promise<void>;
}

/** Options of {@link memorySessionRecords}. */
export interface MemorySessionRecordsOptions {
  readonly idleTimeoutMs: number;
  readonly maxSessions: number;
  readonly now?: () => number;
  /** Called with the id of each session that ends (sign-out, idle, expiry, eviction). */
  readonly onEnd: (id: string) => void;
}

/** Sessions in this process (the default; one replica, a restart signs everyone out). */
export function memorySessionRecords(options: MemorySessionRecordsOptions): SessionRecords {
  const store = createSessionStore<undefined>({
    idleTimeoutMs: options.idleTimeoutMs,
    maxSessions: options.maxSessions,
    ...(options.now === undefined ? {} : { now: options.now }),
    onEnd: (s) => options.onEnd(s.id),
  });
  return {
    create: async (info, credentials) => store.create(info, credentials, undefined),
    touch: async (id) => store.touch(id),
    end: async (id) => store.end(id),
    sweep: () => store.sweep(),
    size: () => store.size(),
    close: async () => store.clear(),
  };
}
