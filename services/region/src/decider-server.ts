import type { SecretBox } from "@gatehouse/auth";
import { IamError, systemClock } from "@gatehouse/core";
import type { ContextValue as PolicyContextValue } from "@gatehouse/policy";
import {
  type AuthorizeError,
  type AuthorizeRequest,
  type AuthorizeResponse,
  type AuthorizerServiceServer,
  AuthorizerServiceService,
  type ContextValue,
  Decision,
  ErrorDetail,
  type GetRegionStatusRequest,
  type SimulateRequest,
} from "@gatehouse/proto";
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
import { createDecider, type Decider, type DecisionRequest } from "./decider.ts";
import { createStsIssuer, type StsIssuer } from "./sts-issuer.ts";
import { createStsKeyring } from "./sts-keyring.ts";
import { createStsService, RAW_STS_SERVICE, type StsCallAuthenticator } from "./sts-service.ts";

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
  /** STS issuance over this decider (present when the region holds the secret keys). */
  readonly sts?: StsIssuer;
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
  /** Opens the STS key set (session tokens) and MFA seeds; absent: no sessions are served. */
  readonly box?: SecretBox;
  /** Verifies signed STS calls (absent: only AssumeRoleWithWebIdentity is served). */
  readonly stsAuthenticator?: StsCallAuthenticator;
}

const DECISIONS = {
  Allow: Decision.DECISION_ALLOW,
  ExplicitDeny: Decision.DECISION_EXPLICIT_DENY,
  ImplicitDeny: Decision.DECISION_IMPLICIT_DENY,
} as const;

function contextOf(context: Readonly<Record<string, ContextValue>>): Record<string, PolicyContextValue> {
  const out: Record<string, PolicyContextValue> = {};
  for (const [key, v] of Object.entries(context)) {
    const kind = v.kind;
    if (kind === undefined)
      throw new IamError("InvalidInput", `context.${key} has no value`, { field: `context.${key}` });
    out[key] = kind.$case === "listValue" ? kind.value.values : kind.value;
  }
  return out;
}

function toDecisionRequest(r: AuthorizeRequest, deadlineMs: number, field: string): DecisionRequest {
  const p = r.principal?.kind;
  if (p === undefined)
    throw new IamError("InvalidInput", `${field}principal is required`, { field: `${field}principal` });
  const keys = Object.keys(r.context);
  if (keys.length > 256) {
    throw new IamError("InvalidInput", `context has ${keys.length} keys, at most 256`, { field: `${field}context` });
  }
  return {
    principal:
      p.$case === "arn"
        ? { kind: "arn", arn: p.value }
        : {
            kind: "access-key",
            accessKeyId: p.value,
            ...(r.sessionToken === "" ? {} : { sessionToken: r.sessionToken }),
          },
    action: r.action,
    resource: r.resource,
    ...(r.resourceAccount === "" ? {} : { resourceAccount: r.resourceAccount }),
    context: contextOf(r.context),
    ...(r.resourcePolicy === "" ? {} : { resourcePolicy: r.resourcePolicy }),
    ...(r.minRevision === undefined || r.minRevision.revision === 0
      ? {}
      : { minRevision: { accountId: r.minRevision.accountId, revision: Number(r.minRevision.revision) } }),
    ...(r.maxStalenessMs === 0 ? {} : { maxStalenessMs: r.maxStalenessMs }),
    explain: r.explain,
    deadlineMs,
  };
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

function unary<Req, Res>(
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

/**
 * Serves AuthorizerService (Authorize, BatchAuthorize, Simulate, GetRegionStatus) from a decider over the view;
 * Authenticate answers UNIMPLEMENTED for now.
 */
export async function startDeciderServer(options: DeciderServerOptions): Promise<DeciderServer> {
  const { logger } = options;
  const keyring =
    options.box === undefined
      ? undefined
      : await createStsKeyring({ view: options.view, box: options.box, clock: systemClock, logger });
  const decider = await createDecider({ ...options, ...(keyring === undefined ? {} : { keyring }) });
  const sts =
    keyring === undefined || options.box === undefined
      ? undefined
      : createStsIssuer({ decider, view: options.view, keyring, box: options.box, clock: systemClock });

  const answer = async (r: AuthorizeRequest, deadlineMs: number, field: string): Promise<AuthorizeResponse> => {
    const d = await decider.decide(toDecisionRequest(r, deadlineMs, field));
    return {
      decision: DECISIONS[d.result.decision],
      explanationJson: d.result.explanation === undefined ? "" : JSON.stringify(d.result.explanation),
      evaluatedAt: { accountId: d.accountId, revision: d.revision },
      correlationId: r.correlationId,
    };
  };

  const unimplemented =
    (name: string): handleUnaryCall<unknown, never> =>
    (_call, callback) =>
      callback({ code: status.UNIMPLEMENTED, details: `${name} is not served by this region yet` }, null);

  const implementation: AuthorizerServiceServer = {
    authorize: unary("Authorize", logger, (r: AuthorizeRequest, call) => answer(r, deadlineOf(call), "")),
    batchAuthorize: unary("BatchAuthorize", logger, async (r, call) => {
      if (r.requests.length > MAX_BATCH) {
        throw new IamError("InvalidInput", `requests has ${r.requests.length} checks, at most ${MAX_BATCH}`, {
          field: "requests",
        });
      }
      const deadlineMs = deadlineOf(call);
      const responses = await Promise.all(
        r.requests.map((one, i) =>
          answer(one, deadlineMs, `requests[${i}].`).catch((e: unknown): AuthorizeResponse => {
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
          }),
        ),
      );
      return { responses };
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
        "",
      );
      const simulation = {
        identityPolicies: r.extraIdentityPolicies,
        ...(r.permissionBoundary === "" ? {} : { permissionBoundary: r.permissionBoundary }),
      };
      const results = [];
      for (const action of r.actions) {
        for (const resource of r.resources) {
          const d = await decider.decide({ ...base, action, resource, simulation });
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
    authenticate: unimplemented("Authenticate"),
    getRegionStatus: unary("GetRegionStatus", logger, async (r: GetRegionStatusRequest) => {
      const size = r.pageSize === 0 ? 100 : r.pageSize;
      if (size > 1000) throw new IamError("InvalidInput", `pageSize ${size} is above 1000`, { field: "pageSize" });
      if (r.pageToken !== "" && !/^\d{12}$/.test(r.pageToken)) {
        throw new IamError("InvalidInput", `pageToken ${JSON.stringify(r.pageToken)} is not one this call returned`, {
          field: "pageToken",
        });
      }
      const page = await options.view.listApplied(r.pageToken, size + 1);
      const shown = page.slice(0, size);
      const staleness = decider.stalenessMs();
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
      };
    }),
  };

  const server = new Server({ "grpc.max_receive_message_length": 4 * 1024 * 1024, "grpc.enable_channelz": 0 });
  server.addService(AuthorizerServiceService, implementation);
  if (sts !== undefined) {
    server.addService(
      RAW_STS_SERVICE,
      createStsService({
        issuer: sts,
        unary: (method, fn) => unary(method, logger, fn),
        ...(options.stsAuthenticator === undefined ? {} : { authenticate: options.stsAuthenticator }),
      }),
    );
  }
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
    async close(graceMs = 5000) {
      await new Promise<void>((resolve) => {
        const force = setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, graceMs);
        server.tryShutdown(() => {
          clearTimeout(force);
          resolve();
        });
      });
      await decider.close();
    },
  };
}
