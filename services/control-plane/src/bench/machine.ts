// For the benches: where the local infrastructure is, their flags, the CPU this machine's Postgres
// and Kafka processes used, and the host's speed.
import { createHmac, createSecretKey } from "node:crypto";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseEnv } from "node:util";

/** A bench's setting: the repository root, the local Postgres and Kafka, and its `--name=value` flags. */
export interface BenchSettings {
  readonly root: string;
  readonly pgUrl: string;
  readonly kafkaBrokers: string;
  /** The flag's value as a number, or `fallback` when not given. */
  num(flag: string, fallback: number): number;
  has(flag: string): boolean;
}

/** Reads .gatehouse/infra.env (written by deploy/local/infra.sh; the defaults without it) and argv. */
export function benchSettings(): BenchSettings {
  const root = resolve(import.meta.dirname, "../../../..");
  const infraFile = join(root, ".gatehouse/infra.env");
  const infra = existsSync(infraFile) ? parseEnv(readFileSync(infraFile, "utf8")) : {};
  const args = new Map(process.argv.slice(2).map((a) => a.replace(/^--/, "").split("=") as [string, string]));
  return {
    root,
    pgUrl: infra.GATEHOUSE_PG_URL ?? "postgres://postgres@127.0.0.1:5432/postgres",
    kafkaBrokers: infra.GATEHOUSE_KAFKA_BROKERS ?? "127.0.0.1:9092",
    num: (flag, fallback) => Number(args.get(flag) ?? fallback),
    has: (flag) => args.has(flag),
  };
}

/**
 * CPU ms used so far by the local processes of Postgres (named `postgres`) and of the Kafka broker
 * (a JVM whose command line runs kafka.Kafka), and by the whole machine, busy and in all, from
 * Linux's /proc (zeros elsewhere). Both servers are this machine's when the bench runs here.
 */
export function serverCpuMs(): { postgres: number; kafka: number; machineBusy: number; machineAll: number } {
  const ms = { postgres: 0, kafka: 0, machineBusy: 0, machineAll: 0 };
  let pids: string[] = [];
  try {
    pids = readdirSync("/proc").filter((d) => /^\d+$/.test(d));
    // cpu user nice system idle iowait irq softirq steal …, in USER_HZ (100 on Linux) ticks.
    const all = (readFileSync("/proc/stat", "utf8").split("\n")[0] ?? "").split(/\s+/).slice(1, 9).map(Number);
    ms.machineAll = all.reduce((a, b) => a + b, 0) * 10;
    ms.machineBusy = ms.machineAll - ((all[3] ?? 0) + (all[4] ?? 0)) * 10;
  } catch {
    return ms;
  }
  for (const pid of pids) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      const used = (Number(fields[11]) + Number(fields[12])) * 10;
      if (stat.includes("(postgres)")) ms.postgres += used;
      else if (stat.includes("(java)") && readFileSync(`/proc/${pid}/cmdline`, "utf8").includes("kafka.Kafka")) {
        ms.kafka += used;
      }
    } catch {
      // The process ended meanwhile.
    }
  }
  return ms;
}

/**
 * The host's speed as µs per HMAC-SHA256 of a short message under a fresh key (the median of five
 * rounds of 2,000, after a warm-up): the same few CPU-bound steps each time, so that figures from runs made while
 * the host ran at other speeds can be told apart. This machine's shared host varied 3–17 µs in a day.
 */
export function hostHmacMicros(): number {
  const round = (n: number): number => {
    const start = process.hrtime.bigint();
    for (let i = 0; i < n; i++) {
      createHmac("sha256", createSecretKey(Buffer.from(`k${i % 7}`)))
        .update("abc")
        .digest();
    }
    return Number(process.hrtime.bigint() - start) / n / 1000;
  };
  round(20_000); // warm-up: the first calls run unoptimized
  const rounds = Array.from({ length: 5 }, () => round(2000)).sort((a, b) => a - b);
  return Number((rounds[2] ?? 0).toFixed(2));
}
