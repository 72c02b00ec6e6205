import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { StartedTestContainer } from "testcontainers";
import { waitForKafka } from "../../../deploy/local/kafka-probe.ts";
import { containerRuntimeAvailable, startKafkaContainer } from "./containers.ts";
import type { TestInfra } from "./infra-settings.ts";
import { runInfraScript } from "./local-infra.ts";
import { readRepoDefaults, repoRoot } from "./repo-defaults.ts";
import { testInfra } from "./test-infra.ts";

/** How a dedicated broker runs: a JVM started by `deploy/local/infra.sh`, or a container. */
export type DedicatedKafkaMode = "local" | "testcontainers";

/** Whether {@link startDedicatedKafka} can work here, and how; `reason` says why not. */
export type DedicatedKafkaCapability =
  | { readonly ok: true; readonly mode: DedicatedKafkaMode }
  | { readonly ok: false; readonly reason: string };

/** Options of {@link startDedicatedKafka}. */
export interface DedicatedKafkaOptions {
  /** The run's services, to pick the mode from; {@link testInfra} by default (integration tests only). */
  readonly infra?: TestInfra;
  /** Bound on each start (first and later) until a message round-trips. Default 120 000 ms. */
  readonly startTimeoutMs?: number;
}

/**
 * A Kafka broker of one test's own, which it may take down without disturbing the shared broker
 * other suites use in parallel. Operations run one at a time, in call order.
 */
export interface DedicatedKafka extends AsyncDisposable {
  /** `host:port` bootstrap brokers; the same address across {@link stop} and {@link start}. */
  readonly brokers: string[];
  readonly mode: DedicatedKafkaMode;
  /**
   * Local mode: the broker's `GATEHOUSE_STATE_DIR` (data, logs, pid file). Every process of this
   * broker has it in its command line, which is how a test can check that none is left.
   */
  readonly stateDir: string | undefined;
  /**
   * A clean stop: SIGTERM and Kafka's controlled shutdown (`infra.sh down kafka`, or `docker stop`),
   * escalating to SIGKILL after 45 s (10 s for a container). Resolves once the process is gone
   * and the port refuses connections. Acknowledged messages survive; clients see disconnects.
   */
  stop(): Promise<void>;
  /** Starts the broker again on the same data and address; resolves once a message round-trips. */
  start(): Promise<void>;
  /** Stops the broker and removes everything it had (process or container, data, logs). */
  dispose(): Promise<void>;
}

const OP_TIMEOUT_MS = 180_000;

/** Linux-only tools infra.sh relies on (it finds its JVM through /proc, detaches it with setsid). */
function localKafkaPossible(): string | undefined {
  if (process.platform !== "linux") return `infra.sh needs Linux, this is ${process.platform}`;
  const check = spawnSync("bash", ["-c", "command -v java && command -v setsid && command -v flock"], {
    stdio: "ignore",
  });
  if (check.status !== 0) return "java (17+), setsid or flock is not on PATH";
  return undefined;
}

/**
 * Can a test start a broker of its own? Follows where the run's Kafka came from: the local stack
 * means `infra.sh` with a state dir of its own, testcontainers means a second container. When
 * Kafka was given by `GATEHOUSE_TEST_KAFKA_BROKERS`, a container engine is tried first, then the
 * local tools; with neither the answer is `ok: false` and the test should skip.
 *
 * @example
 * const capability = await canStartDedicatedKafka();
 * it.skipIf(!capability.ok)("survives a broker outage", async () => { ... });
 */
export async function canStartDedicatedKafka(infra: TestInfra = testInfra()): Promise<DedicatedKafkaCapability> {
  switch (infra.source.kafka) {
    case "testcontainers":
      return { ok: true, mode: "testcontainers" };
    case "local": {
      const missing = localKafkaPossible();
      return missing === undefined ? { ok: true, mode: "local" } : { ok: false, reason: missing };
    }
    case "env": {
      if (await containerRuntimeAvailable()) return { ok: true, mode: "testcontainers" };
      const missing = localKafkaPossible();
      if (missing === undefined) return { ok: true, mode: "local" };
      return {
        ok: false,
        reason:
          `Kafka came from GATEHOUSE_TEST_KAFKA_BROKERS (${infra.kafkaBrokers.join(",")}), which a test must not ` +
          `stop, no container engine answers, and deploy/local/infra.sh cannot run here (${missing})`,
      };
    }
  }
}

/**
 * Starts a Kafka broker for one test, which may then {@link DedicatedKafka.stop} and
 * {@link DedicatedKafka.start} it (outage tests) while the shared broker keeps serving the others.
 * Local mode runs `infra.sh up kafka` with its own `GATEHOUSE_STATE_DIR` (a temp dir) and free
 * broker and controller ports; testcontainers mode runs a second `apache/kafka` container. The
 * broker is configured like the shared one (topics are created explicitly, e.g. with
 * `createTestTopic({ infra: { ...testInfra(), kafkaBrokers: kafka.brokers } })`).
 *
 * @example
 * await using kafka = await startDedicatedKafka();
 * await kafka.stop();   // outage
 * await kafka.start();  // back, same data
 * @throws Error with {@link canStartDedicatedKafka}'s reason when neither mode can work, or with
 *   infra.sh's output when the broker does not start.
 */
export async function startDedicatedKafka(options: DedicatedKafkaOptions = {}): Promise<DedicatedKafka> {
  const capability = await canStartDedicatedKafka(options.infra ?? testInfra());
  if (!capability.ok) throw new Error(`startDedicatedKafka: cannot start a broker of its own: ${capability.reason}`);
  const startTimeoutMs = options.startTimeoutMs ?? 120_000;
  return capability.mode === "local" ? startLocal(startTimeoutMs) : startContainer(startTimeoutMs);
}

/** Runs operations one at a time, in call order, whatever the outcome of the previous one. */
function serialized(): <T>(op: () => Promise<T>) => Promise<T> {
  let tail: Promise<unknown> = Promise.resolve();
  return (op) => {
    const result = tail.then(op, op);
    tail = result.catch(() => {});
    return result;
  };
}

async function listen(server: Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      if (address !== null && typeof address === "object") resolve(address.port);
      else reject(new Error("listen: no port assigned"));
    });
  });
}

/** `count` distinct free ports: all are held at once before any is released. */
async function freePorts(count: number): Promise<number[]> {
  const servers = Array.from({ length: count }, () => createServer());
  try {
    return await Promise.all(servers.map(listen));
  } finally {
    await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  }
}

/** Pids of live processes whose command line contains `marker` (what infra.sh's JVM carries). */
function pidsWith(marker: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, "utf8").includes(marker)) pids.push(Number(entry));
    } catch {
      // Gone meanwhile, or not ours to read.
    }
  }
  return pids;
}

function runInfra(args: readonly string[], env: NodeJS.ProcessEnv, timeoutMs: number): Promise<void> {
  return runInfraScript(repoRoot.replace(/\/$/, ""), args, { env, timeoutMs, output: "capture" });
}

async function startLocal(startTimeoutMs: number): Promise<DedicatedKafka> {
  const { host } = readRepoDefaults(repoRoot).kafka;
  const stateDir = mkdtempSync(join(tmpdir(), "gatehouse-kafka-"));
  const [port, controllerPort] = await freePorts(2);
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    GATEHOUSE_STATE_DIR: stateDir,
    GATEHOUSE_KAFKA_PORT: String(port),
    GATEHOUSE_KAFKA_CONTROLLER_PORT: String(controllerPort),
  };
  const brokers = [`${host}:${port}`];
  const serial = serialized();
  // A worker that dies without dispose() must not leave a detached JVM behind (infra.sh starts
  // it with setsid, so it would outlive us). Synchronous: 'exit' handlers cannot await.
  const killOnExit = (): void => {
    for (const pid of pidsWith(stateDir)) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // Already gone.
      }
    }
    rmSync(stateDir, { recursive: true, force: true });
  };
  process.on("exit", killOnExit);

  const up = async (): Promise<void> => {
    await runInfra(["up", "kafka"], env, startTimeoutMs + 30_000);
    // infra.sh's readiness probe already round-tripped a message; this one checks from here.
    await waitForKafka(brokers, startTimeoutMs);
  };
  const down = (): Promise<void> => runInfra(["down", "kafka"], env, OP_TIMEOUT_MS);
  let disposed: Promise<void> | undefined;
  const dispose = (): Promise<void> => {
    disposed ??= serial(async () => {
      let failure: unknown;
      try {
        await down();
      } catch (error) {
        failure = error;
      }
      const leftovers = pidsWith(stateDir);
      killOnExit();
      process.off("exit", killOnExit);
      if (failure !== undefined) throw failure;
      if (leftovers.length > 0) {
        throw new Error(`dedicated Kafka: pids ${leftovers.join(", ")} outlived 'infra.sh down kafka' (now killed)`);
      }
    });
    return disposed;
  };

  try {
    await serial(up);
  } catch (error) {
    await dispose().catch(() => {});
    throw error;
  }
  return {
    brokers,
    mode: "local",
    stateDir,
    stop: () => serial(down),
    start: () => serial(up),
    dispose,
    [Symbol.asyncDispose]: dispose,
  };
}

async function startContainer(startTimeoutMs: number): Promise<DedicatedKafka> {
  const { getContainerRuntimeClient } = await import("testcontainers");
  const client = await getContainerRuntimeClient();
  const { container, brokers } = await startKafkaContainer(readRepoDefaults(repoRoot).kafka.image);
  const started: StartedTestContainer = container;
  const handle = () => client.container.getById(started.getId());
  const serial = serialized();
  let disposed: Promise<void> | undefined;
  const dispose = (): Promise<void> => {
    disposed ??= serial(async () => {
      // Force-remove works whether the container runs or was stopped by stop().
      await handle().remove({ force: true, v: true });
    });
    return disposed;
  };
  return {
    brokers,
    mode: "testcontainers",
    stateDir: undefined,
    stop: () => serial(() => client.container.stop(handle(), { timeout: 10 })),
    start: () =>
      serial(async () => {
        await client.container.start(handle());
        await waitForKafka(brokers, startTimeoutMs);
      }),
    dispose,
    [Symbol.asyncDispose]: dispose,
  };
}
