import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createServer } from "node:net";
import { fileURLToPath } from "node:url";
import { loadControlPlaneConfig, startControlPlane } from "@gatehouse/control-plane";
import { createHealthClient } from "@gatehouse/lifecycle";
import { loadRegionConfig, startRegion } from "@gatehouse/region";
import { createTestKeyPrefix, createTestSchema, createTestTopic, regionRedis, testInfra } from "@gatehouse/testkit";
import { pino } from "pino";

/** The region program, run as its own process when {@link LiveStackOptions.processes} is set. */
const REGION_MAIN = fileURLToPath(new URL("../../../services/region/src/main.ts", import.meta.url));

/** Options of {@link startLiveStack}. */
export interface LiveStackOptions {
  /** The regions to start (applier and decider each), the first being {@link LiveStack.region} (default `["us-east-1"]`). */
  readonly regions?: readonly string[];
  /**
   * Run each region as its own process (`services/region/src/main.ts --role all`), so a test can
   * kill one; default: in this process.
   */
  readonly processes?: boolean;
  /** More control-plane settings (`GATEHOUSE_CP_*`), over the stack's own. */
  readonly controlPlaneEnv?: Readonly<Record<string, string>>;
}

/** One region of a {@link LiveStack}. */
export interface LiveRegion {
  readonly name: string;
  /** `host:port` of its decider (AuthorizerService, StsService, grpc.health.v1). */
  readonly decider: string;
  /** Stops it: SIGKILL when it is a process (a region lost, not drained), else a graceful close. */
  kill(): Promise<void>;
}

/** A running control plane and its regions, with the operator credential. */
export interface LiveStack {
  readonly controlPlane: string;
  /** The first region's name and decider. */
  readonly region: string;
  readonly decider: string;
  readonly regions: readonly LiveRegion[];
  readonly operator: { readonly accessKeyId: string; readonly secretAccessKey: string };
  close(): Promise<void>;
}

/** A port that was free a moment ago (bound, then released): calls to it are refused. */
export async function deadPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Spawns a region process and resolves with it once it logged its decider's port. */
function spawnRegion(env: Record<string, string>): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(process.execPath, [REGION_MAIN, "--role", "all"], {
    env: { ...process.env, ...env, GATEHOUSE_LOG_LEVEL: "info" },
    stdio: ["ignore", "pipe", "inherit"],
  });
  return new Promise((resolve, reject) => {
    let buffered = "";
    const onExit = (code: number | null) =>
      reject(new Error(`the region process exited with ${code} before it started`));
    child.once("exit", onExit);
    child.stdout?.on("data", (chunk: Buffer) => {
      buffered += chunk.toString();
      for (let nl = buffered.indexOf("\n"); nl >= 0; nl = buffered.indexOf("\n")) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        let entry: { msg?: string; port?: number; level?: number };
        try {
          entry = JSON.parse(line) as typeof entry;
        } catch {
          continue;
        }
        if (entry.msg === "region started" && entry.port !== undefined) {
          child.off("exit", onExit);
          resolve({ child, port: entry.port });
        }
        if ((entry.level ?? 0) >= 50) process.stderr.write(`${line}\n`);
      }
    });
  });
}

/** The readiness name a region's deciders report (SERVING once caught up with the change topic). */
const DECIDER_READINESS = "gatehouse.v1.AuthorizerService";

/** Waits until the decider at `address` reports SERVING: it has caught up with the change topic. */
async function waitServing(address: string, timeoutMs = 60_000): Promise<void> {
  const health = createHealthClient(address);
  const deadline = Date.now() + timeoutMs;
  try {
    for (;;) {
      const status = await health.check(DECIDER_READINESS, 2_000).catch(() => "UNKNOWN");
      if (status === "SERVING") return;
      if (Date.now() > deadline) throw new Error(`the decider at ${address} is still ${status} after ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  } finally {
    health.close();
  }
}

/**
 * Starts a control plane (own Postgres schema and Kafka topic) and regions (own Redis key prefix
 * and consumer group each) on port 0, all sharing one at-rest key so regions open what the
 * control plane sealed (access-key secrets, the STS key set). `prefix` names the schema, topic
 * and keys; it resolves once every decider reports SERVING. Only valid inside an integration test (it reads the testkit's infrastructure).
 *
 * @example
 * const stack = await startLiveStack("sdk", { regions: ["us-east-1", "eu-west-1"], processes: true });
 * await stack.regions[0]?.kill(); // the first region is gone: the second must answer
 * await stack.close();
 */
export async function startLiveStack(prefix: string, options: LiveStackOptions = {}): Promise<LiveStack> {
  const names = options.regions ?? ["us-east-1"];
  if (names.length === 0) throw new RangeError("startLiveStack: regions must name at least one region");
  const logger = pino({ level: "silent" });
  const operator = { accessKeyId: "AKIAOPERATORLIVETEST", secretAccessKey: randomBytes(30).toString("base64") };
  const secretKey = randomBytes(32).toString("base64");
  const infra = testInfra();
  const schema = await createTestSchema({ prefix, migrated: true });
  const topic = await createTestTopic({ prefix, partitions: 2 });
  // The regional audit topic of this stack alone (STS issuance and keys' last use, region → control plane).
  const auditTopic = await createTestTopic({ prefix: `${prefix}audit`, partitions: 2 });
  const keys = createTestKeyPrefix({ prefix });
  const closers: (() => Promise<void>)[] = [];
  const close = async () => {
    for (const c of closers.splice(0).reverse()) await c();
  };
  try {
    closers.push(
      () => topic.delete(),
      () => auditTopic.delete(),
      () => schema.drop(),
    );
    const cp = await startControlPlane({
      config: loadControlPlaneConfig({
        GATEHOUSE_CP_LISTEN: "127.0.0.1:0",
        GATEHOUSE_PG_URL: schema.databaseUrl,
        GATEHOUSE_PG_SCHEMA: schema.name,
        GATEHOUSE_KAFKA_BROKERS: infra.kafkaBrokers.join(","),
        GATEHOUSE_CHANGES_TOPIC: topic.name,
        GATEHOUSE_CHANGES_PARTITIONS: "2",
        GATEHOUSE_SECRET_KEY: secretKey,
        GATEHOUSE_OPERATOR_ACCESS_KEY_ID: operator.accessKeyId,
        GATEHOUSE_OPERATOR_SECRET_ACCESS_KEY: operator.secretAccessKey,
        GATEHOUSE_CP_RELAY_WATERMARK_MS: "200",
        GATEHOUSE_CP_REGION_AUDIT_TOPIC: auditTopic.name,
        ...options.controlPlaneEnv,
      }),
      logger,
    });
    closers.push(
      () => cp.close(),
      async () => void (await keys.cleanup()),
    );
    const regions: LiveRegion[] = [];
    for (const name of names) {
      const env = {
        GATEHOUSE_REGION: name,
        GATEHOUSE_REGION_REDIS_URL: regionRedis(name, infra).url,
        GATEHOUSE_REGION_KEY_PREFIX: keys.prefix,
        GATEHOUSE_REGION_CONSUMER_GROUP: `${keys.prefix.slice(0, -1)}-${name}`,
        GATEHOUSE_REGION_LISTEN: "127.0.0.1:0",
        GATEHOUSE_KAFKA_BROKERS: infra.kafkaBrokers.join(","),
        GATEHOUSE_CHANGES_TOPIC: topic.name,
        GATEHOUSE_REGION_AUDIT_TOPIC: auditTopic.name,
        GATEHOUSE_REGION_AUDIT_FLUSH_MS: "50",
        GATEHOUSE_SECRET_KEY: secretKey,
      };
      if (options.processes === true) {
        const { child, port } = await spawnRegion({ ...env, GATEHOUSE_REGION_SHUTDOWN_GRACE_MS: "2000" });
        const exited = new Promise<void>((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null) resolve();
          else child.once("exit", () => resolve());
        });
        const kill = async () => {
          child.kill("SIGKILL");
          await exited;
        };
        closers.push(kill);
        regions.push({ name, decider: `127.0.0.1:${port}`, kill });
      } else {
        const region = await startRegion({ config: loadRegionConfig(env, ["--role", "all"]), logger });
        let closed: Promise<void> | undefined;
        const kill = () => {
          closed ??= region.close();
          return closed;
        };
        closers.push(kill);
        regions.push({ name, decider: `127.0.0.1:${region.decider?.port}`, kill });
      }
    }
    // Ready means serving: every decider has caught up with the change topic.
    await Promise.all(regions.map((r) => waitServing(r.decider)));
    const first = regions[0] as LiveRegion;
    return {
      controlPlane: `127.0.0.1:${cp.port}`,
      region: first.name,
      decider: first.decider,
      regions,
      operator,
      close,
    };
  } catch (e) {
    await close();
    throw e;
  }
}
