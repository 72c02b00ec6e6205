import type { Credentials } from "@gatehouse/auth";
import type { Clock } from "@gatehouse/core";

/** Temporary credentials and when they stop working. */
export interface ExpiringCredentials extends Credentials {
  /** Epoch milliseconds. */
  readonly expiresAtMs: number;
}

/** Options of {@link RefreshingCredentials}. */
export interface RefreshingCredentialsOptions {
  /** Gets new credentials (AssumeRole). */
  readonly fetch: () => Promise<ExpiringCredentials>;
  /** Refresh once this close to expiry (default 5 minutes, as the AWS SDKs). */
  readonly refreshWindowMs?: number;
  /** The clock expiry is judged by (tests inject one). */
  readonly clock?: Clock;
}

/** The default {@link RefreshingCredentialsOptions.refreshWindowMs}. */
export const DEFAULT_REFRESH_WINDOW_MS = 5 * 60_000;

/**
 * Temporary credentials, fetched on first use and again once they are within the refresh window
 * of their expiry. Concurrent callers share one fetch (single flight): a burst of calls at the
 * moment of refresh makes one AssumeRole, not one each. When a refresh fails while the current
 * credentials have not yet expired, they are still used (the next call tries again); once they
 * have expired, the failure is thrown.
 *
 * @example
 * const creds = new RefreshingCredentials({ fetch: () => assumeRole() });
 * const { accessKeyId } = await creds.get();
 */
export class RefreshingCredentials {
  readonly #fetch: () => Promise<ExpiringCredentials>;
  readonly #windowMs: number;
  readonly #now: () => number;
  #current: ExpiringCredentials | undefined;
  #inFlight: Promise<ExpiringCredentials> | undefined;

  constructor(options: RefreshingCredentialsOptions) {
    const windowMs = options.refreshWindowMs ?? DEFAULT_REFRESH_WINDOW_MS;
    if (!Number.isFinite(windowMs) || windowMs < 0) {
      throw new RangeError(`refreshWindowMs must be a number of milliseconds >= 0, got ${windowMs}`);
    }
    this.#fetch = options.fetch;
    this.#windowMs = windowMs;
    const clock = options.clock;
    this.#now = clock === undefined ? Date.now : () => clock.now();
  }

  /** The credentials to sign with now, refreshed first when due. */
  async get(): Promise<ExpiringCredentials> {
    const current = this.#current;
    const now = this.#now();
    if (current !== undefined && now < current.expiresAtMs - this.#windowMs) return current;
    try {
      return await this.refresh();
    } catch (e) {
      if (current !== undefined && this.#now() < current.expiresAtMs) return current;
      throw e;
    }
  }

  /** Fetches new credentials now (joining a fetch already under way). */
  refresh(): Promise<ExpiringCredentials> {
    this.#inFlight ??= this.#fetch().then(
      (fresh) => {
        this.#current = fresh;
        this.#inFlight = undefined;
        return fresh;
      },
      (e: unknown) => {
        this.#inFlight = undefined;
        throw e;
      },
    );
    return this.#inFlight;
  }
}
