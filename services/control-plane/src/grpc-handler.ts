import { isIP } from "node:net";
import { IamError } from "@gatehouse/core";
import { ErrorDetail } from "@gatehouse/proto";
import { type handleUnaryCall, Metadata, type ServiceDefinition, type ServiceError, type status } from "@grpc/grpc-js";
import type { Logger } from "pino";
import { findingsOf } from "./validation.ts";

/** A request as handlers see it: decoded, plus the exact bytes that were signed. */
export interface RawRequest<T> {
  readonly raw: Buffer;
  readonly message: T;
}

/** The trailer carrying {@link ErrorDetail} on every failed call. */
export const ERROR_DETAIL_TRAILER = "gatehouse-error-bin";

/**
 * The same service definition, but each method's deserializer keeps the raw bytes next to the
 * decoded message: SigV4 signs the bytes the client sent, not a re-encoding of them.
 */
export function withRawRequests<D extends ServiceDefinition>(definition: D): ServiceDefinition {
  const out: Record<string, unknown> = {};
  for (const [name, method] of Object.entries(definition)) {
    out[name] = {
      ...method,
      requestDeserialize: (buf: Buffer): RawRequest<unknown> => ({ raw: buf, message: method.requestDeserialize(buf) }),
    };
  }
  return out as ServiceDefinition;
}

/** What a handler knows about the call besides its message. */
export interface CallInfo {
  readonly method: string;
  readonly authority: string;
  readonly raw: Buffer;
  readonly metadata: Readonly<Record<string, string | undefined>>;
  /** The caller's IP address (`aws:SourceIp`), or undefined when the transport has none. */
  readonly sourceIp: string | undefined;
}

/**
 * The IP address in a grpc-js peer string (`203.0.113.7:51234`, `::ffff:203.0.113.7:51234`,
 * `::1:51234`, or a bare address): the port is dropped, and an IPv4-mapped IPv6 address
 * (`::ffff:a.b.c.d`, how a dual-stack listener sees IPv4 clients) becomes the IPv4 address, so
 * that `aws:SourceIp` conditions written for IPv4 ranges match.
 */
export function sourceIpOf(peer: string): string | undefined {
  // grpc-js appends the port to TCP peers without brackets, so strip it first: `::1:1234` is the
  // address `::1` on port 1234 even though it also parses as an IPv6 address.
  const withoutPort = peer.replace(/:\d+$/, "");
  const address = isIP(withoutPort) !== 0 ? withoutPort : peer;
  if (isIP(address) === 0) return undefined;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  return mapped?.[1] ?? address;
}

function flatten(md: Metadata): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(md.getMap())) if (typeof v === "string") out[k] = v;
  return out;
}

/**
 * Maps an error to a gRPC status: an {@link IamError} keeps its code and message and gets an
 * {@link ErrorDetail} trailer (AWS name, field, policy findings); anything else is logged with its
 * cause and sent as a bare INTERNAL, so nothing internal leaks.
 */
export function toServiceError(e: unknown, method: string, logger: Logger): Partial<ServiceError> {
  const err = IamError.is(e) ? e : undefined;
  if (err === undefined || err.code === "INTERNAL") {
    logger.error({ err: err?.cause ?? e, method }, "unexpected failure");
  } else if (err.code === "UNAVAILABLE") {
    logger.warn({ err: err.cause ?? err, method }, "dependency unavailable");
  }
  const wire = err ?? new IamError("ServiceFailure", "internal error");
  const metadata = new Metadata();
  metadata.set(
    ERROR_DETAIL_TRAILER,
    Buffer.from(
      ErrorDetail.encode({
        awsName: wire.awsName,
        field: wire.field ?? "",
        findings: findingsOf(wire).map((f) => ({
          path: f.path,
          code: f.code,
          message: f.message,
          severity: f.severity,
        })),
      }).finish(),
    ),
  );
  return {
    code: wire.status as status,
    details: err === undefined || err.code === "INTERNAL" ? "internal error" : wire.message,
    metadata,
  };
}

/** Wraps a promise-returning handler as a grpc-js unary handler with the error mapping above. */
export function unary<Req, Res>(
  method: string,
  logger: Logger,
  fn: (request: Req, info: CallInfo) => Promise<Res>,
): handleUnaryCall<RawRequest<Req>, Res> {
  return (call, callback) => {
    let info: CallInfo;
    try {
      info = {
        method: call.getPath(),
        authority: call.getHost(),
        raw: call.request.raw,
        metadata: flatten(call.metadata),
        sourceIp: sourceIpOf(call.getPeer()),
      };
    } catch (e) {
      callback(toServiceError(e, method, logger), null);
      return;
    }
    fn(call.request.message, info).then(
      (response) => callback(null, response),
      (e: unknown) => callback(toServiceError(e, method, logger), null),
    );
  };
}
