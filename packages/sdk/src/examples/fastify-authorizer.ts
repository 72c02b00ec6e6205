/**
 * Example: a Fastify service that authorizes every incoming request with one Gatehouse call.
 *
 * Routes say what they do as an IAM action on a resource ARN (`config.gatehouse`); a `preHandler`
 * hook asks the region whether the caller may, and answers 401 (no caller), 403 (denied) or 503
 * (Gatehouse unreachable: fail closed) before the handler runs. Who the caller is comes from
 * `principal(request)`: here a header set by the gateway in front of the service, which has
 * authenticated the caller. When the callers sign their requests with SigV4 instead, see
 * `fastify-sigv4.ts`: one `AuthenticateAndAuthorize` call per request.
 *
 * @example
 * const app = Fastify();
 * app.addHook("preHandler", gatehouseAuthorizer(gh, { principal: (r) => r.headers["x-principal-arn"] as string }));
 * app.get("/reports/:id", { config: { gatehouse: { action: "reports:GetReport",
 *   resource: (r) => `arn:aws:reports:::report/${(r.params as { id: string }).id}` } } }, handler);
 */
import type { FastifyReply, FastifyRequest, preHandlerAsyncHookHandler } from "fastify";
import { GatehouseError } from "../errors.ts";
import type { ContextInput, Gatehouse } from "../gatehouse.ts";

/** What a route does, in IAM terms (set as the route's `config.gatehouse`). */
export interface RouteAuthorization {
  readonly action: string;
  readonly resource: (request: FastifyRequest) => string;
}

/** Options of {@link gatehouseAuthorizer}. */
export interface GatehouseAuthorizerOptions {
  /** The caller's user or role ARN, as the service's authentication established it. */
  readonly principal: (request: FastifyRequest) => string | undefined;
  /** Extra request context for conditions (`aws:SourceIp` is always the request's address). */
  readonly context?: (request: FastifyRequest) => ContextInput;
}

/**
 * A `preHandler` hook authorizing each request to a route that has `config.gatehouse`; routes
 * without it are not checked.
 */
export function gatehouseAuthorizer(gh: Gatehouse, options: GatehouseAuthorizerOptions): preHandlerAsyncHookHandler {
  return async (request: FastifyRequest, reply: FastifyReply) => {
    const rule = (request.routeOptions.config as { gatehouse?: RouteAuthorization }).gatehouse;
    if (rule === undefined) return;
    const principalArn = options.principal(request);
    if (principalArn === undefined || principalArn === "") {
      await reply.code(401).send({ error: "MissingAuthenticationToken" });
      return;
    }
    try {
      const { allowed, decision } = await gh.authz.authorize({
        principalArn,
        action: rule.action,
        resource: rule.resource(request),
        context: { "aws:SourceIp": request.ip, ...options.context?.(request) },
      });
      if (!allowed) await reply.code(403).send({ error: "AccessDenied", decision });
    } catch (e) {
      if (!(e instanceof GatehouseError)) throw e;
      request.log.warn({ err: e.awsName }, "authorization failed; refusing the request");
      await reply.code(503).send({ error: "AuthorizationUnavailable" });
    }
  };
}
