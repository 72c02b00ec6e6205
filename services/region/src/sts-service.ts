import { isIP } from "node:net";
import { IamError } from "@gatehouse/core";
import {
  type AssumeRoleRequest,
  type AssumeRoleResponse,
  type AssumeRoleWithWebIdentityRequest,
  type GetCallerIdentityRequest,
  type GetCallerIdentityResponse,
  type GetSessionTokenRequest,
  type GetSessionTokenResponse,
  type RegionAuditEvent,
  type StsServiceServer,
  StsServiceService,
} from "@gatehouse/proto";
import type { handleUnaryCall, ServerUnaryCall, ServiceDefinition } from "@grpc/grpc-js";
import {
  accountOfRoleArn,
  assumeRoleParameters,
  callerOfStsCall,
  issuedElements,
  sessionTokenParameters,
  stsAuditEvent,
  webIdentityParameters,
} from "./sts-audit.ts";
import type { AssumedRole, IssuedCredentials, StsCaller, StsIssuer } from "./sts-issuer.ts";

/** A request as the STS handlers see it: decoded, plus the exact bytes that were signed. */
interface RawRequest<T> {
  readonly raw: Buffer;
  readonly message: T;
}

/**
 * StsService's definition whose deserializers keep the raw bytes next to the decoded message:
 * SigV4 signs the bytes the client sent, not a re-encoding of them.
 */
export const RAW_STS_SERVICE: ServiceDefinition = Object.fromEntries(
  Object.entries(StsServiceService).map(([name, method]) => [
    name,
    {
      ...method,
      requestDeserialize: (buf: Buffer): RawRequest<unknown> => ({ raw: buf, message: method.requestDeserialize(buf) }),
    },
  ]),
) as ServiceDefinition;

/** The signed parts of an STS call, for the region's SigV4 verifier. */
export interface SignedStsCall {
  readonly method: string;
  readonly authority: string;
  readonly body: Uint8Array;
  readonly metadata: Readonly<Record<string, string | undefined>>;
  /** The caller's address (the connection's peer), for throttling failures per source. */
  readonly source?: string;
}

/**
 * Verifies a signed STS call (a long-term key or a session's ASIA key with its token) and says
 * who made it; throws an UNAUTHENTICATED IamError otherwise. The region's SigV4 authenticator.
 */
export type StsCallAuthenticator = (call: SignedStsCall) => Promise<StsCaller>;

/** Options of {@link createStsService}. */
export interface StsServiceOptions {
  readonly issuer: StsIssuer;
  /** This region's name: every answer says which region gave it (its `region` field). */
  readonly region: string;
  /** Absent: the signed calls (AssumeRole, GetSessionToken, GetCallerIdentity) answer UNAVAILABLE. */
  readonly authenticate?: StsCallAuthenticator;
  /**
   * Records each AssumeRole, GetSessionToken and AssumeRoleWithWebIdentity, allowed or denied,
   * once the caller is known (a call whose signature does not verify is not recorded). Must not
   * block: the region's audit sink only buffers.
   */
  readonly audit?: (event: Omit<RegionAuditEvent, "eventTimeMs">) => void;
  /** Wraps a handler with the server's error mapping (see `decider-server.ts`). */
  readonly unary: <Req, Res>(
    method: string,
    fn: (request: Req, call: ServerUnaryCall<Req, Res>) => Promise<Res>,
  ) => handleUnaryCall<Req, Res>;
}

/**
 * The IP address in a grpc-js peer string (`203.0.113.7:51234`, `::ffff:203.0.113.7:51234`): the
 * port dropped, an IPv4-mapped IPv6 address as IPv4 (as the control plane reads `aws:SourceIp`).
 */
export function sourceIpOf(peer: string): string | undefined {
  const withoutPort = peer.replace(/:\d+$/, "");
  const address = isIP(withoutPort) !== 0 ? withoutPort : peer;
  if (isIP(address) === 0) return undefined;
  return /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)?.[1] ?? address;
}

function credentialsOf(c: IssuedCredentials) {
  return {
    accessKeyId: c.accessKeyId,
    secretAccessKey: c.secretAccessKey,
    sessionToken: c.sessionToken,
    expirationMs: c.expirationMs,
  };
}

function assumedOf(r: AssumedRole, region: string): AssumeRoleResponse {
  return {
    credentials: credentialsOf(r),
    assumedRoleUser: { assumedRoleId: r.assumedRoleId, arn: r.arn },
    packedPolicySize: r.packedPolicySize,
    sourceIdentity: r.sourceIdentity ?? "",
    region,
  };
}

type StsMethod = "assumeRole" | "assumeRoleWithWebIdentity" | "getSessionToken" | "getCallerIdentity";
type RequestOf<H> = H extends handleUnaryCall<infer Q, infer _S> ? Q : never;
type ResponseOf<H> = H extends handleUnaryCall<infer _Q, infer S> ? S : never;

/**
 * StsService as served over {@link RAW_STS_SERVICE}: every generated method, each taking the raw
 * request next to its decoded message (a missing or misspelled method fails `tsc`).
 */
export type RawStsServiceServer = {
  [K in StsMethod]: handleUnaryCall<RawRequest<RequestOf<StsServiceServer[K]>>, ResponseOf<StsServiceServer[K]>>;
};

/**
 * StsService over the issuer. AssumeRoleWithWebIdentity is not signed (the token is the
 * credential); the other calls are authenticated by `authenticate` before anything else.
 */
export function createStsService(options: StsServiceOptions): RawStsServiceServer {
  const { issuer, unary, region } = options;
  const callerOf = async (call: ServerUnaryCall<RawRequest<unknown>, unknown>): Promise<StsCaller> => {
    if (options.authenticate === undefined) {
      throw new IamError("ServiceUnavailable", "this region does not verify signed STS calls yet");
    }
    const metadata: Record<string, string | undefined> = {};
    for (const [k, v] of Object.entries(call.metadata.getMap())) if (typeof v === "string") metadata[k] = v;
    return options.authenticate({
      method: call.getPath(),
      authority: call.getHost(),
      body: call.request.raw,
      metadata,
      ...(sourceIpOf(call.getPeer()) === undefined ? {} : { source: sourceIpOf(call.getPeer()) as string }),
    });
  };
  const deadlineOf = (call: ServerUnaryCall<unknown, unknown>) => {
    const d = call.getDeadline();
    const ms = d instanceof Date ? d.getTime() : d;
    return Number.isFinite(ms) ? ms : Date.now() + 10_000;
  };
  /** Runs an issuance and records it (allowed or denied); recording never changes the answer. */
  const audited = async <T>(
    operation: string,
    who:
      | Parameters<typeof stsAuditEvent>[0]["who"]
      | ((result: T | undefined) => Parameters<typeof stsAuditEvent>[0]["who"]),
    sourceIp: string | undefined,
    requestParameters: Record<string, unknown>,
    issue: () => Promise<T>,
    elements: (result: T) => Record<string, unknown>,
  ): Promise<T> => {
    const record = (result: T | undefined, error: unknown) => {
      if (options.audit === undefined) return;
      try {
        options.audit(
          stsAuditEvent({
            operation,
            who: typeof who === "function" ? who(result) : who,
            sourceIp,
            requestParameters,
            ...(result === undefined ? {} : { responseElements: elements(result) }),
            ...(error === undefined ? {} : { error }),
          }),
        );
      } catch {
        // An audit record that cannot be built must not fail the issuance.
      }
    };
    let result: T;
    try {
      result = await issue();
    } catch (e) {
      record(undefined, e);
      throw e;
    }
    record(result, undefined);
    return result;
  };
  const assumedElements = (r: AssumedRole) =>
    issuedElements(r, {
      assumedRoleUser: { assumedRoleId: r.assumedRoleId, arn: r.arn },
      ...(r.sourceIdentity === undefined ? {} : { sourceIdentity: r.sourceIdentity }),
    });
  return {
    assumeRole: unary("AssumeRole", async ({ message: r }: RawRequest<AssumeRoleRequest>, call) => {
      const caller = await callerOf(call);
      const sourceIp = sourceIpOf(call.getPeer());
      const assumed = await audited(
        "AssumeRole",
        callerOfStsCall(caller),
        sourceIp,
        assumeRoleParameters(r),
        () =>
          issuer.assumeRole(caller, {
            roleArn: r.roleArn,
            roleSessionName: r.roleSessionName,
            durationSeconds: r.durationSeconds,
            externalId: r.externalId,
            serialNumber: r.serialNumber,
            tokenCode: r.tokenCode,
            policy: r.policy,
            policyArns: r.policyArns,
            tags: r.tags,
            transitiveTagKeys: r.transitiveTagKeys,
            sourceIdentity: r.sourceIdentity,
            ...(r.minRevision === undefined || r.minRevision.revision === 0
              ? {}
              : { minRevision: { accountId: r.minRevision.accountId, revision: Number(r.minRevision.revision) } }),
            ...(sourceIp === undefined ? {} : { sourceIp }),
            deadlineMs: deadlineOf(call),
          }),
        assumedElements,
      );
      return assumedOf(assumed, region);
    }),
    assumeRoleWithWebIdentity: unary(
      "AssumeRoleWithWebIdentity",
      async ({ message: r }: RawRequest<AssumeRoleWithWebIdentityRequest>, call) => {
        const sourceIp = sourceIpOf(call.getPeer());
        const assumed = await audited(
          "AssumeRoleWithWebIdentity",
          // The token is the credential: recorded in the role's account as its provider and
          // subject once verified (CloudTrail's WebIdentityUser), as the provider alone if not.
          (result) => ({
            accountId: accountOfRoleArn(r.roleArn),
            principalArn: result === undefined ? "" : result.provider,
            userName: result === undefined ? "" : result.subject,
            accessKeyId: "",
          }),
          sourceIp,
          webIdentityParameters(r),
          () =>
            issuer.assumeRoleWithWebIdentity({
              roleArn: r.roleArn,
              roleSessionName: r.roleSessionName,
              webIdentityToken: r.webIdentityToken,
              durationSeconds: r.durationSeconds,
              policy: r.policy,
              policyArns: r.policyArns,
              ...(sourceIp === undefined ? {} : { sourceIp }),
            }),
          (a) => ({ ...assumedElements(a), subjectFromWebIdentityToken: a.subject, provider: a.provider }),
        );
        return assumedOf(assumed, region);
      },
    ),
    getSessionToken: unary(
      "GetSessionToken",
      async ({ message: r }: RawRequest<GetSessionTokenRequest>, call): Promise<GetSessionTokenResponse> => {
        const caller = await callerOf(call);
        const issued = await audited(
          "GetSessionToken",
          callerOfStsCall(caller),
          sourceIpOf(call.getPeer()),
          sessionTokenParameters(r),
          () =>
            issuer.getSessionToken(caller, {
              durationSeconds: r.durationSeconds,
              serialNumber: r.serialNumber,
              tokenCode: r.tokenCode,
            }),
          (c) => issuedElements(c),
        );
        return { credentials: credentialsOf(issued), region };
      },
    ),
    getCallerIdentity: unary(
      "GetCallerIdentity",
      async (_r: RawRequest<GetCallerIdentityRequest>, call): Promise<GetCallerIdentityResponse> => ({
        ...issuer.getCallerIdentity(await callerOf(call)),
        region,
      }),
    ),
  };
}
