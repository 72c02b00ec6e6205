/**
 * The settings of the stack the fault drills start for themselves: a state dir of its own (so its
 * broker, Redis servers and processes are the harness's to kill), consecutive ports from one base,
 * its own schema and topic, and for the partition drill a broker listener per partitioned region
 * behind a proxy the harness controls. Kafka advertises the address of the listener a client came
 * in by, so the region's applier reaches the broker through the proxy for every connection, the
 * bootstrap and each partition leader alike (one listener, advertised at the proxy's port).
 */
import { readFileSync } from "node:fs";
import { createServer } from "node:net";
import { join, resolve } from "node:path";
import { loadStackConfig } from "@gatehouse/stack";
import type { DrillName } from "./faults.ts";
import { startTcpProxy, type TcpProxy } from "./tcp-proxy.ts";

const root = resolve(import.meta.dirname, "../../..");

const portFree = (port: number): Promise<boolean> =>
  new Promise((ok) => {
    const server = createServer();
    server.once("error", () => ok(false));
    server.listen(port, "127.0.0.1", () => server.close(() => ok(true)));
  });

/**
 * Where free blocks are looked for: below the kernel's ephemeral range when there is room (a port
 * free when picked there can still be taken as a connection's source port before a server binds
 * it, which happened in 55000-55999 on a busy machine), else 55000-55999.
 */
function searchRange(): [number, number] {
  try {
    const [low] = readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/).map(Number);
    if (low !== undefined && low > 21_000) return [20_000, low - 1];
  } catch {
    // Not Linux: no such file.
  }
  return [55_000, 55_999];
}

/** `count` consecutive free ports from `base`, or a free block found by {@link searchRange}. */
async function portBlock(count: number, base: number | undefined): Promise<number> {
  if (base !== undefined) {
    const ports = Array.from({ length: count }, (_, i) => base + i);
    const busy = (await Promise.all(ports.map(async (p) => ((await portFree(p)) ? undefined : p)))).filter(
      (p) => p !== undefined,
    );
    if (busy.length > 0) throw new Error(`--port-base ${base}: ports ${busy.join(", ")} are taken`);
    return base;
  }
  const [low, high] = searchRange();
  for (let attempt = 0; attempt < 50; attempt++) {
    const b = low + Math.floor(Math.random() * (high - low + 1 - count));
    if ((await Promise.all(Array.from({ length: count }, (_, i) => portFree(b + i)))).every(Boolean)) return b;
  }
  throw new Error(`no ${count} free consecutive ports in ${low}-${high} (pass --port-base)`);
}

/** What {@link prepareFaultStack} decided. */
export interface FaultStack {
  /** The environment to open the system with (and infra.sh's, which inherits process.env). */
  readonly env: Record<string, string | undefined>;
  readonly stateDir: string;
  readonly regionSettings: Record<string, Record<string, string>>;
  readonly proxy?: { readonly region: string; readonly proxy: TcpProxy };
  readonly ports: string;
  /**
   * What the run names for itself on a shared Postgres and Kafka (its schema; its topic and the
   * control plane's consumer group when the broker is reused), to remove when it ends. A broker
   * of its own goes with its state directory; names given in the environment are the caller's.
   */
  readonly leftovers: { readonly schemas: string[]; readonly topics: string[]; readonly groups: string[] };
}

/**
 * Settings for a stack of the drills' own from `env`: the ports from `portBase` (or free ones),
 * its own broker unless `GATEHOUSE_KAFKA_PORT` names one to reuse (then no drill may stop it).
 */
export async function prepareFaultStack(
  env: Readonly<Record<string, string | undefined>>,
  runId: string,
  drills: readonly DrillName[],
  portBase: number | undefined,
): Promise<FaultStack> {
  const regions = loadStackConfig(
    Object.fromEntries(Object.entries(env).filter(([k]) => !k.startsWith("GATEHOUSE_STACK_"))),
    root,
  ).regions.map((r) => r.name);
  const deciders = 2;
  const ownKafka = env.GATEHOUSE_KAFKA_PORT === undefined;
  const partition = drills.includes("region-partition") && ownKafka;
  const count = 1 + regions.length * deciders + regions.length + (ownKafka ? 2 : 0) + (partition ? 2 : 0);
  const base = await portBlock(count, portBase);
  let next = base;
  const take = () => next++;
  const cp = take();
  const deciderBase = next;
  next += regions.length * deciders;
  const redisBase = next;
  next += regions.length;
  const stateDir = join(resolve(root, env.GATEHOUSE_STATE_DIR ?? ".gatehouse"), `faults-${runId}`);
  const out: Record<string, string | undefined> = {
    ...Object.fromEntries(Object.entries(env).filter(([k]) => !k.startsWith("GATEHOUSE_STACK_"))),
    GATEHOUSE_STATE_DIR: stateDir,
    GATEHOUSE_CONFIG_DIR: join(stateDir, "config"),
    GATEHOUSE_STACK_CP_PORT: String(cp),
    GATEHOUSE_STACK_REGION_BASE_PORT: String(deciderBase),
    GATEHOUSE_STACK_DECIDERS: String(deciders),
    GATEHOUSE_REDIS_BASE_PORT: String(redisBase),
    GATEHOUSE_PG_SCHEMA: env.GATEHOUSE_PG_SCHEMA ?? `loadtest_faults_${runId}`,
    GATEHOUSE_CHANGES_TOPIC: env.GATEHOUSE_CHANGES_TOPIC ?? `loadtest-faults-${runId}`,
  };
  const schema = out.GATEHOUSE_PG_SCHEMA as string;
  const leftovers = {
    schemas: env.GATEHOUSE_PG_SCHEMA === undefined ? [schema] : [],
    topics: env.GATEHOUSE_CHANGES_TOPIC === undefined && !ownKafka ? [out.GATEHOUSE_CHANGES_TOPIC as string] : [],
    groups:
      env.GATEHOUSE_PG_SCHEMA === undefined && !ownKafka && env.GATEHOUSE_CP_REGION_AUDIT_GROUP === undefined
        ? [`gatehouse-control-plane-${schema}`]
        : [],
  };
  const regionSettings: Record<string, Record<string, string>> = {};
  let proxy: FaultStack["proxy"];
  if (ownKafka) {
    out.GATEHOUSE_KAFKA_PORT = String(take());
    out.GATEHOUSE_KAFKA_CONTROLLER_PORT = String(take());
  }
  if (partition) {
    const region = regions.at(-1) as string;
    const listener = take();
    const proxyPort = take();
    out.GATEHOUSE_KAFKA_EXTRA_LISTENERS = `FAULTS_PROXIED:${listener}:${proxyPort}`;
    regionSettings[region] = { GATEHOUSE_KAFKA_BROKERS: `127.0.0.1:${proxyPort}` };
    proxy = { region, proxy: await startTcpProxy(proxyPort, `127.0.0.1:${listener}`) };
  }
  return {
    env: out,
    stateDir,
    regionSettings,
    ...(proxy === undefined ? {} : { proxy }),
    ports: `${base}-${next - 1}`,
    leftovers,
  };
}
