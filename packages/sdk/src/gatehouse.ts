import { randomUUID } from "node:crypto";
import type { Credentials } from "@gatehouse/auth";
import {
  type AssumeRoleRequest,
  type AssumeRoleResponse,
  type AssumeRoleWithWebIdentityRequest,
  type AuthenticateAndAuthorizeRequest,
  type AuthenticateAndAuthorizeResponse,
  type AuthenticateResponse,
  type AuthorizeRequest,
  type AuthorizeResponse,
  AuthorizerServiceClient,
  type BatchAuthorizePrincipalRequest,
  type BatchAuthorizeResponse,
  type ContextValue,
  Decision,
  type GetCallerIdentityResponse,
  type GetRegionStatusResponse,
  type GetSessionTokenRequest,
  type GetSessionTokenResponse,
  type Revision,
  type SimulateResponse,
  StsServiceClient,
} from "@gatehouse/proto";
import {
  type AuthenticatedPrincipal,
  type SignedRequestInput,
  signingRegionOf,
  toAuthenticateRequest,
  toPrincipal,
} from "./authenticate.ts";
import {
  type ClientConfig,
  type ClientConfigOptions,
  GatehouseConfigError,
  resolveClientConfig,
} from "./client-config.ts";
import { type Answered, ClientConnections, type ConnectionOptions, type RoutedService } from "./client-connections.ts";
import { errorClassOf, type GatehouseError, InvalidInputError, isRetriable, statusName } from "./errors.ts";
import {
  buildRequest,
  type ControlMethod,
  type IamOperationName,
  type IamOperationSpec,
  type InputOf,
  type ItemOf,
  type ItemsOperationName,
  iamOperations,
  isPaged,
  isWrite,
  type OutputOf,
  type PagedOperationName,
  type RequestOf,
  type ResponseOf,
} from "./iam-operations.ts";
import type { RegionHealth } from "./region-router.ts";
import type { CallOptions, ClientConstructor, Transport } from "./transport.ts";

/** Options of {@link Gatehouse}: where, as whom, and how patiently. */
export interface GatehouseOptions extends ClientConfigOptions, ConnectionOptions {
  /**
   * Read your own writes: checks and simulations carry the highest revision this client's writes
   * returned for the principal's account as `min_revision`, so a region answers only once it has
   * applied them. {@link Gatehouse.session} gives a client with this on.
   */
  readonly readYourWrites?: boolean;
}

/** Each IAM operation as a method: `(input, options) => Promise<response>`. */
export type IamMethods = {
  readonly [K in IamOperationName]: (
    input?: InputOf<(typeof iamOperations)[K]>,
    options?: CallOptions,
  ) => Promise<OutputOf<(typeof iamOperations)[K]>>;
};

/** The IAM client: one method per operation, plus iterators over paged lists. */
export type IamClient = IamMethods & {
  /** Every item of a paged list, page after page (`for await (const user of iam.paginate.listUsers())`). */
  readonly paginate: {
    readonly [K in ItemsOperationName]: (
      input?: InputOf<(typeof iamOperations)[K]>,
      options?: CallOptions,
    ) => AsyncIterable<ItemOf<(typeof iamOperations)[K]>>;
  };
  /** Every page of a paged operation, for those whose answer holds several lists. */
  readonly pages: {
    readonly [K in PagedOperationName]: (
      input?: InputOf<(typeof iamOperations)[K]>,
      options?: CallOptions,
    ) => AsyncIterable<OutputOf<(typeof iamOperations)[K]>>;
  };
};

/** A request-context value, as policies' conditions read it. */
export type ContextInput = Readonly<Record<string, string | number | boolean | readonly string[]>>;

/** Who is asking: a user or role ARN, or an access key id the caller authenticated with. */
export type PrincipalInput =
  | { readonly principalArn: string }
  /** An access key id; with temporary credentials (`ASIA…`) the session token that came with it. */
  | { readonly accessKeyId: string; readonly sessionToken?: string };

/** One authorization check. */
/**
 * A read-your-writes token: what a write returned (`revision`: account, revision and epoch, the
 * control-plane history it was committed in), or just an account and revision (any history).
 */
export interface RevisionToken {
  readonly accountId: string;
  readonly revision: number;
  /** The history the revision belongs to (Revision.epoch); absent: any. */
  readonly epoch?: string;
}

/** A token as the wire carries it. */
function toRevision(token: RevisionToken): Revision {
  return { accountId: token.accountId, revision: token.revision, epoch: token.epoch ?? "" };
}

export type AuthorizeInput = PrincipalInput & {
  readonly action: string;
  readonly resource: string;
  /** The resource's account (default: the principal's). */
  readonly resourceAccount?: string;
  readonly context?: ContextInput;
  /** A resource policy's ARN (stored) or its JSON document. */
  readonly resourcePolicy?: string;
  /** Answer at this revision of the principal's account or later (a number: of the principal's account). */
  readonly minRevision?: RevisionToken | number;
  /** Add the engine's explanation (deciding statement, matches). */
  readonly explain?: boolean;
  /** Refuse to answer from a region staler than this (milliseconds). */
  readonly maxStalenessMs?: number;
  readonly correlationId?: string;
};

/** One check of {@link AuthzClient.batchAuthorizePrincipal}: what {@link AuthorizeInput} says besides the principal and context. */
export interface PrincipalCheckInput {
  readonly action: string;
  readonly resource: string;
  /** The resource's account (default: the principal's). */
  readonly resourceAccount?: string;
  /** A resource policy's ARN (stored) or its JSON document. */
  readonly resourcePolicy?: string;
  readonly correlationId?: string;
}

/** Many checks of one principal under one request context ({@link AuthzClient.batchAuthorizePrincipal}). */
export type BatchAuthorizePrincipalInput = ({ readonly principalArn: string } | { readonly accessKeyId: string }) & {
  /** The request context every check is made under. */
  readonly context?: ContextInput;
  /** Answer at this revision of the principal's account or later (a number: of the principal's account). */
  readonly minRevision?: RevisionToken | number;
  /** Refuse to answer from a region staler than this (milliseconds). */
  readonly maxStalenessMs?: number;
  /** At most 1,000. */
  readonly checks: readonly PrincipalCheckInput[];
};

/** A received request to authenticate, and the check to make for whoever signed it. */
export interface AuthenticateAndAuthorizeInput {
  readonly request: SignedRequestInput;
  readonly action: string;
  readonly resource: string;
  /** The resource's account (default: the principal's). */
  readonly resourceAccount?: string;
  readonly context?: ContextInput;
  readonly resourcePolicy?: string;
  /** Wait for this revision (keys created or revoked at it are seen). */
  readonly minRevision?: RevisionToken;
  readonly explain?: boolean;
  readonly maxStalenessMs?: number;
  readonly correlationId?: string;
}

/** A decision, as AWS names them. */
export type DecisionName = "Allow" | "ExplicitDeny" | "ImplicitDeny";

/**
 * Where an answer came from. The SDK routes checks across regions (failing over when one cannot
 * answer) and across a region's endpoints, so each answer names the region and the decider
 * (`host:port`) that gave it; the wire does not carry it, the SDK knows where it sent the call.
 */
export interface AnsweredBy {
  /** The region whose decider answered. */
  readonly region: string;
  /** The decider's `host:port` (as configured) that answered. */
  readonly endpoint: string;
}

/** The answer to one check. */
export interface AuthorizeResult extends AnsweredBy {
  readonly decision: DecisionName;
  /** `decision === "Allow"`. */
  readonly allowed: boolean;
  /** Present when `explain` was asked for. */
  readonly explanation?: unknown;
  /** The principal's account revision the decision was made at. */
  readonly evaluatedAt?: Revision;
  readonly correlationId: string;
}

/** What to simulate: the principal's policies plus optional extra ones, for actions × resources. */
export type SimulateInput = PrincipalInput & {
  readonly actions: readonly string[];
  readonly resources: readonly string[];
  readonly context?: ContextInput;
  /** Policy documents (JSON) evaluated as if attached to the principal. */
  readonly extraIdentityPolicies?: readonly string[];
  readonly resourcePolicy?: string;
  /** A boundary document (JSON) replacing the principal's. */
  readonly permissionBoundary?: string;
  readonly minRevision?: RevisionToken | number;
};

/** One action × resource of a simulation. */
export interface SimulateResult extends AnsweredBy {
  readonly action: string;
  readonly resource: string;
  readonly decision: DecisionName;
  readonly explanation: unknown;
}

const decisionNames: Record<number, DecisionName> = {
  [Decision.DECISION_ALLOW]: "Allow",
  [Decision.DECISION_EXPLICIT_DENY]: "ExplicitDeny",
  [Decision.DECISION_IMPLICIT_DENY]: "ImplicitDeny",
};

function toContext(context: ContextInput | undefined): Record<string, ContextValue> {
  const out: Record<string, ContextValue> = {};
  for (const [key, v] of Object.entries(context ?? {})) {
    out[key] = {
      kind:
        typeof v === "string"
          ? { $case: "stringValue", value: v }
          : typeof v === "number"
            ? { $case: "numberValue", value: v }
            : typeof v === "boolean"
              ? { $case: "boolValue", value: v }
              : { $case: "listValue", value: { values: [...v] } },
    };
  }
  return out;
}

function parseJson(text: string): unknown {
  if (text === "") return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** The account id of an IAM ARN (`arn:aws:iam::111122223333:user/alice` → `111122223333`). */
function accountOfArn(arn: string): string | undefined {
  const account = arn.split(":")[4];
  return account === undefined || account === "" ? undefined : account;
}

/**
 * The Gatehouse client. IAM calls go to the control plane; checks, region status and STS go to
 * the configured region's deciders, failing over between its endpoints. Credentials, region and
 * endpoints come from the options, the environment or a profile (see {@link resolveClientConfig}).
 * Every call is SigV4-signed, has a deadline, and is retried with jittered backoff when it failed
 * for a retriable reason; writes carry a client request token the SDK makes, so retrying them is safe.
 *
 * @example
 * const gh = new Gatehouse({ profile: "demo" });
 * await gh.iam.createUser({ userName: "alice" });
 * await gh.iam.attachUserPolicy({ userName: "alice", policyArn: "arn:aws:iam::aws:policy/ReadOnlyAccess" });
 * for await (const user of gh.iam.paginate.listUsers()) console.log(user.arn);
 * const { allowed } = await gh.session().authz.authorize({
 *   principalArn: "arn:aws:iam::111122223333:user/alice", action: "s3:GetObject", resource: "arn:aws:s3:::b/k",
 * });
 * gh.close();
 */
export class Gatehouse {
  /** The resolved configuration (region, profile, endpoints, where the credentials came from). */
  readonly config: ClientConfig;
  readonly iam: IamClient;
  readonly authz: AuthzClient;
  readonly sts: StsClient;
  readonly #options: GatehouseOptions;
  readonly #shared: ClientConnections;
  /** Per account, the revision (with its history) of the latest write this client made. */
  readonly #revisions = new Map<string, Revision>();
  readonly #readYourWrites: boolean;

  constructor(options: GatehouseOptions = {}, shared?: ClientConnections) {
    this.#options = options;
    this.config = shared?.config ?? resolveClientConfig(options);
    this.#shared = shared ?? new ClientConnections(this.config, options);
    this.#readYourWrites = options.readYourWrites ?? false;
    this.iam = this.#makeIam();
    this.authz = new AuthzClient(this);
    this.sts = new StsClient(this);
  }

  /**
   * A client on the same connections that reads its own writes: every check it makes waits for
   * the revisions its writes returned (see {@link GatehouseOptions.readYourWrites}).
   */
  session(): Gatehouse {
    return new Gatehouse({ ...this.#options, readYourWrites: true }, this.#shared);
  }

  /** The highest revision this client's writes returned for an account (0 when none). */
  lastRevision(accountId: string): number {
    return this.#revisions.get(accountId)?.revision ?? 0;
  }

  /**
   * The credentials the next call is signed with: for an assumed-role profile, AssumeRole's
   * temporary ones, fetched at first use and refreshed before they expire.
   *
   * @example
   * const { accessKeyId, sessionToken } = await new Gatehouse({ profile: "deployer" }).credentials();
   */
  async credentials(): Promise<Credentials> {
    const provider = this.#shared.credentials;
    if (provider === undefined) {
      throw new GatehouseConfigError(
        "no credentials: none were given, GATEHOUSE_ACCESS_KEY_ID / GATEHOUSE_SECRET_ACCESS_KEY are unset, and the profile has no keys",
        "run `gatehouse configure`, set GATEHOUSE_PROFILE, or pass credentials",
      );
    }
    return provider();
  }

  /**
   * The regions checks and STS calls go to, in the order the next call tries them, with what
   * the router measured (`nearest`: round-trip times) and which it demoted after a failure.
   */
  regionHealth(): RegionHealth[] {
    const byRegion = new Map(this.#shared.router.health().map((h) => [h.region, h]));
    return this.#shared.router.order().map((r) => byRegion.get(r) as RegionHealth);
  }

  /** Closes every connection (of this client and its sessions). */
  close(): void {
    this.#shared.close();
  }

  #noteRevision(response: unknown): void {
    const r = (response as { revision?: Revision } | undefined)?.revision;
    if (r === undefined || r.accountId === "") return;
    const last = this.#revisions.get(r.accountId);
    // A write in another history (a control-plane failover) replaces the token: its revisions
    // are not comparable with the old one's, and reads must wait for the new history.
    if (last === undefined || r.revision > last.revision || (r.epoch !== last.epoch && r.epoch !== "")) {
      this.#revisions.set(r.accountId, { accountId: r.accountId, revision: r.revision, epoch: r.epoch ?? "" });
    }
  }

  /**
   * One ControlService RPC by its generated method name, with its whole request message (as
   * ts-proto's `fromPartial`/`fromJSON` build it): for callers that relay messages as they are,
   * such as the console's gateway. Retried like the named methods (a write only with a client
   * request token, which this adds when the request has none); the revision a write returns is
   * noted for read-your-writes.
   *
   * @example
   * await gh.callControl("createUser", CreateUserRequest.fromJSON({ userName: "alice" }));
   */
  async callControl<M extends ControlMethod>(
    rpc: M,
    request: RequestOf<M>,
    options?: CallOptions,
  ): Promise<ResponseOf<M>> {
    const message = { ...(request as object) } as Record<string, unknown>;
    if (isWrite(rpc) && (message.clientRequestToken === "" || message.clientRequestToken === undefined)) {
      message.clientRequestToken = randomUUID();
    }
    const response = await this.#shared.control().call<ResponseOf<M>>(rpc, message, true, options);
    this.#noteRevision(response);
    return response;
  }

  /**
   * One AuthorizerService RPC (`authorize`, `simulate`, `batchAuthorizePrincipal`,
   * `getRegionStatus`, …) with its whole request message, sent to `region` (default: the
   * configured one) and failing over across that region's endpoints only.
   *
   * @example
   * const status = await gh.callRegion("getRegionStatus", { pageSize: 0, pageToken: "" }, "eu-west-1");
   */
  callRegion<T>(rpc: string, request: unknown, region?: string, options?: CallOptions): Promise<T> {
    return this.regionTransport(AuthorizerServiceClient as unknown as ClientConstructor, region).call<T>(
      rpc,
      request,
      true,
      options,
    );
  }

  /**
   * @internal After a check failed: a `HistoryRewound` failure of the session's own token (its
   * latest write's, which a failover may have lost) makes the session forget it, so it is said
   * once and later checks go on without it, until the next write gives a new one. A token the
   * caller passed is the caller's to drop.
   */
  forgetRewound(token: Revision | undefined, failure: unknown): void {
    if (token === undefined || (failure as { awsName?: unknown } | undefined)?.awsName !== "HistoryRewound") return;
    if (this.#revisions.get(token.accountId) === token) this.#revisions.delete(token.accountId);
  }

  /** @internal The `min_revision` a check carries. */
  minRevisionFor(principal: PrincipalInput, given: RevisionToken | number | undefined): Revision | undefined {
    const arn = "principalArn" in principal ? principal.principalArn : undefined;
    if (typeof given === "object") return toRevision(given);
    let account = arn === undefined ? undefined : accountOfArn(arn);
    if (account === undefined && this.#revisions.size === 1) account = [...this.#revisions.keys()][0];
    if (typeof given === "number") {
      if (account === undefined) {
        throw new TypeError("minRevision as a number needs a principalArn (its account); pass { accountId, revision }");
      }
      return { accountId: account, revision: given, epoch: "" };
    }
    if (!this.#readYourWrites || account === undefined) return undefined;
    return this.#revisions.get(account);
  }

  /** @internal One region's endpoints (region status). */
  regionTransport<C extends ClientConstructor>(service: C, region?: string): Transport {
    return this.#shared.region(service, region);
  }

  /** @internal Whichever region the router picks (checks, STS). */
  routed<C extends ClientConstructor>(service: C): RoutedService {
    return this.#shared.routed(service);
  }

  #makeIam(): IamClient {
    const transport = () => this.#shared.control();
    const methods: Record<string, unknown> = {};
    const paginate: Record<string, unknown> = {};
    const pages: Record<string, unknown> = {};
    for (const [name, spec] of Object.entries(iamOperations) as [string, IamOperationSpec][]) {
      const write = isWrite(spec.rpc);
      const call = async (input: Record<string, unknown> = {}, options?: CallOptions) => {
        let request: Record<string, unknown>;
        try {
          request = buildRequest(spec, input, randomUUID);
        } catch (e) {
          throw new InvalidInputError({
            code: "INVALID_ARGUMENT",
            awsName: "InvalidInput",
            message: `${name}: ${(e as Error).message}`,
            retriable: false,
          });
        }
        // A write is retried only with a token: the server answers a repeat with the first result.
        const idempotent =
          !write || (typeof request.clientRequestToken === "string" && request.clientRequestToken !== "");
        const response = await transport().call<unknown>(spec.rpc, request, idempotent, options);
        this.#noteRevision(response);
        return response;
      };
      methods[name] = call;
      if (isPaged(spec.rpc)) {
        const eachPage = async function* (input: Record<string, unknown> = {}, options?: CallOptions) {
          let marker = typeof input.marker === "string" ? input.marker : "";
          for (;;) {
            const response = (await call({ ...input, marker }, options)) as {
              page?: { isTruncated: boolean; marker: string };
            };
            yield response;
            if (response.page?.isTruncated !== true || response.page.marker === "") return;
            marker = response.page.marker;
          }
        };
        pages[name] = eachPage;
        const items = spec.items;
        if (items !== undefined) {
          paginate[name] = async function* (input: Record<string, unknown> = {}, options?: CallOptions) {
            for await (const page of eachPage(input, options)) {
              yield* (page as Record<string, unknown[]>)[items] ?? [];
            }
          };
        }
      }
    }
    return Object.freeze({ ...methods, paginate: Object.freeze(paginate), pages: Object.freeze(pages) }) as IamClient;
  }
}

function principalOf(p: PrincipalInput): AuthorizeRequest["principal"] {
  return "principalArn" in p
    ? { kind: { $case: "arn", value: p.principalArn } }
    : { kind: { $case: "accessKeyId", value: p.accessKeyId } };
}

/**
 * Authorization checks against the configured region, or the regions of the client's routing
 * (`gatehouse.authz`). Each answer (and each error from a region) names the region and endpoint
 * that gave it ({@link AnsweredBy}).
 *
 * @example
 * const r = await gh.authz.authorize({ principalArn, action: "s3:GetObject", resource: "arn:aws:s3:::b/k", explain: true });
 * if (!r.allowed) console.log(r.decision, r.explanation, "answered by", r.region, r.endpoint);
 */
export class AuthzClient {
  readonly #gh: Gatehouse;

  constructor(gh: Gatehouse) {
    this.#gh = gh;
  }

  #routed(): RoutedService {
    return this.#gh.routed(AuthorizerServiceClient as unknown as ClientConstructor);
  }

  /**
   * One check call whose checks carry `minRevisions`: a HistoryRewound failure of the whole call
   * makes the session forget its token (see {@link Gatehouse.forgetRewound}).
   */
  async #answer<T>(
    rpc: string,
    request: unknown,
    minRevisions: readonly (Revision | undefined)[],
    options: CallOptions | undefined,
  ): Promise<Answered<T>> {
    try {
      return await this.#routed().answer<T>(rpc, request, true, options);
    } catch (e) {
      for (const minRevision of minRevisions) this.#gh.forgetRewound(minRevision, e);
      throw e;
    }
  }

  #request(input: AuthorizeInput): AuthorizeRequest {
    const minRevision = this.#gh.minRevisionFor(input, input.minRevision);
    return {
      principal: principalOf(input),
      action: input.action,
      resource: input.resource,
      resourceAccount: input.resourceAccount ?? "",
      context: toContext(input.context),
      resourcePolicy: input.resourcePolicy ?? "",
      minRevision,
      explain: input.explain ?? false,
      maxStalenessMs: input.maxStalenessMs ?? 0,
      correlationId: input.correlationId ?? "",
      sessionToken: "accessKeyId" in input ? (input.sessionToken ?? "") : "",
    };
  }

  /** May the principal do `action` on `resource`? */
  async authorize(input: AuthorizeInput, options?: CallOptions): Promise<AuthorizeResult> {
    const request = this.#request(input);
    const { value, ...from } = await this.#answer<AuthorizeResponse>(
      "authorize",
      request,
      [request.minRevision],
      options,
    );
    return toResult(value, from);
  }

  /**
   * Up to 1,000 checks in one call; answers in request order. A check that failed alone is a
   * {@link GatehouseError} in its place, the others still answer.
   */
  async batchAuthorize(
    inputs: readonly AuthorizeInput[],
    options?: CallOptions,
  ): Promise<(AuthorizeResult | GatehouseError)[]> {
    const requests = inputs.map((i) => this.#request(i));
    const { value, ...from } = await this.#answer<BatchAuthorizeResponse>(
      "batchAuthorize",
      { requests },
      requests.map((r) => r.minRevision),
      options,
    );
    return value.responses.map((r, i) => {
      const result = toBatchResult(r, from);
      this.#gh.forgetRewound(requests[i]?.minRevision, result);
      return result;
    });
  }

  /**
   * Up to 1,000 checks of one principal under one request context, in one call: the region
   * resolves the principal and its policies once for all of them, which makes this the cheapest
   * way to ask "which of these may she do?" (a page of links, a menu, a list of resources).
   * Answers come in check order; a check that failed alone is a {@link GatehouseError} in its
   * place. Read-your-writes sessions add `minRevision` as {@link authorize} does.
   *
   * @example
   * const [read, write, del] = await gh.authz.batchAuthorizePrincipal({
   *   principalArn: "arn:aws:iam::111122223333:user/alice",
   *   context: { "aws:SourceIp": "10.0.0.1" },
   *   checks: [
   *     { action: "s3:GetObject", resource: "arn:aws:s3:::reports/q1.csv" },
   *     { action: "s3:PutObject", resource: "arn:aws:s3:::reports/q1.csv" },
   *     { action: "s3:DeleteObject", resource: "arn:aws:s3:::reports/q1.csv" },
   *   ],
   * });
   * if (!(read instanceof Error) && read.allowed) showDownloadLink();
   */
  async batchAuthorizePrincipal(
    input: BatchAuthorizePrincipalInput,
    options?: CallOptions,
  ): Promise<(AuthorizeResult | GatehouseError)[]> {
    if ("sessionToken" in input) {
      throw new InvalidInputError({
        code: "INVALID_ARGUMENT",
        awsName: "InvalidInput",
        message:
          "batchAuthorizePrincipal: sessionToken is not taken (check a session by its role session ARN, or use batchAuthorize)",
        field: "sessionToken",
        retriable: false,
      });
    }
    const minRevision = this.#gh.minRevisionFor(input, input.minRevision);
    const { value, ...from } = await this.#answer<BatchAuthorizeResponse>(
      "batchAuthorizePrincipal",
      {
        principal: principalOf(input),
        context: toContext(input.context),
        minRevision,
        maxStalenessMs: input.maxStalenessMs ?? 0,
        checks: input.checks.map((c) => ({
          action: c.action,
          resource: c.resource,
          resourceAccount: c.resourceAccount ?? "",
          resourcePolicy: c.resourcePolicy ?? "",
          correlationId: c.correlationId ?? "",
        })),
      } satisfies BatchAuthorizePrincipalRequest,
      [minRevision],
      options,
    );
    return value.responses.map((r) => {
      const result = toBatchResult(r, from);
      this.#gh.forgetRewound(minRevision, result);
      return result;
    });
  }

  /** The region that verifies a signed request: its credential scope's, when configured. */
  #verifier(authorization: string | readonly string[] | undefined): { transport: Transport; region: string } {
    const scope = signingRegionOf(typeof authorization === "string" ? authorization : undefined);
    const region = scope !== undefined && this.#gh.config.regions[scope] !== undefined ? scope : undefined;
    return {
      transport: this.#gh.regionTransport(AuthorizerServiceClient as unknown as ClientConstructor, region),
      // regionTransport refused a missing region, so one is configured.
      region: region ?? (this.#gh.config.region as string),
    };
  }

  /**
   * Who signed a request the calling service received (SigV4, as AWS clients sign): the region
   * named in the signature's credential scope checks it (or the configured region, when that one
   * is not configured) and answers with the principal, or fails with `UNAUTHENTICATED`
   * (`MissingAuthenticationToken`, `SignatureDoesNotMatch`, `RequestExpired`, `InvalidClientTokenId`, …).
   *
   * @example
   * const who = await gh.authz.authenticate({
   *   method: req.method, path: "/queues/orders", headers: req.headers,
   *   payloadSha256: createHash("sha256").update(body).digest("hex"), service: "queues", source: req.socket.remoteAddress,
   * });
   * who.arn; // "arn:aws:iam::111122223333:user/alice"
   */
  async authenticate(request: SignedRequestInput, options?: CallOptions): Promise<AuthenticatedPrincipal> {
    const response = await this.#verifier(request.headers.authorization).transport.call<AuthenticateResponse>(
      "authenticate",
      toAuthenticateRequest(request),
      true,
      options,
    );
    return toPrincipal(response);
  }

  /**
   * Authenticate and authorize a received request in one call: who signed it, and whether that
   * principal may do `action` on `resource` (see {@link authenticate} for which region answers).
   *
   * @example
   * const { principal, allowed } = await gh.authz.authenticateAndAuthorize({
   *   request: { method: "POST", path: "/queues/orders/messages", headers: req.headers, payloadSha256, service: "queues" },
   *   action: "queues:SendMessage", resource: "arn:aws:queues:::queue/orders",
   * });
   */
  async authenticateAndAuthorize(
    input: AuthenticateAndAuthorizeInput,
    options?: CallOptions,
  ): Promise<AuthorizeResult & { principal: AuthenticatedPrincipal }> {
    const verifier = this.#verifier(input.request.headers.authorization);
    const { value: response, endpoint } = await verifier.transport.answer<AuthenticateAndAuthorizeResponse>(
      "authenticateAndAuthorize",
      {
        authenticate: toAuthenticateRequest(input.request),
        authorize: {
          principal: undefined,
          action: input.action,
          resource: input.resource,
          resourceAccount: input.resourceAccount ?? "",
          context: toContext(input.context),
          resourcePolicy: input.resourcePolicy ?? "",
          minRevision: input.minRevision === undefined ? undefined : toRevision(input.minRevision),
          explain: input.explain ?? false,
          maxStalenessMs: input.maxStalenessMs ?? 0,
          correlationId: input.correlationId ?? "",
          sessionToken: "",
        },
      } satisfies AuthenticateAndAuthorizeRequest,
      true,
      options,
    );
    if (response.authenticated === undefined || response.authorization === undefined) {
      throw new TypeError("AuthenticateAndAuthorize answered without a principal or a decision");
    }
    return {
      ...toResult(response.authorization, { region: verifier.region, endpoint }),
      principal: toPrincipal(response.authenticated),
    };
  }

  /** The principal's policies (plus extra ones) for each action × resource, always explained. */
  async simulate(input: SimulateInput, options?: CallOptions): Promise<SimulateResult[]> {
    const minRevision = this.#gh.minRevisionFor(input, input.minRevision);
    const { value, ...from } = await this.#answer<SimulateResponse>(
      "simulate",
      {
        principal: principalOf(input),
        actions: [...input.actions],
        resources: [...input.resources],
        context: toContext(input.context),
        extraIdentityPolicies: [...(input.extraIdentityPolicies ?? [])],
        resourcePolicy: input.resourcePolicy ?? "",
        permissionBoundary: input.permissionBoundary ?? "",
        minRevision,
      },
      [minRevision],
      options,
    );
    return value.results.map((r) => ({
      action: r.action,
      resource: r.resource,
      decision: decisionNames[r.decision] ?? "ImplicitDeny",
      explanation: parseJson(r.explanationJson),
      ...from,
    }));
  }

  /**
   * What a region has applied and how fresh it is: one page of accounts. `region` defaults to the
   * configured one.
   */
  regionStatus(
    input: { region?: string; pageSize?: number; pageToken?: string } = {},
    options?: CallOptions,
  ): Promise<GetRegionStatusResponse> {
    return this.#gh
      .regionTransport(AuthorizerServiceClient as unknown as ClientConstructor, input.region)
      .call<GetRegionStatusResponse>(
        "getRegionStatus",
        { pageSize: input.pageSize ?? 0, pageToken: input.pageToken ?? "" },
        true,
        options,
      );
  }
}

/** One answer of a batch: a result, or the error its check failed with alone (both naming where from). */
function toBatchResult(r: AuthorizeResponse, from: AnsweredBy): AuthorizeResult | GatehouseError {
  if (r.error === undefined) return toResult(r, from);
  const awsName = r.error.detail?.awsName || "ServiceFailure";
  const Class = errorClassOf(awsName);
  return new Class({
    code: statusName(r.error.code),
    awsName,
    message: r.error.message,
    field: r.error.detail?.field || undefined,
    retriable: isRetriable(statusName(r.error.code), awsName),
    region: from.region,
    endpoint: from.endpoint,
  });
}

function toResult(r: AuthorizeResponse, from: AnsweredBy): AuthorizeResult {
  const decision = decisionNames[r.decision] ?? "ImplicitDeny";
  return {
    decision,
    allowed: decision === "Allow",
    ...(r.explanationJson === "" ? {} : { explanation: parseJson(r.explanationJson) }),
    ...(r.evaluatedAt === undefined ? {} : { evaluatedAt: r.evaluatedAt }),
    correlationId: r.correlationId,
    region: from.region,
    endpoint: from.endpoint,
  };
}

/**
 * The Security Token Service of the configured region (`gatehouse.sts`), served by the region's
 * deciders; calls are signed for the signing name `sts`. Its surface follows `sts.proto`; each
 * answer names the `region` that issued it (the response's own field) and the `endpoint` it came
 * from, as the checks' answers do.
 */
export class StsClient {
  readonly #gh: Gatehouse;

  constructor(gh: Gatehouse) {
    this.#gh = gh;
  }

  /**
   * The call's answer with where it came from: the issuing region as the answer names it (the
   * region that sealed the credentials), and the endpoint the SDK sent it to.
   */
  async #call<T extends { region: string }>(
    method: string,
    request: unknown,
    options?: CallOptions,
  ): Promise<T & AnsweredBy> {
    const { value, region, endpoint } = await this.#gh
      .routed(StsServiceClient as unknown as ClientConstructor)
      .answer<T>(method, request, true, options);
    return { ...value, region: value.region === "" ? region : value.region, endpoint };
  }

  /** Temporary credentials of a role session. */
  assumeRole(input: Partial<AssumeRoleRequest> & { roleArn: string; roleSessionName: string }, options?: CallOptions) {
    return this.#call<AssumeRoleResponse>(
      "assumeRole",
      {
        durationSeconds: 0,
        externalId: "",
        serialNumber: "",
        tokenCode: "",
        policy: "",
        policyArns: [],
        tags: [],
        transitiveTagKeys: [],
        sourceIdentity: "",
        minRevision: undefined,
        ...input,
      },
      options,
    );
  }

  /** Temporary credentials of a role session for an OpenID Connect token. */
  assumeRoleWithWebIdentity(
    input: Partial<AssumeRoleWithWebIdentityRequest> & {
      roleArn: string;
      roleSessionName: string;
      webIdentityToken: string;
    },
    options?: CallOptions,
  ) {
    return this.#call<AssumeRoleResponse>(
      "assumeRoleWithWebIdentity",
      { durationSeconds: 0, policy: "", policyArns: [], ...input },
      options,
    );
  }

  /** Temporary credentials of the calling user (with MFA when `serialNumber` and `tokenCode` are given). */
  getSessionToken(input: Partial<GetSessionTokenRequest> = {}, options?: CallOptions) {
    return this.#call<GetSessionTokenResponse>(
      "getSessionToken",
      { durationSeconds: 0, serialNumber: "", tokenCode: "", ...input },
      options,
    );
  }

  /** Who the credentials belong to. */
  getCallerIdentity(options?: CallOptions) {
    return this.#call<GetCallerIdentityResponse>("getCallerIdentity", {}, options);
  }
}
