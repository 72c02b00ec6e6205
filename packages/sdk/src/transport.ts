import { type Credentials, createSigningInterceptor } from "@gatehouse/auth";
import type { Clock } from "@gatehouse/core";
import { type Client, credentials as grpcCredentials, Metadata, type ServiceError } from "@grpc/grpc-js";
import { context, propagation, type TextMapSetter } from "@opentelemetry/api";
import { type CredentialProvider, GatehouseConfigError } from "./client-config.ts";
import { fromServiceError, GatehouseError } from "./errors.ts";
import { type RetryPolicy, withRetries } from "./retry.ts";

/** A generated grpc-js client constructor (ControlServiceClient, AuthorizerServiceClient, …). */
export type ClientConstructor = new (
  address: string,
  credentials: ReturnType<typeof grpcCredentials.createInsecure>,
  options: object,
) => Client;

type UnaryFn = (
  request: unknown,
  metadata: Metadata,
  options: { deadline: number },
  callback: (e: ServiceError | null, response: unknown) => void,
) => void;

/**
 * Writes the caller's trace context (W3C `traceparent`, `tracestate`) into a call's metadata, so a
 * service that traces its calls continues the caller's trace. Without an OpenTelemetry SDK in the
 * caller's process the global propagator is a no-op and nothing is written.
 */
const METADATA_SETTER: TextMapSetter<Metadata> = {
  set(carrier, key, value) {
    carrier.set(key, value);
  },
};

/** Options of one call. */
export interface CallOptions {
  /** The whole call's budget in milliseconds, retries included (default: the client's `timeoutMs`). */
  readonly timeoutMs?: number;
  /** Cancels the call. */
  readonly signal?: AbortSignal;
}

/** What a {@link Transport} is built from. */
export interface TransportOptions {
  readonly service: ClientConstructor;
  /** Endpoints (`host:port`) tried in turn; at least one. */
  readonly endpoints: readonly string[];
  /** The credentials to sign with, asked before each call (undefined: none configured). */
  readonly credentials: CredentialProvider | undefined;
  /**
   * Send calls unsigned, as AWS's AssumeRoleWithWebIdentity is (the token in the request is the
   * credential); `credentials` is then not asked.
   */
  readonly unsigned?: boolean;
  readonly signingRegion: string;
  /** The region the endpoints serve (absent for the control plane): named in answers and errors. */
  readonly region?: string;
  /** The SigV4 signing name (credential scope service): `iam` when absent, `sts` for StsService. */
  readonly signingService?: string;
  readonly retry: RetryPolicy;
  readonly timeoutMs: number;
  readonly clock?: Clock;
  readonly now?: () => number;
}

/**
 * Signed unary calls to one service over one or more endpoints: deadlines, retries with
 * jittered backoff on retriable failures, and fail-over to the next endpoint when one cannot be
 * reached. The endpoint that answered last is tried first next time.
 */
export class Transport {
  readonly #options: TransportOptions;
  readonly #clients = new Map<number, Client>();
  #preferred = 0;
  /** What the last call was signed with; the interceptor reads it (any value here is unexpired). */
  #current: Credentials | undefined;

  constructor(options: TransportOptions) {
    if (options.endpoints.length === 0) throw new RangeError("a transport needs at least one endpoint");
    this.#options = options;
  }

  /** The endpoints in the order given. */
  get endpoints(): readonly string[] {
    return this.#options.endpoints;
  }

  #client(index: number): Client {
    let client = this.#clients.get(index);
    if (client === undefined) {
      const address = this.#options.endpoints[index] as string;
      client = new this.#options.service(address, grpcCredentials.createInsecure(), {
        interceptors:
          this.#options.unsigned === true
            ? []
            : [
                createSigningInterceptor({
                  // call() sets them before it starts a call, so this always has some.
                  credentials: () => this.#current as Credentials,
                  authority: address,
                  region: this.#options.signingRegion,
                  ...(this.#options.signingService === undefined ? {} : { service: this.#options.signingService }),
                  ...(this.#options.clock === undefined ? {} : { clock: this.#options.clock }),
                }),
              ],
        // Fail fast when an endpoint is down, so the next one is tried within the deadline.
        "grpc.initial_reconnect_backoff_ms": 200,
        "grpc.max_reconnect_backoff_ms": 2_000,
      });
      this.#clients.set(index, client);
    }
    return client;
  }

  /**
   * Calls `method` (the generated client's method name) with `request`. `idempotent` allows
   * retries: reads, checks, and writes that carry a client request token.
   */
  async call<T>(method: string, request: unknown, idempotent: boolean, options: CallOptions = {}): Promise<T> {
    return (await this.answer<T>(method, request, idempotent, options)).value;
  }

  /** {@link call}, with the endpoint (`host:port`) that answered. */
  async answer<T>(
    method: string,
    request: unknown,
    idempotent: boolean,
    options: CallOptions = {},
  ): Promise<{ value: T; endpoint: string }> {
    const provider = this.#options.credentials;
    if (provider === undefined && this.#options.unsigned !== true) {
      throw new GatehouseConfigError(
        "no credentials: none were given, GATEHOUSE_ACCESS_KEY_ID / GATEHOUSE_SECRET_ACCESS_KEY are unset, and the profile has no keys",
        "run `gatehouse configure`, set GATEHOUSE_PROFILE, or pass credentials",
      );
    }
    const now = this.#options.now ?? Date.now;
    const deadline = now() + (options.timeoutMs ?? this.#options.timeoutMs);
    if (provider !== undefined && this.#options.unsigned !== true) this.#current = await provider();
    const { value, endpoint } = await withRetries(
      {
        policy: this.#options.retry,
        idempotent,
        endpoints: this.#options.endpoints.length,
        start: this.#preferred,
        deadline,
        now,
      },
      (index) => this.#once<T>(index, method, request, deadline, options.signal),
    );
    this.#preferred = endpoint;
    return { value, endpoint: this.#options.endpoints[endpoint] as string };
  }

  #once<T>(index: number, method: string, request: unknown, deadline: number, signal?: AbortSignal): Promise<T> {
    const client = this.#client(index) as unknown as Record<string, UnaryFn>;
    const fn = client[method];
    if (fn === undefined) throw new TypeError(`no method ${method}`);
    return new Promise<T>((resolve, reject) => {
      if (signal?.aborted === true) {
        reject(signal.reason);
        return;
      }
      const metadata = new Metadata();
      propagation.inject(context.active(), metadata, METADATA_SETTER);
      const call = fn.call(client, request, metadata, { deadline }, (e, response) => {
        signal?.removeEventListener("abort", onAbort);
        if (e === null) resolve(response as T);
        else {
          const endpoint = this.#options.endpoints[index];
          reject(fromServiceError(e, `${endpoint} ${method}`, { region: this.#options.region, endpoint }));
        }
      }) as unknown as { cancel(): void };
      const onAbort = () => call.cancel();
      signal?.addEventListener("abort", onAbort, { once: true });
    });
  }

  /** Closes every channel. */
  close(): void {
    for (const c of this.#clients.values()) c.close();
    this.#clients.clear();
  }
}

export { GatehouseError };
