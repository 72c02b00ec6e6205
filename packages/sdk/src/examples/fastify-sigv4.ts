/**
 * Example: a Fastify service whose clients sign their requests with SigV4 (any AWS SDK, `aws
 * --endpoint-url`, `curl --aws-sigv4`, or `@gatehouse/auth`'s `signRequest`), under the service's
 * own signing name (`queues`), with keys Gatehouse issued. Gatehouse checks the signature.
 *
 * A `preHandler` hook sends each request's parts (method, path and query as sent, the headers it
 * signed, the SHA-256 of the body the service received) to the region named in the signature's
 * credential scope, in one call: `AuthenticateAndAuthorize` for routes that name their IAM action
 * and resource (`config.gatehouse`), `Authenticate` alone for the others. The principal is then
 * `request.gatehouse`. Answers: 401 with the AWS error name (unsigned, bad signature, expired,
 * unknown key), 403 (denied), 503 (no region answered: fail closed).
 *
 * The body must be hashed as received, so the plugin reads bodies as bytes (and parses JSON
 * itself): the signature covers the bytes, not a re-serialization.
 *
 * @example
 * const app = Fastify();
 * registerSigV4(app, gh, { service: "queues" });
 * app.post("/queues/:name/messages", { config: { gatehouse: { action: "queues:SendMessage",
 *   resource: (r) => `arn:aws:queues:::queue/${(r.params as { name: string }).name}` } } },
 *   async (r) => ({ sentBy: r.gatehouse?.arn }));
 */
import { createHash } from "node:crypto";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { AuthenticatedPrincipal } from "../authenticate.ts";
import { GatehouseError } from "../errors.ts";
import type { ContextInput, Gatehouse } from "../gatehouse.ts";

declare module "fastify" {
  interface FastifyRequest {
    /** Who signed the request (set by {@link registerSigV4}'s hook). */
    gatehouse: AuthenticatedPrincipal | null;
  }
}

/** What a route does, in IAM terms (its `config.gatehouse`). */
export interface SignedRouteAuthorization {
  readonly action: string;
  readonly resource: (request: FastifyRequest) => string;
}

/** Options of {@link registerSigV4}. */
export interface SigV4Options {
  /** The signing name clients sign for (the credential scope's service). */
  readonly service: string;
  /** Extra request context for conditions (`aws:SourceIp` is always the request's address). */
  readonly context?: (request: FastifyRequest) => ContextInput;
}

const EMPTY_SHA256 = createHash("sha256").update("").digest("hex");

/** Authenticates (and, where the route says, authorizes) every request with one Gatehouse call. */
export function registerSigV4(app: FastifyInstance, gh: Gatehouse, options: SigV4Options): void {
  const bodies = new WeakMap<FastifyRequest["raw"], Buffer>();
  app.decorateRequest("gatehouse", null);
  app.removeAllContentTypeParsers();
  app.addContentTypeParser("*", { parseAs: "buffer" }, (request, body: Buffer, done) => {
    bodies.set(request.raw, body);
    if (!(request.headers["content-type"] ?? "").startsWith("application/json") || body.length === 0) {
      done(null, body);
      return;
    }
    try {
      done(null, JSON.parse(body.toString("utf8")));
    } catch (e) {
      done(Object.assign(e as Error, { statusCode: 400 }), undefined);
    }
  });

  app.addHook("preHandler", async (request: FastifyRequest, reply: FastifyReply) => {
    const url = request.raw.url ?? "/";
    const q = url.indexOf("?");
    const body = bodies.get(request.raw);
    const signed = {
      method: request.method,
      path: q < 0 ? url : url.slice(0, q),
      query: q < 0 ? "" : url.slice(q + 1),
      headers: request.headers,
      payloadSha256: body === undefined ? EMPTY_SHA256 : createHash("sha256").update(body).digest("hex"),
      service: options.service,
      source: request.ip,
    };
    const rule = (request.routeOptions.config as { gatehouse?: SignedRouteAuthorization }).gatehouse;
    try {
      if (rule === undefined) {
        request.gatehouse = await gh.authz.authenticate(signed);
        return;
      }
      const r = await gh.authz.authenticateAndAuthorize({
        request: signed,
        action: rule.action,
        resource: rule.resource(request),
        context: { "aws:SourceIp": request.ip, ...options.context?.(request) },
      });
      request.gatehouse = r.principal;
      if (!r.allowed) await reply.code(403).send({ error: "AccessDenied", decision: r.decision });
    } catch (e) {
      if (!(e instanceof GatehouseError)) throw e;
      if (e.code === "UNAUTHENTICATED" || e.code === "RESOURCE_EXHAUSTED") {
        await reply.code(e.code === "UNAUTHENTICATED" ? 401 : 429).send({ error: e.awsName });
        return;
      }
      request.log.warn({ err: e.awsName }, "authentication failed; refusing the request");
      await reply.code(503).send({ error: "AuthenticationUnavailable" });
    }
  });
}
