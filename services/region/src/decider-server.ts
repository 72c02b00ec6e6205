import { createSecretBox, type SecretBox } from "@gatehouse/auth";
import { type Clock, IamError, systemClock } from "@gatehouse/core";
import { addReflection, drainServer, type Health, limitHttp2StreamRetention } from "@gatehouse/lifecycle";
import type { ContextValue as PolicyContextValue } from "@gatehouse/policy";
import {
  type AuthenticateRequest,
  type AuthenticateResponse,
  type AuthorizeError,
  type AuthorizeRequest,
  type AuthorizeResponse,
  type AuthorizerServiceServer,
  AuthorizerServiceService,
  type ContextValue,
  Decision,
  ErrorDetail,
  type GetRegionStatusRequest,
  PROTO_DIR,
  type PrincipalCheck,
  type Revision,
  type SimulateRequest,
} from "@gatehouse/proto";
import { METRIC_NAMES, SIGNATURE_FAILURES, TELEMETRY_DISABLED, type Telemetry } from "@gatehouse/telemetry";
import type { RegionView } from "@gatehouse/view-redis";
import {
  type handleUnaryCall,
  Metadata,
  Server,
  ServerCredentials,
  type ServerUnaryCall,
  type ServiceError,
  status,
} from "@grpc/grpc-js";
import type { Redis } from "ioredis";
import type { Logger } from "pino";
import {
  BatchAnswers,
  type BatchAuthorizeCall,
  decodeAuthorizeRequest,
  decodeBatchAuthorizeCall,
  encodeAuthorizeResponse,
  encodeBatchAuthorizeResponse,
} from "./authorize-codec.ts";
import { sampleAuthorize } from "./authorize-sampling.ts";
import {
  createDecider,
  type Decider,
  type DecisionRequest,
  type DecisionResult,
  EPOCH,
  type MinRevision,
} from "./decider.ts";
import type { RegionAuditSink, RegionAuditStats } from "./region-audit-sink.ts";
import {
  type AuthenticatedPrincipal,
  type AuthenticationInput,
  createRequestAuthenticator,
  type RequestAuthenticator,
} from "./request-authenticator.ts";
import { withSimulatedTrust } from "./role-trust.ts";
import type { SessionCredentialResolver } from "./session-credentials.ts";
import { createStsIssuer, type StsIssuer } from "./sts-issuer.ts";
import { createStsKeyring } from "./sts-keyring.ts";
import { createStsService, RAW_STS_SERVICE } from "./sts-service.ts";
import { createStsCallAuthenticator, createStsSessionResolver } from "./sts-sessions.ts";

/**
 * AuthorizerService with the decider's own codec for Authorize and BatchAuthorize (the same
 * messages and bytes as ts-proto's, less work per check: `authorize-codec.ts`).
 */
const SERVED_SERVICE = {
  ...AuthorizerServiceService,
  authorize: {
    ...AuthorizerServiceService.authorize,
    requestDeserialize: decodeAuthorizeRequest,
    responseSerialize: encodeAuthorizeResponse,
  },
  batchAuthorize: {
    ...AuthorizerServiceService.batchAuthorize,
    requestDeserialize: decodeBatchAuthorizeCall,
    responseSerialize: encodeBatchAuthorizeResponse,
  },
  batchAuthorizePrincipal: {
    ...AuthorizerServiceService.batchAuthorizePrincipal,
    responseSerialize: encodeBatchAuthorizeResponse,
  },
} satisfies typeof AuthorizerServiceService;

/** Checks one BatchAuthorize call may carry. */
export const MAX_BATCH = 1000;
/** How long a call without a deadline may wait for `min_revision`. */
const DEFAULT_WAIT_MS = 10_000;
/** The trailer carrying {@link ErrorDetail} on a failed call (as the control plane's). */
export const ERROR_DETAIL_TRAILER = "gatehouse-error-bin";

/** A listening decider. */
export interface DeciderServer {
  readonly port: number;
  readonly decider: Decider;
  /** STS issuance over this decider (present when the server was given secret keys). */
  readonly sts?: StsIssuer;
  /** Present when the server was given secret keys. */
  readonly authenticator?: RequestAuthenticator;
  close(graceMs?: number): Promise<void>;
}

/** Options of {@link startDeciderServer}. */
export interface DeciderServerOptions {
  readonly view: RegionView;
  readonly subscriber: Redis;
  readonly listen: { readonly host: string; readonly port: number };
  readonly region: string;
  readonly l1MaxBytes: number;
  readonly logger: Logger;
  /**
   * The control plane's secret-box keys, opening the access-key secrets of the view (Authenticate
   * and AuthenticateAndAuthorize), the STS key set and MFA seeds (StsService, session tokens): all
   * are served only with them (else UNIMPLEMENTED, and every session token is refused).
   */
  readonly secretKeys?: { readonly key: Uint8Array; readonly previous: readonly Uint8Array[] };
  /** Temporary credentials (`ASIA…`); default: this region's STS sessions (with secret keys). */
  readonly sessions?: SessionCredentialResolver;
  /** The clock `x-amz-date`, session expiry and STS issuance are checked against. */
  readonly clock?: Clock;
  /** `grpc.health.v1.Health`, served next to AuthorizerService. */
  readonly health?: Health;
  /**
   * Server spans (Authorize sampled by the configured ratio unless the caller's trace is sampled),
   * decisions by result, Authorize latency, STS issuance, signature failures, L1 hit ratio and
   * staleness. Default off: then no call is wrapped at all.
   */
  readonly telemetry?: Telemetry;
  /**
   * Where STS issuance and access keys' use are recorded (the regional audit topic's buffer);
   * absent: nothing is recorded.
   */
  readonly audit?: Pick<RegionAuditSink, "event" | "keyUse" | "stats">;
  /** The share of Authorize calls recorded to `audit` (0..1). Default 0: none, and no sampling code runs. */
  readonly authorizeSampleRate?: number;
}

const DECISIONS = {
  Allow: Decision.DECISION_ALLOW,
  ExplicitDeny: Decision.DECISION_EXPLICIT_DENY,
  ImplicitDeny: Decision.DECISION_IMPLICIT_DENY,
} as const;

function contextOf(context: Readonly<Record<string, ContextValue>>): Record<string, PolicyContextValue> {
  const out: Record<string, PolicyContextValue> = {};
  for (const key in context) {
    const kind = (context[key] as ContextValue).kind;
    if (kind === undefined)
      throw new IamError("InvalidInput", `context.${key} has no value`, { field: `context.${key}` });
    out[key] = kind.$case === "listValue" ? kind.value.values : kind.value;
  }
  return out;
}

/**
 * Within one batch: the principals and contexts already converted, by the decoded objects (the
 * batch decoder gives equal ones the same object), so that the decider sees them shared too.
 */
interface BatchConversions {
  readonly arns: Map<object, DecisionRequest["principal"]>;
  readonly contexts: Map<object, Record<string, PolicyContextValue>>;
}

/**
 * Where a request's fields sit in the call, for error messages: a prefix (`""`, `"authorize."`) or
 * a batch check's index (`requests[i].`), spelled out only when an error names a field.
 */
type FieldPrefix = string | number;

function prefixOf(field: FieldPrefix): string {
  return typeof field === "number" ? `requests[${field}].` : field;
}

/** The caller's context, checked (at most 256 keys, each with a value) and converted. */
function checkedContextOf(
  context: Readonly<Record<string, ContextValue>>,
  field: FieldPrefix,
  batch?: BatchConversions,
): Record<string, PolicyContextValue> {
  const known = batch?.contexts.get(context);
  if (known !== undefined) return known;
  let keys = 0;
  for (const _ in context) keys++;
  if (keys > 256) {
    throw new IamError("InvalidInput", `context has ${keys} keys, at most 256`, { field: `${prefixOf(field)}context` });
  }
  const converted = contextOf(context);
  batch?.contexts.set(context, converted);
  return converted;
}

/** A DecisionRequest being filled (see {@link fillDecisionRequest}). */
type DecisionRequestDraft = { -readonly [K in keyof DecisionRequest]: DecisionRequest[K] };

/** A draft with every field present (one object shape for all of them). */
function blankDecisionRequest(): DecisionRequestDraft {
  return {
    principal: { kind: "arn", arn: "" },
    action: "",
    resource: "",
    resourceAccount: undefined,
    context: {},
    resourcePolicy: undefined,
    minRevision: undefined,
    maxStalenessMs: undefined,
    explain: false,
    deadlineMs: 0,
  };
}

function toDecisionRequest(
  r: AuthorizeRequest,
  deadlineMs: number,
  field: FieldPrefix,
  batch?: BatchConversions,
): DecisionRequest {
  return fillDecisionRequest(blankDecisionRequest(), r, deadlineMs, field, batch);
}

/** A request's min_revision as the decider takes it (none at revision 0); a malformed epoch is INVALID_ARGUMENT. */
function minRevisionOf(r: Revision | undefined, field: FieldPrefix): MinRevision | undefined {
  if (r === undefined || r.revision === 0) return undefined;
  if (r.epoch !== "" && !EPOCH.test(r.epoch)) {
    throw new IamError(
      "InvalidInput",
      `min_revision epoch ${JSON.stringify(r.epoch.slice(0, 64))} is not a control-plane history (<system identifier>:<timeline>, as a write's revision carries it)`,
      { field: `${prefixOf(field)}minRevision.epoch` },
    );
  }
  return { accountId: r.accountId, revision: Number(r.revision), epoch: r.epoch };
}

/**
 * `r` checked and converted into `out` (every field written). A batch fills one draft per check
 * in turn: the decider keeps nothing of a request it answers at once, and one it must wait for
 * gets a copy.
 */
function fillDecisionRequest(
  out: DecisionRequestDraft,
  r: AuthorizeRequest,
  deadlineMs: number,
  field: FieldPrefix,
  batch?: BatchConversions,
): DecisionRequest {
  const p = r.principal?.kind;
  if (p === undefined)
    throw new IamError("InvalidInput", `${prefixOf(field)}principal is required`, {
      field: `${prefixOf(field)}principal`,
    });
  let principal: DecisionRequest["principal"] | undefined;
  if (p.$case === "arn") {
    principal = batch?.arns.get(p);
    if (principal === undefined) {
      principal = { kind: "arn", arn: p.value };
      batch?.arns.set(p, principal);
    }
  } else {
    principal = {
      kind: "access-key",
      accessKeyId: p.value,
      ...(r.sessionToken === "" ? {} : { sessionToken: r.sessionToken }),
    };
  }
  out.context = checkedContextOf(r.context, field, batch);
  out.principal = principal;
  out.action = r.action;
  out.resource = r.resource;
  out.resourceAccount = r.resourceAccount === "" ? undefined : r.resourceAccount;
  out.resourcePolicy = r.resourcePolicy === "" ? undefined : r.resourcePolicy;
  out.minRevision = minRevisionOf(r.minRevision, field);
  out.maxStalenessMs = r.maxStalenessMs === 0 ? undefined : r.maxStalenessMs;
  out.explain = r.explain;
  out.deadlineMs = deadlineMs;
  return out;
}

const NO_PREFIX = "";

/**
 * Empties a batch call's list of checks once every check is answered (the answers keep what they
 * need). A finished call whose request spanned several HTTP/2 frames, as a batch's does, can
 * outlive its answer until a full garbage collection, grpc-js's call and its request with it, by a
 * path packages/lifecycle's http2-stream-retention.ts does not cut (not found yet; the README's
 * "Which finished calls outlive their answer"), so 1,000 decoded checks per call survived the
 * decider's scavenges and were promoted. Under bench:region's BatchAuthorize load
 * (--trace-gc-nvp): 17 MB survived each scavenge, pauses 12–15 ms; with the checks let go, 5 MB
 * and 5–10 ms.
 */
function release(checks: unknown[]): void {
  checks.length = 0;
}

function deadlineOf(call: ServerUnaryCall<unknown, unknown>): number {
  const d = call.getDeadline();
  const ms = d instanceof Date ? d.getTime() : d;
  if (!Number.isFinite(ms)) return Date.now() + DEFAULT_WAIT_MS;
  // Give up a little before the caller does, so the caller gets our answer (how far behind the
  // region is) rather than its own bare DEADLINE_EXCEEDED.
  const margin = Math.min(100, Math.max(5, (ms - Date.now()) / 10));
  return ms - margin;
}

function detailOf(e: IamError): ErrorDetail {
  return { awsName: e.awsName, field: e.field ?? "", findings: [] };
}

/** Maps an error once: an IamError keeps its status and message; anything else is a logged INTERNAL. */
function toServiceError(e: unknown, method: string, logger: Logger): Partial<ServiceError> {
  const err = IamError.is(e) && e.code !== "INTERNAL" ? e : undefined;
  if (err === undefined) logger.error({ err: e, method }, "unexpected failure");
  const wire = err ?? new IamError("ServiceFailure", "internal error");
  const metadata = new Metadata();
  metadata.set(ERROR_DETAIL_TRAILER, Buffer.from(ErrorDetail.encode(detailOf(wire)).finish()));
  return { code: wire.status as status, details: wire.message, metadata };
}

function plainUnary<Req, Res>(
  method: string,
  logger: Logger,
  fn: (request: Req, call: ServerUnaryCall<Req, Res>) => Promise<Res>,
): handleUnaryCall<Req, Res> {
  return (call, callback) => {
    fn(call.request, call).then(
      (response) => callback(null, response),
      (e: unknown) => callback(toServiceError(e, method, logger), null),
    );
  };
}

/** gRPC metadata as a trace-context carrier (string values only). */
function metadataOf(metadata: Metadata): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(metadata.getMap())) if (typeof v === "string") out[k] = v;
  return out;
}

const MAX_SIGNED_HEADERS = 64;
const MAX_PART_CHARS = 16 * 1024;

/** A value given both as its own field and in signed_headers must be the same. */
function merged(headers: Record<string, string>, name: string, value: string, field: string): void {
  if (value === "") return;
  const there = headers[name];
  if (there !== undefined && there !== value) {
    throw new IamError("InvalidInput", `${field} and signedHeaders["${name}"] differ`, { field });
  }
  headers[name] = value;
}

/** Maps an AuthenticateRequest to the authenticator's input; bad shapes are INVALID_ARGUMENT naming the field. */
function toAuthenticationInput(r: AuthenticateRequest, peer: string, prefix: string): AuthenticationInput {
  const f = (name: string) => `${prefix}${name}`;
  if (r.method === "") throw new IamError("InvalidInput", "method is required", { field: f("method") });
  if (!/^[A-Za-z]{1,16}$/.test(r.method)) {
    throw new IamError("InvalidInput", `method ${JSON.stringify(r.method.slice(0, 20))} is not an HTTP method`, {
      field: f("method"),
    });
  }
  if (!r.path.startsWith("/")) throw new IamError("InvalidInput", "path must begin with /", { field: f("path") });
  for (const [name, value] of [
    ["path", r.path],
    ["query", r.query],
    ["authorization", r.authorization],
  ] as const) {
    if (value.length > MAX_PART_CHARS) {
      throw new IamError("InvalidInput", `${name} has ${value.length} characters, at most ${MAX_PART_CHARS}`, {
        field: f(name),
      });
    }
  }
  const entries = Object.entries(r.signedHeaders);
  if (entries.length > MAX_SIGNED_HEADERS) {
    throw new IamError("InvalidInput", `signedHeaders has ${entries.length} headers, at most ${MAX_SIGNED_HEADERS}`, {
      field: f("signedHeaders"),
    });
  }
  const headers: Record<string, string> = {};
  for (const [name, value] of entries) {
    const lower = name.toLowerCase();
    if (value.length > MAX_PART_CHARS || headers[lower] !== undefined) {
      throw new IamError("InvalidInput", `signedHeaders["${name}"] is too long or given twice`, {
        field: f(`signedHeaders.${name}`),
      });
    }
    headers[lower] = value;
  }
  merged(headers, "host", r.host, f("host"));
  merged(headers, "x-amz-date", r.amzDate, f("amzDate"));
  merged(headers, "x-amz-security-token", r.securityToken, f("securityToken"));
  if (r.payloadSha256 === "") {
    throw new IamError("InvalidInput", "payloadSha256 is required (hex SHA-256 of the body as received)", {
      field: f("payloadSha256"),
    });
  }
  return {
    parts: { method: r.method, path: r.path, query: r.query, headers, payloadHash: r.payloadSha256 },
    authorization: r.authorization,
    service: r.service === "" ? "iam" : r.service,
    source: r.source === "" ? peer : r.source,
    uriEscapePath: !r.pathSingleEncoded,
  };
}

function toAuthenticateResponse(p: AuthenticatedPrincipal): AuthenticateResponse {
  return {
    arn: p.arn,
    accountId: p.accountId,
    userId: p.userId,
    principalType: p.type,
    tags: p.tags.map((t) => ({ key: t.key, value: t.value })),
    mfaPresent: p.mfaPresent,
    accessKeyId: p.accessKeyId,
    userName: p.userName,
    signedAtMs: p.signedAtMs,
  };
}

/** GetRegionStatus's audit figures (0 when the region records nothing). */
function auditFigures(s: RegionAuditStats | undefined) {
  return {
    auditBuffered: (s?.buffered ?? 0) + (s?.pendingKeyUses ?? 0),
    auditSent: s?.sent ?? 0,
    auditDropped: s?.dropped ?? 0,
  };
}

/**
 * Serves AuthorizerService (Authorize, BatchAuthorize, Simulate, GetRegionStatus) from a decider over the view,
 * and Authenticate / AuthenticateAndAuthorize when given the secret keys (else UNIMPLEMENTED).
 */
export async function startDeciderServer(options: DeciderServerOptions): Promise<DeciderServer> {
  const { logger } = options;
  const telemetry = options.telemetry ?? TELEMETRY_DISABLED;
  const metrics = telemetry.metrics;
  const regionAttrs = Object.freeze({ region: options.region });
  const resultAttrs = Object.freeze({
    [Decision.DECISION_ALLOW]: Object.freeze({ result: "allow", region: options.region }),
    [Decision.DECISION_EXPLICIT_DENY]: Object.freeze({ result: "deny", region: options.region }),
    [Decision.DECISION_IMPLICIT_DENY]: Object.freeze({ result: "deny", region: options.region }),
  } as Record<number, Readonly<Record<string, string>>>);
  const errorAttrs = Object.freeze({ result: "error", region: options.region });
  const countDecision = (r: AuthorizeResponse | undefined | null) =>
    metrics.decisions.add(1, (r === undefined || r === null ? undefined : resultAttrs[r.decision]) ?? errorAttrs);
  const failedSignature = (e: unknown) => {
    const name = (e as { awsName?: unknown } | null)?.awsName;
    if (typeof name === "string" && SIGNATURE_FAILURES.has(name)) {
      metrics.signatureFailures.add(1, { service: "region", region: options.region, error: name });
    }
  };
  /** STS calls that issue credentials (counted as STS issuance when they succeed). */
  const issuing = new Set(["AssumeRole", "AssumeRoleWithWebIdentity", "GetSessionToken"]);
  /**
   * The server-side unary wrapper; with telemetry on, each call runs in a server span continuing
   * the caller's `traceparent`, batch decisions are counted, STS issuance and signature failures too.
   */
  const unary = <Req, Res>(
    method: string,
    log: Logger,
    fn: (request: Req, call: ServerUnaryCall<Req, Res>) => Promise<Res>,
  ): handleUnaryCall<Req, Res> => {
    if (!telemetry.enabled) return plainUnary(method, log, fn);
    return plainUnary(method, log, (request, call) =>
      telemetry
        .serverSpan(call.getPath(), metadataOf(call.metadata), () => fn(request, call))
        .then(
          (response) => {
            const batch = (response as { responses?: AuthorizeResponse[] } | null)?.responses;
            if (Array.isArray(batch)) for (const one of batch) countDecision(one.error === undefined ? one : null);
            if (issuing.has(method)) metrics.stsIssued.add(1, { operation: method, region: options.region });
            return response;
          },
          (e: unknown) => {
            failedSignature(e);
            throw e;
          },
        ),
    );
  };
  const clock = options.clock ?? systemClock;
  const secretBox: SecretBox | undefined =
    options.secretKeys === undefined
      ? undefined
      : createSecretBox(options.secretKeys.key, [...options.secretKeys.previous]);
  const keyring =
    secretBox === undefined
      ? undefined
      : await createStsKeyring({ view: options.view, box: secretBox, clock, logger: logger.child({ part: "sts" }) });
  const decider = await createDecider({
    ...options,
    ...(options.clock === undefined ? {} : { now: () => clock.now() }),
    ...(keyring === undefined ? {} : { keyring }),
  });
  const sts =
    keyring === undefined || secretBox === undefined
      ? undefined
      : createStsIssuer({ decider, view: options.view, keyring, box: secretBox, clock });
  const sessions =
    options.sessions ?? (keyring === undefined ? undefined : createStsSessionResolver({ decider, keyring }));
  const authenticator =
    secretBox === undefined
      ? undefined
      : createRequestAuthenticator({
          view: options.view,
          decider,
          secretBox,
          region: options.region,
          logger: logger.child({ part: "authenticator" }),
          ...(sessions === undefined ? {} : { sessions }),
          ...(options.clock === undefined ? {} : { clock: options.clock }),
          ...(options.audit === undefined ? {} : { onKeyUse: options.audit.keyUse }),
        });

  /** The last evaluatedAt made: the next answer at the same account and revision shares it (a batch's usually do). */
  let lastAt: Revision = { accountId: "", revision: -1, epoch: "" };
  const evaluatedAtOf = (d: DecisionResult) => {
    if (lastAt.accountId !== d.accountId || lastAt.revision !== d.revision) {
      lastAt = { accountId: d.accountId, revision: d.revision, epoch: "" };
    }
    return lastAt;
  };
  const responseOf = (r: { readonly correlationId: string }, d: DecisionResult): AuthorizeResponse => ({
    decision: DECISIONS[d.result.decision],
    explanationJson: d.result.explanation === undefined ? "" : JSON.stringify(d.result.explanation),
    evaluatedAt: evaluatedAtOf(d),
    correlationId: r.correlationId,
  });
  /** Check `i`'s decision into `answers`: a plain one as a byte, one with an explanation in full. */
  const answerInto = (answers: BatchAnswers, i: number, d: DecisionResult): void => {
    if (d.result.explanation === undefined) answers.plain(i, DECISIONS[d.result.decision], evaluatedAtOf(d));
    else answers.set(i, responseOf({ correlationId: answers.correlationId(i) }, d));
  };
  /**
   * The answer to one check: at once when the decider has all it needs in memory (no promise, no
   * microtask: the common case), else once it waited or read Redis. Bad input throws.
   */
  const answer = (
    r: AuthorizeRequest,
    deadlineMs: number,
    field: FieldPrefix,
  ): AuthorizeResponse | Promise<AuthorizeResponse> => {
    const request = toDecisionRequest(r, deadlineMs, field);
    const now = decider.tryDecide(request);
    if (now !== undefined) return responseOf(r, now);
    return decider.decide(request).then((d) => responseOf(r, d));
  };
  const batchError = (one: { readonly correlationId: string }, i: number, e: unknown): AuthorizeResponse => {
    const err = IamError.is(e) && e.code !== "INTERNAL" ? e : undefined;
    if (err === undefined) logger.error({ err: e, index: i }, "unexpected failure in a batch check");
    const wire = err ?? new IamError("ServiceFailure", "internal error");
    const error: AuthorizeError = { code: wire.status, message: wire.message, detail: detailOf(wire) };
    return {
      decision: Decision.DECISION_UNSPECIFIED,
      explanationJson: "",
      correlationId: one.correlationId,
      error,
    };
  };

  const unimplemented =
    (name: string): handleUnaryCall<unknown, never> =>
    (_call, callback) =>
      callback({ code: status.UNIMPLEMENTED, details: `${name} is not served by this region yet` }, null);

  const implementation: AuthorizerServiceServer = {
    authorize: (call, callback) => {
      let answered: AuthorizeResponse | Promise<AuthorizeResponse>;
      try {
        answered = answer(call.request, deadlineOf(call), NO_PREFIX);
      } catch (e) {
        callback(toServiceError(e, "Authorize", logger), null);
        return;
      }
      if (!(answered instanceof Promise)) callback(null, answered);
      else {
        answered.then(
          (response) => callback(null, response),
          (e: unknown) => callback(toServiceError(e, "Authorize", logger), null),
        );
      }
    },
    batchAuthorize: unary("BatchAuthorize", logger, async (r: BatchAuthorizeCall, call) => {
      if (r.requests.length > MAX_BATCH) {
        throw new IamError("InvalidInput", `requests has ${r.requests.length} checks, at most ${MAX_BATCH}`, {
          field: "requests",
        });
      }
      const deadlineMs = deadlineOf(call);
      // Answers go into one BatchAnswers (no response object per plain answer; the correlation
      // ids stay the call's bytes). What checks share (a principal, a context) is converted,
      // checked and looked up once: the loop is synchronous, so the decider's state cannot change
      // between its checks.
      const answers = new BatchAnswers(r);
      const conversions: BatchConversions = { arns: new Map(), contexts: new Map() };
      const scope = decider.batchScope();
      const draft = blankDecisionRequest();
      let waiting: Promise<void>[] | undefined;
      for (let i = 0; i < r.requests.length; i++) {
        try {
          const request = fillDecisionRequest(draft, r.requests[i] as AuthorizeRequest, deadlineMs, i, conversions);
          const now = decider.tryDecide(request, scope);
          if (now !== undefined) answerInto(answers, i, now);
          else {
            waiting ??= [];
            waiting.push(
              decider.decide({ ...request }).then(
                (d) => answerInto(answers, i, d),
                (e: unknown) => answers.set(i, batchError({ correlationId: answers.correlationId(i) }, i, e)),
              ),
            );
          }
        } catch (e) {
          answers.set(i, batchError({ correlationId: answers.correlationId(i) }, i, e));
        }
      }
      if (waiting !== undefined) await Promise.all(waiting);
      // The answers hold all they need (correlation ids as the call's bytes, else the requests').
      if (r.correlationIds !== undefined) release(r.requests);
      return answers;
    }),
    batchAuthorizePrincipal: unary("BatchAuthorizePrincipal", logger, async (r, call) => {
      if (r.checks.length > MAX_BATCH) {
        throw new IamError("InvalidInput", `checks has ${r.checks.length} checks, at most ${MAX_BATCH}`, {
          field: "checks",
        });
      }
      const deadlineMs = deadlineOf(call);
      // The shared fields checked and converted once; each check is then the DecisionRequest
      // BatchAuthorize would make of the check spelled out in full (same fields, same order).
      const shared = toDecisionRequest(
        {
          principal: r.principal,
          action: "",
          resource: "",
          resourceAccount: "",
          context: r.context,
          resourcePolicy: "",
          minRevision: r.minRevision,
          explain: false,
          maxStalenessMs: r.maxStalenessMs,
          correlationId: "",
          sessionToken: "",
        },
        deadlineMs,
        NO_PREFIX,
      );
      const responses: (AuthorizeResponse | Promise<AuthorizeResponse>)[] = new Array(r.checks.length);
      let waiting = false;
      const scope = decider.batchScope();
      for (let i = 0; i < r.checks.length; i++) {
        const check = r.checks[i] as PrincipalCheck;
        const request: DecisionRequest = {
          principal: shared.principal,
          action: check.action,
          resource: check.resource,
          resourceAccount: check.resourceAccount === "" ? undefined : check.resourceAccount,
          context: shared.context,
          resourcePolicy: check.resourcePolicy === "" ? undefined : check.resourcePolicy,
          minRevision: shared.minRevision,
          maxStalenessMs: shared.maxStalenessMs,
          explain: false,
          deadlineMs,
        };
        try {
          const now = decider.tryDecide(request, scope);
          if (now !== undefined) responses[i] = responseOf(check, now);
          else {
            waiting = true;
            responses[i] = decider.decide(request).then(
              (d) => responseOf(check, d),
              (e: unknown) => batchError(check, i, e),
            );
          }
        } catch (e) {
          responses[i] = batchError(check, i, e);
        }
      }
      const answered = waiting ? await Promise.all(responses) : (responses as AuthorizeResponse[]);
      release(r.checks);
      return { responses: answered };
    }),
    simulate: unary("Simulate", logger, async (r: SimulateRequest, call) => {
      if (r.actions.length === 0) throw new IamError("InvalidInput", "actions is required", { field: "actions" });
      if (r.resources.length === 0) throw new IamError("InvalidInput", "resources is required", { field: "resources" });
      const pairs = r.actions.length * r.resources.length;
      if (pairs > MAX_BATCH) {
        throw new IamError("InvalidInput", `actions × resources is ${pairs} checks, at most ${MAX_BATCH}`, {
          field: "actions",
        });
      }
      const deadlineMs = deadlineOf(call);
      const base = toDecisionRequest(
        {
          principal: r.principal,
          action: "-",
          resource: "-",
          resourceAccount: "",
          context: r.context,
          resourcePolicy: r.resourcePolicy,
          minRevision: r.minRevision,
          explain: true,
          maxStalenessMs: 0,
          correlationId: "",
          sessionToken: "",
        },
        deadlineMs,
        NO_PREFIX,
      );
      const simulation = {
        identityPolicies: r.extraIdentityPolicies,
        ...(r.permissionBoundary === "" ? {} : { permissionBoundary: r.permissionBoundary }),
      };
      const results = [];
      for (const action of r.actions) {
        for (const resource of r.resources) {
          // STS actions on a stored role: its trust policy decides, as in AssumeRole (role-trust.ts).
          const d = await decider.decide(
            await withSimulatedTrust(options.view, decider, { ...base, action, resource, simulation }),
          );
          results.push({
            action,
            resource,
            decision: DECISIONS[d.result.decision],
            explanationJson: JSON.stringify(d.result.explanation ?? {}),
          });
        }
      }
      return { results };
    }),
    authenticate:
      authenticator === undefined
        ? unimplemented("Authenticate")
        : unary("Authenticate", logger, async (r: AuthenticateRequest, call) =>
            toAuthenticateResponse(await authenticator.authenticate(toAuthenticationInput(r, call.getPeer(), ""))),
          ),
    authenticateAndAuthorize:
      authenticator === undefined
        ? unimplemented("AuthenticateAndAuthorize")
        : unary("AuthenticateAndAuthorize", logger, async (r, call) => {
            if (r.authenticate === undefined) {
              throw new IamError("InvalidInput", "authenticate is required", { field: "authenticate" });
            }
            const check = r.authorize;
            if (check === undefined)
              throw new IamError("InvalidInput", "authorize is required", { field: "authorize" });
            if (check.principal !== undefined) {
              throw new IamError(
                "InvalidInput",
                "authorize.principal must be unset: the authenticated caller is the principal",
                {
                  field: "authorize.principal",
                },
              );
            }
            const input = toAuthenticationInput(r.authenticate, call.getPeer(), "authenticate.");
            const deadlineMs = deadlineOf(call);
            // Read-your-writes covers the key too: a key created or revoked at min_revision is seen.
            const minRevision = minRevisionOf(check.minRevision, "authorize.");
            if (minRevision !== undefined) {
              await decider.waitApplied(minRevision.accountId, minRevision.revision, deadlineMs, minRevision.epoch);
            }
            const who = await authenticator.authenticate(input);
            const authorization = await answer(
              { ...check, principal: { kind: { $case: "arn", value: who.arn } } },
              deadlineMs,
              "authorize.",
            );
            return { authenticated: toAuthenticateResponse(who), authorization };
          }),
    getRegionStatus: unary("GetRegionStatus", logger, async (r: GetRegionStatusRequest) => {
      const size = r.pageSize === 0 ? 100 : r.pageSize;
      if (size > 1000) throw new IamError("InvalidInput", `pageSize ${size} is above 1000`, { field: "pageSize" });
      if (r.pageToken !== "" && !/^\d{12}$/.test(r.pageToken)) {
        throw new IamError("InvalidInput", `pageToken ${JSON.stringify(r.pageToken)} is not one this call returned`, {
          field: "pageToken",
        });
      }
      const [page, lag, l2Size] = await Promise.all([
        options.view.listApplied(r.pageToken, size + 1),
        options.view.consumerLag(),
        options.view.size(),
      ]);
      const shown = page.slice(0, size);
      const staleness = decider.stalenessMs();
      const l2 = decider.l2();
      return {
        region: options.region,
        accounts: shown.map((a) => ({
          accountId: a.accountId,
          revision: a.applied.revision,
          epoch: a.applied.epoch,
          gap: a.applied.gap ?? "",
        })),
        nextPageToken: page.length > size ? (shown[shown.length - 1]?.accountId ?? "") : "",
        stalenessMs: Number.isFinite(staleness) ? staleness : -1,
        watermarks: [...decider.watermarks()].map(([partition, committedBeforeMs]) => ({
          partition,
          committedBeforeMs,
        })),
        l1Principals: decider.cache.size,
        l1Bytes: decider.cache.bytes,
        l1Hits: decider.cache.hits,
        l1Misses: decider.cache.misses,
        consumerLag: lag,
        l2Entities: l2Size.entities,
        l2Accounts: l2Size.accounts,
        l2UsedMemoryBytes: l2Size.usedMemoryBytes,
        l2Reads: l2.reads,
        l2Hits: l2.hits,
        l2Misses: l2.misses,
        ...auditFigures(options.audit?.stats()),
      };
    }),
  };

  if (telemetry.enabled) {
    // Authorize keeps its own path (no promise when the decider answers from memory); with
    // telemetry on it is wrapped here, and with it off this wrapper does not exist.
    const authorize = implementation.authorize;
    implementation.authorize = (call, callback) => {
      const started = performance.now();
      const parent = call.metadata.get("traceparent")[0];
      const span = telemetry.startSpan("gatehouse.v1.AuthorizerService/Authorize", {
        kind: "server",
        parent: typeof parent === "string" ? parent : undefined,
        attributes: { "rpc.system": "grpc", "rpc.method": "Authorize", "cloud.region": options.region },
      });
      authorize(call, (error, response) => {
        metrics.authorizeDuration.record((performance.now() - started) / 1000, regionAttrs);
        countDecision(error === null ? response : undefined);
        span.end(error ?? undefined);
        callback(error, response);
      });
    };
    telemetry.gauge(METRIC_NAMES.l1HitRatio, "Share of decisions whose principal was in the L1", "1", () => {
      const { hits, misses } = decider.cache;
      return hits + misses === 0 ? [] : [[hits / (hits + misses), regionAttrs]];
    });
    telemetry.gauge(METRIC_NAMES.staleness, "How far the region's view may be behind the control plane", "ms", () => {
      const staleness = decider.stalenessMs();
      return Number.isFinite(staleness) ? [[staleness, regionAttrs]] : [];
    });
  }

  const sampleRate = options.authorizeSampleRate ?? 0;
  if (!(sampleRate >= 0 && sampleRate <= 1)) throw new Error(`authorizeSampleRate must be in 0..1, got ${sampleRate}`);
  if (sampleRate > 0 && options.audit !== undefined) {
    implementation.authorize = sampleAuthorize(implementation.authorize, sampleRate, options.audit.event);
  }

  limitHttp2StreamRetention((reason) =>
    logger.warn({ reason }, "http2 stream tables are not renewed: expect longer GC pauses"),
  );
  const server = new Server({ "grpc.max_receive_message_length": 4 * 1024 * 1024, "grpc.enable_channelz": 0 });
  server.addService(SERVED_SERVICE, implementation);
  if (sts !== undefined) {
    server.addService(
      RAW_STS_SERVICE,
      createStsService({
        issuer: sts,
        region: options.region,
        unary: (method, fn) => unary(method, logger, fn),
        ...(options.audit === undefined ? {} : { audit: options.audit.event }),
        ...(authenticator === undefined
          ? {}
          : { authenticate: createStsCallAuthenticator({ authenticator, decider }) }),
      }),
    );
  }
  options.health?.addToServer(server);
  addReflection(server, {
    protoDir: PROTO_DIR,
    protoFiles:
      sts === undefined
        ? ["gatehouse/v1/authorizer.proto"]
        : ["gatehouse/v1/authorizer.proto", "gatehouse/v1/sts.proto"],
  });
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(
      `${options.listen.host}:${options.listen.port}`,
      ServerCredentials.createInsecure(),
      (err, bound) => (err === null ? resolve(bound) : reject(err)),
    );
  });
  return {
    port,
    decider,
    ...(sts === undefined ? {} : { sts }),
    ...(authenticator === undefined ? {} : { authenticator }),
    async close(graceMs = 5000) {
      await drainServer(server, graceMs);
      await decider.close();
    },
  };
}
