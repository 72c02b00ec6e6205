import { randomBytes, timingSafeEqual } from "node:crypto";
import type { Credentials } from "@gatehouse/auth";

/** Who a console session acts as, and how long it lasts (API.md's `session`, without secrets). */
export interface SessionInfo {
  readonly accountId: string;
  readonly accountAlias: string;
  readonly principalArn: string;
  readonly userName: string;
  readonly isRoot: boolean;
  readonly mfaAuthenticated: boolean;
  /** When the temporary credentials expire (epoch ms): the session ends then at the latest. */
  readonly expiresAt: number;
}

/** A signed-in session, held server-side only. */
export interface ConsoleSession<C> {
  /** The opaque id the cookie carries (32 random bytes, base64url). */
  readonly id: string;
  /** The token every non-GET request must carry in `X-CSRF-Token`. */
  readonly csrfToken: string;
  readonly info: SessionInfo;
  /** The temporary credentials: they never leave the gateway. */
  readonly credentials: Credentials;
  /** What the session calls the services with (a client signing with its credentials). */
  readonly client: C;
  lastSeenMs: number;
}

/** Why a session id found no session. */
export type SessionLookup<C> =
  | { readonly kind: "active"; readonly session: ConsoleSession<C> }
  | { readonly kind: "expired" }
  | { readonly kind: "none" };

/** Options of {@link createSessionStore}. */
export interface SessionStoreOptions<C> {
  readonly idleTimeoutMs: number;
  readonly maxSessions: number;
  readonly now?: () => number;
  /** Called once when a session ends (sign-out, idle, expiry, eviction): close its client. */
  readonly onEnd: (session: ConsoleSession<C>) => void;
}

/** Server-side console sessions by opaque id. */
export interface SessionStore<C> {
  /** A new session; its id goes in the cookie, its CSRF token to the web app. */
  create(info: SessionInfo, credentials: Credentials, client: C): ConsoleSession<C>;
  /**
   * The session with this id, touched (its idle clock restarts), or why there is none: `expired`
   * when it ended by idleness or credential expiry (it is then gone), `none` when unknown.
   */
  touch(id: string | undefined): SessionLookup<C>;
  /** Ends a session now. */
  end(id: string): void;
  /** Ends the sessions that are idle or whose credentials expired (run periodically). */
  sweep(): void;
  /** Sessions held. */
  size(): number;
  /** Ends every session (shutdown). */
  clear(): void;
}

/** Constant-time comparison of a request's CSRF token with the session's. */
export function csrfMatches(session: { readonly csrfToken: string }, given: string | undefined): boolean {
  if (given === undefined) return false;
  const a = Buffer.from(session.csrfToken);
  const b = Buffer.from(given);
  // timingSafeEqual needs equal lengths; a wrong length is compared against itself, then refused.
  return timingSafeEqual(a, a.length === b.length ? b : a) && a.length === b.length;
}

const ID = /^[A-Za-z0-9_-]{43}$/;

/** An in-memory {@link SessionStore} (a gateway replica's own; sessions do not survive a restart). */
export function createSessionStore<C>(options: SessionStoreOptions<C>): SessionStore<C> {
  const now = options.now ?? Date.now;
  // Insertion order is kept as last use order (touch re-inserts), so the first is the least recent.
  const sessions = new Map<string, ConsoleSession<C>>();
  // Ids of sessions that ended by timeout lately, to answer SessionExpired rather than NotSignedIn.
  const ended = new Map<string, number>();
  const end = (id: string, expired: boolean) => {
    const s = sessions.get(id);
    if (s === undefined) return;
    sessions.delete(id);
    if (expired) {
      if (ended.size >= 10_000) ended.delete(ended.keys().next().value as string);
      ended.set(id, now());
    }
    options.onEnd(s);
  };
  const over = (s: ConsoleSession<C>, t: number) => t - s.lastSeenMs >= options.idleTimeoutMs || t >= s.info.expiresAt;
  return {
    create(info, credentials, client) {
      const t = now();
      // Expired sessions are swept as new ones come, and the least recently used goes at the cap.
      for (const s of sessions.values()) {
        if (!over(s, t)) break;
        end(s.id, true);
      }
      while (sessions.size >= options.maxSessions) end(sessions.keys().next().value as string, false);
      const session: ConsoleSession<C> = {
        id: randomBytes(32).toString("base64url"),
        csrfToken: randomBytes(32).toString("base64url"),
        info,
        credentials,
        client,
        lastSeenMs: t,
      };
      sessions.set(session.id, session);
      return session;
    },
    touch(id) {
      if (id === undefined || !ID.test(id)) return { kind: "none" };
      const s = sessions.get(id);
      if (s === undefined) return ended.has(id) ? { kind: "expired" } : { kind: "none" };
      const t = now();
      if (over(s, t)) {
        end(id, true);
        return { kind: "expired" };
      }
      s.lastSeenMs = t;
      sessions.delete(id);
      sessions.set(id, s);
      return { kind: "active", session: s };
    },
    end: (id) => {
      end(id, false);
      ended.delete(id);
    },
    sweep() {
      const t = now();
      for (const s of [...sessions.values()]) if (over(s, t)) end(s.id, true);
    },
    size: () => sessions.size,
    clear() {
      for (const id of [...sessions.keys()]) end(id, false);
      ended.clear();
    },
  };
}
