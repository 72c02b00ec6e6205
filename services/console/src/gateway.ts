import { readFileSync } from "node:fs";
import type { AddressInfo } from "node:net";
import type { Credentials } from "@gatehouse/auth";
import { createHealthClient } from "@gatehouse/lifecycle";
import {
  type GetCredentialReportResponse,
  type GetRegionStatusResponse,
  PasswordPolicy,
  type SignInRequest,
  type SignInResponse,
  SignInServiceClient,
  SignInStatus,
} from "@gatehouse/proto";
import { type ControlMethod, fromServiceError, Gatehouse, GatehouseError } from "@gatehouse/sdk";
import { credentials as grpcCredentials, Metadata, type ServiceError } from "@grpc/grpc-js";
import Fastify, { type FastifyReply, type FastifyRequest } from "fastify";
import { Redis } from "ioredis";
import type { Logger } from "pino";
import { z } from "zod";
import type { ConsoleConfig } from "./config.ts";
import { HttpError, toHttpError } from "./http-error.ts";
import { authzOperations, controlOperations } from "./operation-table.ts";
import { createRedisSessionRecords } from "./redis-session-records.ts";
import { memorySessionRecords, type SessionRecord, type SessionRecords } from "./session-records.ts";
import { csrfMatches, type SessionInfo } from "./session-store.ts";
import { createRedisSignInThrottle, type SignInThrottle } from "./sign-in-throttle.ts";
import { NOT_BUILT_PAGE, webFile } from "./web-app.ts";

/**
 * The session cookie. `__Host-` makes the browser refuse it unless Secure, Path=/ and without a
 * Domain, so no other host or path can plant one; Chromium keeps Secure cookies of plain-HTTP
 * `localhost` and `127.0.0.1` (secure contexts), so it works without TLS on loopback.
 */
/** The control plane's readiness name in grpc.health.v1 (Postgres answers, schema migrated). */
const CONTROL_PLANE_READINESS = "gatehouse.v1.ControlService";
const HEALTH_CHECK_TIMEOUT_MS = 2000;
/** The gateway's own health routes (see API.md): not logged when they answer 200. */
const HEALTH_PATHS = new Set(["/healthz", "/livez"]);

export const SESSION_COOKIE = "__Host-gatehouse-console";
const COOKIE_ATTRIBUTES = "Path=/; HttpOnly; Secure; SameSite=Strict";

/**
 * What every answer carries: no caching of API answers, no framing, no sniffing, no referrer,
 * and a content security policy allowing only the gateway's own origin (inline styles aside,
 * which charting and editor components set).
 */
const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  "X-Content-Type-Options": "nosniff",
  "X-Frame-Options": "DENY",
  "Referrer-Policy": "no-referrer",
  "Cross-Origin-Opener-Policy": "same-origin",
  "Content-Security-Policy":
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; font-src 'self' data:; worker-src 'self' blob:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
};

/** A running console gateway. */
export interface ConsoleGateway {
  /** Its base URL (`http://127.0.0.1:50080`). */
  readonly url: string;
  readonly port: number;
  /** Sessions held now (in this process; with a shared store, those this replica has a connection for). */
  sessions(): number;
  /** Stops taking requests, ends every session (closing its connections), closes the sign-in channel. */
  close(): Promise<void>;
}

/** Options of {@link startConsoleGateway}. */
export interface ConsoleGatewayOptions {
  readonly config: ConsoleConfig;
  readonly logger: Logger;
  /** The clock of sessions' idle timeouts (tests). */
  readonly now?: () => number;
}

const SignInBody = z.strictObject({
  account: z.string().min(1).max(63),
  userName: z.string().max(64).optional(),
  password: z.string().max(128).optional(),
  mfaCode: z.string().max(16).optional(),
  newPassword: z.string().max(128).optional(),
  root: z.boolean().optional(),
  accessKeyId: z.string().max(128).optional(),
  secretAccessKey: z.string().max(256).optional(),
});

function cookieOf(req: FastifyRequest): string | undefined {
  const header = req.headers.cookie;
  if (header === undefined) return undefined;
  for (const part of header.split(";")) {
    const eq = part.indexOf("=");
    if (eq > 0 && part.slice(0, eq).trim() === SESSION_COOKIE) return part.slice(eq + 1).trim();
  }
  return undefined;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

/** The 12-digit id just before `accountId`, as a region status page token (accounts after it). */
function tokenBefore(accountId: string): string {
  const n = BigInt(accountId);
  return n === 0n ? "" : (n - 1n).toString().padStart(12, "0");
}

/**
 * Starts the console gateway (API.md): sign-in through the control plane's SignInService,
 * server-side sessions (an opaque id in an HttpOnly, Secure, SameSite=Strict cookie; the
 * temporary credentials never leave the gateway), a CSRF token on every non-GET request, an
 * `Origin` check on sign-in, idle timeout and sign-out; `/api/iam/*` and `/api/authz/*` relayed
 * to the services through the SDK, signed with the session's credentials (the gateway holds no
 * credential of its own); `/api/regions`, `/api/credential-report.csv`, and the built web app.
 *
 * @example
 * const gw = await startConsoleGateway({ config: loadConsoleConfig(process.env), logger });
 * console.log(`${gw.url}/signin/123456789012`);
 */
export async function startConsoleGateway(options: ConsoleGatewayOptions): Promise<ConsoleGateway> {
  const { config, logger } = options;
  const log = logger.child({ component: "console-gateway" });
  const control = controlOperations();
  const authz = authzOperations();
  const regionNames = Object.keys(config.regions);
  const now = options.now ?? Date.now;
  // Each session's SDK client (its gRPC connections, signing with its credentials), in this
  // replica only and made on first use, least recently used first; the session itself lives in
  // `sessions`, which a shared store makes any replica's.
  const clients = new Map<string, { readonly client: Gatehouse; seenMs: number }>();
  const dropClient = (id: string) => {
    const c = clients.get(id);
    if (c === undefined) return;
    clients.delete(id);
    c.client.close();
  };
  const store = config.sessionStore;
  let redis: Redis | undefined;
  let sessions: SessionRecords;
  let throttle: SignInThrottle | undefined;
  if (store.kind === "redis") {
    const onError = (e: unknown) =>
      log.warn({ error: e instanceof Error ? e.message : String(e) }, "session store (Redis) failed");
    // No offline queue and a command timeout: while Redis is away, requests answer 503 at once
    // instead of waiting for it; the connection keeps retrying.
    redis = new Redis(store.url, {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      commandTimeout: store.timeoutMs,
      connectTimeout: store.timeoutMs,
      retryStrategy: (n) => Math.min(100 * n, 2000),
    });
    let lastError = "";
    redis.on("error", (e: Error) => {
      // Reconnection attempts fail every ~2 s during an outage: one line per distinct error.
      if (e.message !== lastError) log.warn({ error: e.message }, "session store (Redis) connection failed");
      lastError = e.message;
    });
    redis.on("ready", () => {
      lastError = "";
    });
    sessions = createRedisSessionRecords({
      redis,
      keyPrefix: store.keyPrefix,
      idleTimeoutMs: config.idleTimeoutMs,
      secretKey: store.secretKey,
      previousSecretKeys: store.previousSecretKeys,
      now,
      onError,
    });
    throttle = createRedisSignInThrottle({
      redis,
      keyPrefix: store.keyPrefix,
      perUser: store.signInFailures.perUser,
      perSource: store.signInFailures.perSource,
      onError,
    });
  } else {
    sessions = memorySessionRecords({
      idleTimeoutMs: config.idleTimeoutMs,
      maxSessions: config.maxSessions,
      now,
      onEnd: dropClient,
    });
  }
  const clientOf = (s: SessionRecord): Gatehouse => {
    const t = now();
    const held = clients.get(s.id);
    if (held !== undefined) {
      held.seenMs = t;
      clients.delete(s.id);
      clients.set(s.id, held);
      return held.client;
    }
    while (clients.size >= config.maxSessions) dropClient(clients.keys().next().value as string);
    const client = clientFor(s.credentials);
    clients.set(s.id, { client, seenMs: t });
    return client;
  };
  const signInClient = new SignInServiceClient(config.controlPlane, grpcCredentials.createInsecure());
  const controlPlaneHealth = createHealthClient(config.controlPlane);
  const scheme = config.tls === undefined ? "http" : "https";

  const clientFor = (credentials: Credentials) =>
    new Gatehouse({
      credentials,
      region: config.homeRegion,
      endpoints: { controlPlane: config.controlPlane, regions: config.regions },
      timeoutMs: config.callTimeoutMs,
      // Nothing from the gateway's own environment or profile files: the session's keys only.
      env: {},
    });

  const sessionJson = (s: SessionRecord) => ({
    ...s.info,
    idleTimeoutMs: config.idleTimeoutMs,
    csrfToken: s.csrfToken,
    homeRegion: config.homeRegion,
    regions: regionNames,
  });

  /** The request's session (its idle clock restarted), checking the CSRF token when `csrf`. */
  const requireSession = async (
    req: FastifyRequest,
    reply: FastifyReply,
    csrf: boolean,
  ): Promise<SessionRecord & { readonly client: Gatehouse }> => {
    const id = cookieOf(req);
    const found = await sessions.touch(id);
    if (found.kind !== "active") {
      if (id !== undefined) dropClient(id);
      if (id !== undefined) reply.header("Set-Cookie", `${SESSION_COOKIE}=; ${COOKIE_ATTRIBUTES}; Max-Age=0`);
      throw found.kind === "expired"
        ? new HttpError(401, "SessionExpired", "the session has ended (idle or expired); sign in again")
        : new HttpError(401, "NotSignedIn", "not signed in");
    }
    const given = req.headers["x-csrf-token"];
    if (csrf && !csrfMatches(found.session, typeof given === "string" ? given : undefined)) {
      throw new HttpError(
        403,
        "CsrfTokenInvalid",
        "the X-CSRF-Token header is missing or not this session's",
        "X-CSRF-Token",
      );
    }
    return { ...found.session, client: clientOf(found.session) };
  };

  const callSignIn = (request: SignInRequest) =>
    new Promise<SignInResponse>((resolve, reject) => {
      signInClient.signIn(
        request,
        new Metadata(),
        { deadline: Date.now() + config.callTimeoutMs },
        (err: ServiceError | null, response) =>
          err === null ? resolve(response) : reject(fromServiceError(err, "/gatehouse.v1.SignInService/SignIn")),
      );
    });

  const app = Fastify({
    logger: false,
    // Only the configured proxies' X-Forwarded-For/-Proto/-Host count (req.ip is then the
    // rightmost address not theirs); from anyone else they are ignored.
    trustProxy: config.trustedProxies.length === 0 ? false : [...config.trustedProxies],
    bodyLimit: 1024 * 1024,
    return503OnClosing: true,
    ...(config.tls === undefined
      ? {}
      : { https: { cert: readFileSync(config.tls.certFile), key: readFileSync(config.tls.keyFile) } }),
  });

  // JSON bodies only; an empty one is `{}` (sign-out sends none). Fastify's own parser guards
  // against prototype poisoning.
  const json = app.getDefaultJsonParser("error", "error");
  app.removeAllContentTypeParsers();
  app.addContentTypeParser("application/json", { parseAs: "string" }, (req, body, done) => {
    const text = typeof body === "string" ? body : body.toString("utf8");
    if (text === "") done(null, {});
    else json(req, text, done);
  });

  app.addHook("onRequest", async (req, reply) => {
    reply.headers(SECURITY_HEADERS);
    if (req.url.startsWith("/api/")) reply.header("Cache-Control", "no-store");
  });
  app.addHook("onResponse", async (req, reply) => {
    // Probes every few seconds would drown the log; a failing one shows in its own answer.
    if (HEALTH_PATHS.has(req.url) && reply.statusCode === 200) return;
    // The path only: never a query string, header or body (no secret is ever in a URL anyway).
    log.info(
      { method: req.method, path: req.url.split("?")[0], status: reply.statusCode, ms: Math.round(reply.elapsedTime) },
      "request",
    );
  });

  app.setErrorHandler((e, _req, reply) => {
    let err: HttpError;
    const code = (e as { code?: unknown }).code;
    if (e instanceof HttpError || e instanceof GatehouseError) err = toHttpError(e);
    else if (code === "FST_ERR_CTP_INVALID_MEDIA_TYPE") {
      err = new HttpError(415, "ValidationError", "send JSON (Content-Type: application/json)", "Content-Type");
    } else if (code === "FST_ERR_CTP_BODY_TOO_LARGE") {
      err = new HttpError(413, "ValidationError", "the body is larger than 1 MiB");
    } else if (typeof code === "string" && code.startsWith("FST_ERR_CTP")) {
      err = new HttpError(400, "ValidationError", "the body is not valid JSON");
    } else if (e instanceof SyntaxError) {
      err = new HttpError(400, "ValidationError", "the body is not valid JSON");
    } else err = toHttpError(e);
    if (err.status >= 500 && err.code === "InternalFailure") log.error({ err: e }, "request failed");
    void reply.status(err.status).type("application/json").send(err.body());
  });

  // Readiness: the control plane's own readiness answers SERVING over grpc.health.v1 (without it no
  // one can sign in nor do anything). Liveness: the process serves HTTP, whatever the control plane
  // does (restarting the gateway would only sign everyone out).
  app.get("/healthz", async (_req, reply) => {
    let controlPlane: string;
    try {
      controlPlane = await controlPlaneHealth.check(CONTROL_PLANE_READINESS, HEALTH_CHECK_TIMEOUT_MS);
    } catch {
      controlPlane = "UNREACHABLE";
    }
    // With a shared session store, a replica that cannot reach it can serve no one.
    const sessionStore = redis === undefined ? undefined : redis.status === "ready" ? "ok" : "unavailable";
    const ok = controlPlane === "SERVING" && sessionStore !== "unavailable";
    return reply
      .status(ok ? 200 : 503)
      .header("Cache-Control", "no-store")
      .send({
        status: ok ? "ok" : "unavailable",
        controlPlane,
        ...(sessionStore === undefined ? {} : { sessionStore }),
      });
  });
  app.get("/livez", async (_req, reply) => reply.header("Cache-Control", "no-store").send({ status: "ok" }));

  app.post("/api/session/sign-in", async (req, reply) => {
    if (!(req.headers["content-type"] ?? "").toLowerCase().startsWith("application/json")) {
      throw new HttpError(415, "ValidationError", "send JSON (Content-Type: application/json)", "Content-Type");
    }
    // A cross-site page cannot sign someone in to the attacker's account (login CSRF).
    // Behind a trusted proxy, its X-Forwarded-Proto and -Host name the origin the browser sees.
    const origin = req.headers.origin;
    if (
      origin === undefined ||
      (origin !== `${req.protocol}://${req.host}` && !config.allowedOrigins.includes(origin))
    ) {
      throw new HttpError(403, "CsrfTokenInvalid", "sign-in needs a same-origin Origin header", "Origin");
    }
    const parsed = SignInBody.safeParse(req.body);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const field = String(issue?.path[0] ?? (issue?.code === "unrecognized_keys" ? (issue.keys[0] ?? "") : ""));
      throw new HttpError(400, "ValidationError", `${field || "body"}: ${issue?.message ?? "invalid"}`, field);
    }
    const b = parsed.data;
    // The client's address: the socket's peer, or what a trusted proxy says it is.
    const sourceIp = req.ip;
    const who = `${b.account.trim().toLowerCase()}|${b.root === true ? `root:${b.accessKeyId ?? ""}` : (b.userName ?? "").toLowerCase()}`;
    if (throttle !== undefined && (await throttle.exhausted(who, sourceIp, now()))) {
      log.warn({ sourceIp }, "sign-in throttled by the gateway");
      throw new HttpError(429, "Throttled", "too many failed sign-ins; wait a minute and try again");
    }
    let answer: SignInResponse;
    try {
      answer = await callSignIn({
        account: b.account,
        userName: b.userName ?? "",
        password: b.password ?? "",
        mfaCode: b.mfaCode ?? "",
        newPassword: b.newPassword ?? "",
        root: b.root ?? false,
        accessKeyId: b.accessKeyId ?? "",
        secretAccessKey: b.secretAccessKey ?? "",
        durationSeconds: config.sessionSeconds,
        sourceIp,
      });
    } catch (e) {
      if (e instanceof GatehouseError && e.awsName === "SignInFailed") {
        await throttle?.fail(who, sourceIp, now());
        throw new HttpError(401, "SignInFailed", e.message);
      }
      throw e;
    }
    switch (answer.status) {
      case SignInStatus.SIGN_IN_STATUS_MFA_REQUIRED:
        return { status: "MFA_REQUIRED" };
      case SignInStatus.SIGN_IN_STATUS_PASSWORD_CHANGE_REQUIRED:
        return {
          status: "PASSWORD_CHANGE_REQUIRED",
          passwordPolicy:
            answer.passwordPolicy === undefined ? undefined : PasswordPolicy.toJSON(answer.passwordPolicy),
        };
      case SignInStatus.SIGN_IN_STATUS_SIGNED_IN:
        break;
      default:
        throw new HttpError(500, "InternalFailure", "the control plane answered the sign-in with no status");
    }
    const c = answer.credentials;
    if (c === undefined) throw new HttpError(500, "InternalFailure", "the control plane signed in without credentials");
    // A new id at every sign-in: a session id known before it (fixation) never becomes signed in.
    const previous = cookieOf(req);
    if (previous !== undefined) {
      await sessions.end(previous);
      dropClient(previous);
    }
    const credentials = {
      accessKeyId: c.accessKeyId,
      secretAccessKey: c.secretAccessKey,
      sessionToken: c.sessionToken,
    };
    const info: SessionInfo = {
      accountId: answer.accountId,
      accountAlias: answer.accountAlias,
      principalArn: answer.principalArn,
      userName: answer.userName,
      isRoot: answer.isRoot,
      mfaAuthenticated: answer.mfaAuthenticated,
      expiresAt: c.expirationMs,
    };
    const session = await sessions.create(info, credentials);
    reply.header("Set-Cookie", `${SESSION_COOKIE}=${session.id}; ${COOKIE_ATTRIBUTES}`);
    return { status: "SIGNED_IN", session: sessionJson(session) };
  });

  app.get("/api/session", async (req, reply) => sessionJson(await requireSession(req, reply, false)));

  app.post("/api/session/sign-out", async (req, reply) => {
    const id = cookieOf(req);
    const found = await sessions.touch(id);
    if (found.kind === "active") {
      const given = req.headers["x-csrf-token"];
      if (!csrfMatches(found.session, typeof given === "string" ? given : undefined)) {
        throw new HttpError(
          403,
          "CsrfTokenInvalid",
          "the X-CSRF-Token header is missing or not this session's",
          "X-CSRF-Token",
        );
      }
      await sessions.end(found.session.id);
      dropClient(found.session.id);
    }
    void reply.header("Set-Cookie", `${SESSION_COOKIE}=; ${COOKIE_ATTRIBUTES}; Max-Age=0`).status(204).send();
  });

  app.post<{ Params: { operation: string } }>("/api/iam/:operation", async (req, reply) => {
    const session = await requireSession(req, reply, true);
    const op = control.get(req.params.operation);
    if (op === undefined) {
      throw new HttpError(404, "UnknownOperation", `${req.params.operation} is not an operation the console relays`);
    }
    if (!isObject(req.body)) throw new HttpError(400, "ValidationError", "the body must be a JSON object");
    const request = op.request.fromJSON(req.body);
    const response = await session.client.callControl(op.method as ControlMethod, request as never);
    return op.response.toJSON(response);
  });

  app.post<{ Params: { operation: string }; Querystring: { region?: string } }>(
    "/api/authz/:operation",
    async (req, reply) => {
      const session = await requireSession(req, reply, true);
      const op = authz.get(req.params.operation);
      if (op === undefined) {
        throw new HttpError(404, "UnknownOperation", `${req.params.operation} is not an operation the console relays`);
      }
      const region = req.query.region ?? config.homeRegion;
      if (config.regions[region] === undefined) {
        throw new HttpError(
          400,
          "ValidationError",
          `region ${JSON.stringify(region)} is not one of ${regionNames.join(", ")}`,
          "region",
        );
      }
      if (!isObject(req.body)) throw new HttpError(400, "ValidationError", "the body must be a JSON object");
      const response = await session.client.callRegion(op.method, op.request.fromJSON(req.body), region);
      return op.response.toJSON(response);
    },
  );

  app.get("/api/regions", async (req, reply) => {
    const session = await requireSession(req, reply, false);
    const accountId = session.info.accountId;
    const regions = await Promise.all(
      regionNames.map(async (region) => {
        const endpoint = (config.regions[region] ?? []).join(",");
        try {
          const s = await session.client.callRegion<GetRegionStatusResponse>(
            "getRegionStatus",
            { pageSize: 1, pageToken: tokenBefore(accountId) },
            region,
            { timeoutMs: Math.min(config.callTimeoutMs, 3000) },
          );
          const applied = s.accounts[0]?.accountId === accountId ? (s.accounts[0]?.revision ?? 0) : 0;
          const marks = s.watermarks.map((w) => w.committedBeforeMs);
          return {
            region,
            endpoint,
            reachable: true,
            appliedRevision: applied,
            stalenessMs: s.stalenessMs,
            watermarkMs: marks.length === 0 ? 0 : Math.min(...marks),
            consumerLag: s.consumerLag.reduce((sum, p) => sum + p.lag, 0),
          };
        } catch (e) {
          const err = toHttpError(e);
          return {
            region,
            endpoint,
            reachable: false,
            appliedRevision: 0,
            stalenessMs: -1,
            watermarkMs: 0,
            consumerLag: 0,
            error: { code: err.code, message: err.message },
          };
        }
      }),
    );
    return { at: Date.now(), regions };
  });

  app.get("/api/credential-report.csv", async (req, reply) => {
    const session = await requireSession(req, reply, false);
    const get = () => session.client.callControl("getCredentialReport", {});
    let report: GetCredentialReportResponse;
    try {
      report = await get();
    } catch (e) {
      if (!(e instanceof GatehouseError) || (e.awsName !== "ReportNotPresent" && e.awsName !== "ReportExpired"))
        throw e;
      await session.client.callControl("generateCredentialReport", {});
      report = await get();
    }
    void reply
      .type("text/csv; charset=utf-8")
      .header("Content-Disposition", `attachment; filename="credential-report-${session.info.accountId}.csv"`)
      .send(Buffer.from(report.content));
  });

  app.setNotFoundHandler(async (req, reply) => {
    const path = req.url.split("?")[0] ?? "/";
    if (path.startsWith("/api/") || path === "/api" || (req.method !== "GET" && req.method !== "HEAD")) {
      throw new HttpError(404, "UnknownOperation", `no route ${req.method} ${path}`);
    }
    const file = await webFile(config.webDir, path);
    if (file === undefined) {
      return reply.status(404).type("text/plain; charset=utf-8").send("not found");
    }
    if (file === "not-built") {
      return reply
        .status(503)
        .type("text/html; charset=utf-8")
        .header("Cache-Control", "no-store")
        .send(NOT_BUILT_PAGE);
    }
    return reply.type(file.contentType).header("Cache-Control", file.cacheControl).send(file.body);
  });

  const sweep = () => {
    sessions.sweep();
    // Connections of sessions this replica has not served for an idle timeout (ended elsewhere,
    // expired in the shared store, or served by other replicas since).
    const t = now();
    for (const [id, c] of [...clients]) if (t - c.seenMs >= config.idleTimeoutMs) dropClient(id);
  };
  const sweeper = setInterval(sweep, Math.min(60_000, Math.max(1000, config.idleTimeoutMs / 4)));
  sweeper.unref();
  const closeRedis = async () => {
    if (redis === undefined) return;
    if (redis.status === "ready") await redis.quit().catch(() => redis?.disconnect());
    else redis.disconnect();
  };
  try {
    if (redis !== undefined && redis.status !== "ready") {
      // Serve at once either way: until Redis answers, sign-ins and sessions answer 503.
      const r = redis;
      const ready = await new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => resolve(false), store.kind === "redis" ? store.timeoutMs : 0);
        r.once("ready", () => {
          clearTimeout(timer);
          resolve(true);
        });
      });
      if (!ready) log.warn("session store (Redis) not reachable yet: sign-ins answer 503 until it is");
    }
    await app.listen({ host: config.listen.host, port: config.listen.port });
  } catch (e) {
    clearInterval(sweeper);
    await closeRedis();
    signInClient.close();
    controlPlaneHealth.close();
    throw e;
  }
  const port = (app.server.address() as AddressInfo).port;
  const host = config.listen.host === "0.0.0.0" || config.listen.host === "::" ? "127.0.0.1" : config.listen.host;
  let closing: Promise<void> | undefined;
  return {
    url: `${scheme}://${host.includes(":") ? `[${host}]` : host}:${port}`,
    port,
    sessions: () => sessions.size() ?? clients.size,
    close() {
      closing ??= (async () => {
        clearInterval(sweeper);
        await app.close();
        await sessions.close();
        for (const id of [...clients.keys()]) dropClient(id);
        await closeRedis();
        signInClient.close();
        controlPlaneHealth.close();
      })();
      return closing;
    },
  };
}
