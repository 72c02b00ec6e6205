// Several console gateways sharing sessions and the failed sign-in throttle through a real Redis,
// against one real control plane and region: a session made on one gateway is served by another,
// ended everywhere by sign-out, expired by Redis's TTL, sealed at rest; Redis failing answers 503;
// X-Forwarded-For counts only from the trusted proxies.
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes, randomUUID } from "node:crypto";
import { createSecretBox } from "@gatehouse/auth";
import { deadPort, type LiveStack, startLiveStack } from "@gatehouse/live-stack";
import { Gatehouse } from "@gatehouse/sdk";
import { Redis } from "ioredis";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConsoleConfig } from "./config.ts";
import { type ConsoleGateway, SESSION_COOKIE, startConsoleGateway } from "./gateway.ts";
import { sessionIdHash } from "./redis-session-records.ts";

const SHARED_REDIS = "redis://127.0.0.1:6380";
const IDLE_MS = 10_000;
const PASSWORD = "Alice-pass-1!";
const doc = (...Statement: object[]) => JSON.stringify({ Version: "2012-10-17", Statement });

interface Answer {
  status: number;
  headers: Headers;
  text: string;
  json: any;
}

/** A redis-server of this test's own (nothing persisted), which a test may kill. */
async function startRedisServer(port: number): Promise<ChildProcess> {
  const child = spawn(
    "redis-server",
    ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
    {
      stdio: "ignore",
    },
  );
  const probe = new Redis(`redis://127.0.0.1:${port}`, { lazyConnect: true, retryStrategy: () => null });
  probe.on("error", () => {});
  for (let i = 0; i < 100; i++) {
    try {
      await probe.connect();
      await probe.ping();
      probe.disconnect();
      return child;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  child.kill("SIGKILL");
  throw new Error(`redis-server on port ${port} did not start`);
}

async function stopRedisServer(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once("exit", r));
  child.kill("SIGKILL");
  await exited;
}

describe("console gateways sharing sessions through Redis", () => {
  let stack: LiveStack;
  let root: Gatehouse;
  let accountId: string;
  let redis: Redis;
  const prefixes: string[] = [];
  const gateways: ConsoleGateway[] = [];
  const secretKey = randomBytes(32);

  /** A gateway on port 0 against the live stack, with these settings over the shared defaults. */
  const gatewayWith = async (env: Record<string, string>): Promise<ConsoleGateway> => {
    const g = await startConsoleGateway({
      config: loadConsoleConfig({
        GATEHOUSE_CONSOLE_LISTEN: "127.0.0.1:0",
        GATEHOUSE_CONSOLE_CONTROL_PLANE: stack.controlPlane,
        GATEHOUSE_CONSOLE_REGIONS: `${stack.region}=${stack.decider}`,
        GATEHOUSE_CONSOLE_IDLE_TIMEOUT_MS: String(IDLE_MS),
        GATEHOUSE_CONSOLE_CALL_TIMEOUT_MS: "5000",
        GATEHOUSE_CONSOLE_REDIS_URL: SHARED_REDIS,
        GATEHOUSE_CONSOLE_REDIS_TIMEOUT_MS: "500",
        GATEHOUSE_CONSOLE_SESSION_SECRET_KEY: secretKey.toString("base64"),
        GATEHOUSE_CONSOLE_SIGN_IN_USER_FAILURE_BURST: "3",
        GATEHOUSE_CONSOLE_SIGN_IN_USER_FAILURES_PER_MINUTE: "1",
        GATEHOUSE_CONSOLE_SIGN_IN_SOURCE_FAILURE_BURST: "6",
        GATEHOUSE_CONSOLE_SIGN_IN_SOURCE_FAILURES_PER_MINUTE: "1",
        ...env,
      }),
      logger: pino({ level: "silent" }),
    });
    gateways.push(g);
    return g;
  };

  /** A key prefix of this test's own in the shared Redis (deleted at the end, never flushed). */
  const newPrefix = () => {
    const p = `gatehouse-test:console:${randomUUID()}:`;
    prefixes.push(p);
    return p;
  };

  const call = async (
    g: ConsoleGateway,
    method: string,
    path: string,
    o: { body?: unknown; cookie?: string; csrf?: string; origin?: string; headers?: Record<string, string> } = {},
  ): Promise<Answer> => {
    const headers: Record<string, string> = { ...o.headers };
    if (o.body !== undefined) headers["content-type"] = "application/json";
    if (o.cookie !== undefined) headers.cookie = `${SESSION_COOKIE}=${o.cookie}`;
    if (o.csrf !== undefined) headers["x-csrf-token"] = o.csrf;
    headers.origin = o.origin ?? g.url;
    const r = await fetch(`${g.url}${path}`, {
      method,
      headers,
      ...(o.body === undefined ? {} : { body: JSON.stringify(o.body) }),
    });
    const text = await r.text();
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    return { status: r.status, headers: r.headers, text, json };
  };

  const signIn = (g: ConsoleGateway, body: Record<string, unknown>, o: Parameters<typeof call>[3] = {}) =>
    call(g, "POST", "/api/session/sign-in", { ...o, body: { account: accountId, ...body } });

  /** Signs alice in through `g`: the cookie's session id and the CSRF token. */
  const session = async (g: ConsoleGateway, o: Parameters<typeof call>[3] = {}) => {
    const r = await signIn(g, { userName: "alice", password: PASSWORD }, o);
    expect(r.status, r.text).toBe(200);
    const cookie = /^__Host-gatehouse-console=([A-Za-z0-9_-]{43});/.exec(r.headers.get("set-cookie") ?? "")?.[1];
    expect(cookie).toBeDefined();
    return { cookie: cookie as string, csrf: r.json.session.csrfToken as string, json: r.json.session };
  };

  const keysUnder = async (prefix: string) => {
    const found: string[] = [];
    let cursor = "0";
    do {
      const [next, batch] = await redis.scan(cursor, "MATCH", `${prefix}*`, "COUNT", 1000);
      cursor = next;
      found.push(...batch);
    } while (cursor !== "0");
    return found;
  };

  beforeAll(async () => {
    // The control plane's own throttle (per process) is set out of the way: what these tests see
    // throttling is the gateways' shared one.
    stack = await startLiveStack("consoleshared", {
      controlPlaneEnv: {
        GATEHOUSE_CP_SIGN_IN_SOURCE_FAILURE_BURST: "1000",
        GATEHOUSE_CP_SIGN_IN_USER_FAILURE_BURST: "1000",
      },
    });
    const operator = new Gatehouse({
      credentials: stack.operator,
      endpoints: { controlPlane: stack.controlPlane },
      env: {},
    });
    const created = await operator.iam.createAccount({});
    operator.close();
    accountId = created.accountId;
    root = new Gatehouse({
      credentials: { accessKeyId: created.rootAccessKeyId, secretAccessKey: created.rootSecretAccessKey },
      endpoints: { controlPlane: stack.controlPlane },
      env: {},
    });
    for (const userName of ["alice", "bob", "carol"]) {
      await root.iam.createUser({ userName });
      await root.iam.createLoginProfile({ userName, password: PASSWORD });
    }
    await root.iam.putUserPolicy({
      userName: "alice",
      policyName: "read-users",
      policyDocument: doc({ Effect: "Allow", Action: ["iam:ListUsers"], Resource: "*" }),
    });
    redis = new Redis(SHARED_REDIS);
  }, 120_000);

  afterAll(async () => {
    for (const g of gateways) await g.close();
    for (const p of prefixes) {
      const keys = await keysUnder(p);
      if (keys.length > 0) await redis.del(...keys);
    }
    redis?.disconnect();
    root?.close();
    await stack?.close();
  });

  it("serves a session made on A from B, sealed at rest under a hash of its id; sign-out on B ends it on A; a restarted A still serves it", async () => {
    const prefix = newPrefix();
    const a = await gatewayWith({ GATEHOUSE_CONSOLE_REDIS_KEY_PREFIX: prefix });
    const b = await gatewayWith({ GATEHOUSE_CONSOLE_REDIS_KEY_PREFIX: prefix });
    const s = await session(a);

    const onB = await call(b, "GET", "/api/session", { cookie: s.cookie });
    expect(onB.status, onB.text).toBe(200);
    expect(onB.json).toEqual(s.json);
    const users = await call(b, "POST", "/api/iam/ListUsers", { body: {}, cookie: s.cookie, csrf: s.csrf });
    expect(users.status, users.text).toBe(200);
    expect(users.json.users.map((u: { userName: string }) => u.userName)).toContain("alice");
    // The CSRF token is the session's, wherever it is checked.
    const wrong = s.csrf.replace(/^./, (c) => (c === "A" ? "B" : "A"));
    const refused = await call(b, "POST", "/api/iam/ListUsers", { body: {}, cookie: s.cookie, csrf: wrong });
    expect(refused.status).toBe(403);
    expect(refused.json.error.code).toBe("CsrfTokenInvalid");

    // At rest: keys named by the id's hash, never by the id; the record sealed.
    const hash = sessionIdHash(s.cookie);
    const keys = await keysUnder(prefix);
    expect(keys.sort()).toEqual([`${prefix}issued:${hash}`, `${prefix}session:${hash}`]);
    expect(keys.join(" ")).not.toContain(s.cookie);
    const raw = (await redis.getBuffer(`${prefix}session:${hash}`)) as Buffer;
    const opened = JSON.parse(createSecretBox(secretKey).open(raw, `${prefix}session:${hash}`));
    const { accessKeyId, secretAccessKey, sessionToken } = opened.credentials;
    expect(accessKeyId).toMatch(/^ASIA/);
    for (const secret of [accessKeyId, secretAccessKey, sessionToken, s.csrf, "secretAccessKey", "alice"]) {
      expect(raw.includes(Buffer.from(secret))).toBe(false);
      expect(raw.toString("latin1")).not.toContain(secret);
    }

    // A gateway restart signs no one out.
    await a.close();
    const a2 = await gatewayWith({ GATEHOUSE_CONSOLE_REDIS_KEY_PREFIX: prefix });
    expect((await call(a2, "GET", "/api/session", { cookie: s.cookie })).status).toBe(200);

    const out = await call(b, "POST", "/api/session/sign-out", { cookie: s.cookie, csrf: s.csrf });
    expect(out.status).toBe(204);
    const after = await call(a2, "GET", "/api/session", { cookie: s.cookie });
    expect(after.status).toBe(401);
    expect(after.json.error.code).toBe("NotSignedIn");
    expect(await keysUnder(prefix)).toEqual([]);
  });

  it("ends an idle session by the record's TTL in Redis (restarted by each request, on any gateway)", async () => {
    const prefix = newPrefix();
    const a = await gatewayWith({ GATEHOUSE_CONSOLE_REDIS_KEY_PREFIX: prefix });
    const b = await gatewayWith({ GATEHOUSE_CONSOLE_REDIS_KEY_PREFIX: prefix });
    const s = await session(a);
    const key = `${prefix}session:${sessionIdHash(s.cookie)}`;
    const first = await redis.pttl(key);
    expect(first).toBeGreaterThan(IDLE_MS - 2000);
    expect(first).toBeLessThanOrEqual(IDLE_MS);
    await new Promise((r) => setTimeout(r, 2500));
    expect(await redis.pttl(key)).toBeLessThan(first - 2000);
    expect((await call(b, "GET", "/api/session", { cookie: s.cookie })).status).toBe(200);
    expect(await redis.pttl(key)).toBeGreaterThan(IDLE_MS - 1500);
    // Unused for the idle timeout: Redis drops the record, and both gateways say it expired.
    await new Promise((r) => setTimeout(r, IDLE_MS + 500));
    expect(await redis.exists(key)).toBe(0);
    for (const g of [a, b]) {
      const r = await call(g, "GET", "/api/session", { cookie: s.cookie });
      expect(r.status).toBe(401);
      expect(r.json.error.code).toBe("SessionExpired");
    }
  }, 30_000);

  it("throttles failed sign-ins across gateways: failures on A and B add up, the right password waits too", async () => {
    const prefix = newPrefix();
    const a = await gatewayWith({ GATEHOUSE_CONSOLE_REDIS_KEY_PREFIX: prefix });
    const b = await gatewayWith({ GATEHOUSE_CONSOLE_REDIS_KEY_PREFIX: prefix });
    for (const g of [a, b, a]) {
      const r = await signIn(g, { userName: "bob", password: "Wrong-pass-1!" });
      expect(r.status, r.text).toBe(401);
      expect(r.json.error.code).toBe("SignInFailed");
    }
    for (const g of [b, a]) {
      const r = await signIn(g, { userName: "bob", password: PASSWORD });
      expect(r.status, r.text).toBe(429);
      expect(r.json.error.code).toBe("Throttled");
    }
    // Another user from the same address still signs in (its source bucket is not empty yet).
    expect((await signIn(b, { userName: "carol", password: PASSWORD })).status).toBe(200);
    // Nothing in Redis names the user or the address: only hashes.
    const keys = await keysUnder(prefix);
    expect(keys.length).toBeGreaterThan(0);
    expect(keys.join(" ")).not.toMatch(/bob|127\.0\.0\.1/);
  });

  it("takes the client address from X-Forwarded-For only from a trusted proxy (throttle, audit, origin)", async () => {
    const prefix = newPrefix();
    const direct = await gatewayWith({ GATEHOUSE_CONSOLE_REDIS_KEY_PREFIX: prefix });
    const proxied = await gatewayWith({
      GATEHOUSE_CONSOLE_REDIS_KEY_PREFIX: prefix,
      GATEHOUSE_CONSOLE_TRUSTED_PROXIES: "127.0.0.1, 10.0.0.0/8",
    });
    const xff = (v: string) => ({ headers: { "x-forwarded-for": v } });

    // Untrusted: every failure counts against the socket's address, whatever X-Forwarded-For says.
    for (let i = 0; i < 6; i++) {
      const r = await signIn(direct, { userName: `nobody-${i}`, password: "x" }, xff(`198.51.100.${i}`));
      expect(r.status, r.text).toBe(401);
    }
    const spoofed = await signIn(direct, { userName: "carol", password: PASSWORD }, xff("198.51.100.200"));
    expect(spoofed.status, spoofed.text).toBe(429);

    // Trusted: the rightmost address that is not a trusted proxy's is the client.
    for (let i = 0; i < 6; i++) {
      const r = await signIn(proxied, { userName: `nobody-${i}`, password: "x" }, xff(`203.0.113.7, 10.1.2.3`));
      expect(r.status, r.text).toBe(401);
    }
    expect((await signIn(proxied, { userName: "carol", password: PASSWORD }, xff("203.0.113.7"))).status).toBe(429);
    // A client prepending an address of its choice gains nothing: the proxy appended the real one.
    expect(
      (await signIn(proxied, { userName: "carol", password: PASSWORD }, xff("198.51.100.1, 203.0.113.7, 10.1.2.3")))
        .status,
    ).toBe(429);
    const other = await signIn(proxied, { userName: "carol", password: PASSWORD }, xff("203.0.113.8, 10.9.9.9"));
    expect(other.status, other.text).toBe(200);

    // The audit's source address is the same client address.
    const events = await root.iam.lookupEvents({ operation: "ConsoleLogin", accountId });
    const sources = events.events.map((e) => e.sourceIp);
    expect(sources).toContain("203.0.113.8");
    expect(sources).toContain("127.0.0.1");
    expect(sources.some((ip) => ip.startsWith("198.51.100."))).toBe(false);

    // A TLS-terminating proxy's scheme and host make the origin a browser sees; from anyone else
    // the same headers are ignored.
    const behind = {
      origin: "https://console.example",
      headers: {
        "x-forwarded-proto": "https",
        "x-forwarded-host": "console.example",
        "x-forwarded-for": "203.0.113.9",
      },
    };
    expect((await signIn(proxied, { userName: "alice", password: PASSWORD }, behind)).status).toBe(200);
    const refused = await signIn(direct, { userName: "alice", password: PASSWORD }, behind);
    expect(refused.status).toBe(403);
    expect(refused.json.error.field).toBe("Origin");
  });

  it("answers 503 while Redis is unavailable (sign-in and session reads), stays alive, and recovers", async () => {
    // Asked of the kernel. A random port of 52300–52389 lies in Linux's ephemeral range, where
    // another socket may hold it: redis-server then cannot bind it, as in a CI run on 2026-12-06.
    const port = await deadPort();
    let server = await startRedisServer(port);
    try {
      const g = await gatewayWith({
        GATEHOUSE_CONSOLE_REDIS_URL: `redis://127.0.0.1:${port}`,
        GATEHOUSE_CONSOLE_REDIS_KEY_PREFIX: newPrefix(),
      });
      const s = await session(g);
      expect((await call(g, "GET", "/healthz")).json).toMatchObject({ sessionStore: "ok" });
      await stopRedisServer(server);

      const read = await call(g, "GET", "/api/session", { cookie: s.cookie });
      expect(read.status, read.text).toBe(503);
      expect(read.json.error.code).toBe("ServiceUnavailable");
      const write = await call(g, "POST", "/api/iam/ListUsers", { body: {}, cookie: s.cookie, csrf: s.csrf });
      expect(write.status).toBe(503);
      const again = await signIn(g, { userName: "alice", password: PASSWORD });
      expect(again.status, again.text).toBe(503);
      expect(again.json.error.code).toBe("ServiceUnavailable");
      expect(again.text).not.toMatch(/127\.0\.0\.1|ECONNREFUSED/);
      const health = await call(g, "GET", "/healthz");
      expect(health.status).toBe(503);
      expect(health.json.sessionStore).toBe("unavailable");
      expect((await call(g, "GET", "/livez")).status).toBe(200);

      // Back (empty: nothing was persisted): the old session is gone, a new sign-in works.
      server = await startRedisServer(port);
      let back: Answer | undefined;
      for (let i = 0; i < 50; i++) {
        back = await call(g, "GET", "/api/session", { cookie: s.cookie });
        if (back.status !== 503) break;
        await new Promise((r) => setTimeout(r, 200));
      }
      expect(back?.status).toBe(401);
      await session(g);
    } finally {
      await stopRedisServer(server);
    }
  }, 60_000);

  it("a gateway started while Redis is down serves, answering 503 to sign-in", async () => {
    const g = await gatewayWith({
      GATEHOUSE_CONSOLE_REDIS_URL: `redis://127.0.0.1:${await deadPort()}`,
      GATEHOUSE_CONSOLE_REDIS_KEY_PREFIX: newPrefix(),
    });
    const r = await signIn(g, { userName: "alice", password: PASSWORD });
    expect(r.status, r.text).toBe(503);
    expect((await call(g, "GET", "/api/session", { cookie: "A".repeat(43) })).status).toBe(503);
    expect((await call(g, "GET", "/livez")).status).toBe(200);
  });
});
