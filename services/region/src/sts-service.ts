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
  type StsServiceServer,
  StsServiceService,
} from "@gatehouse/proto";
import type { handleUnaryCall, ServerUnaryCall, ServiceDefinition } from "@grpc/grpc-js";
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
  /** Absent: the signed calls (AssumeRole, GetSessionToken, GetCallerIdentity) answer UNAVAILABLE. */
  readonly authenticate?: StsCallAuthenticator;
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

function assumedOf(r: AssumedRole): AssumeRoleResponse {
  return {
    credentials: credentialsOf(r),
    assumedRoleUser: { assumedRoleId: r.assumedRoleId, arn: r.arn },
    packedPolicySize: r.packedPolicySize,
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
  const { issuer, unary } = options;
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
  return {
    assumeRole: unary("AssumeRole", async ({ message: r }: RawRequest<AssumeRoleRequest>, call) => {
      const caller = await callerOf(call);
      const sourceIp = sourceIpOf(call.getPeer());
      return assumedOf(
        await issuer.assumeRole(caller, {
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
          ...(r.minRevision === undefined || r.minRevision.revision === 0
            ? {}
            : { minRevision: { accountId: r.minRevision.accountId, revision: Number(r.minRevision.revision) } }),
          ...(sourceIp === undefined ? {} : { sourceIp }),
          deadlineMs: deadlineOf(call),
        }),
      );
    }),
    assumeRoleWithWebIdentity: unary(
      "AssumeRoleWithWebIdentity",
      async ({ message: r }: RawRequest<AssumeRoleWithWebIdentityRequest>, call) => {
        const sourceIp = sourceIpOf(call.getPeer());
        return assumedOf(
          await issuer.assumeRoleWithWebIdentity({
            roleArn: r.roleArn,
            roleSessionName: r.roleSessionName,
            webIdentityToken: r.webIdentityToken,
            durationSeconds: r.durationSeconds,
            policy: r.policy,
            policyArns: r.policyArns,
            ...(sourceIp === undefined ? {} : { sourceIp }),
          }),
        );
      },
    ),
    getSessionToken: unary(
      "GetSessionToken",
      async ({ message: r }: RawRequest<GetSessionTokenRequest>, call): Promise<GetSessionTokenResponse> => {
        const caller = await callerOf(call);
        const issued = await issuer.getSessionToken(caller, {
          durationSeconds: r.durationSeconds,
          serialNumber: r.serialNumber,
          tokenCode: r.tokenCode,
        });
        return { credentials: credentialsOf(issued) };
      },
    ),
    getCallerIdentity: unary(
      "GetCallerIdentity",
      async (_r: RawRequest<GetCallerIdentityRequest>, call): Promise<GetCallerIdentityResponse> =>
        issuer.getCallerIdentity(await callerOf(call)),
    ),
  };
}
