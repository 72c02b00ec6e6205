// `./gw run loadtest -- --scenario smoke` as CI runs it: a stack of its own (the run's Postgres
// and Kafka, its own schema, topic, Redis servers and ports), a small dataset, every phase; the
// run must exit 0 with no lost update and no decision diverging from the pure engine, and its
// JSON must carry the figures it promises.
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, expect, test } from "vitest";
import { endScenarioRun } from "./scenario-run.int-helper.ts";

const root = resolve(import.meta.dirname, "../../..");
const work = mkdtempSync(join(tmpdir(), "gatehouse-loadtest-"));
const suffix = randomBytes(5).toString("hex");
const pgUrl = process.env.GATEHOUSE_PG_TEST_URL ?? process.env.GATEHOUSE_TEST_PG_URL ?? "";
const brokers = (process.env.GATEHOUSE_KAFKA_BROKERS ?? process.env.GATEHOUSE_TEST_KAFKA_BROKERS ?? "").split(",");
// The run's own names on the shared Postgres and Kafka, removed after it (passed or not).
const schema = `loadtest_${suffix}`;
const topic = `loadtest-${suffix}`;

const portFree = (port: number): Promise<boolean> =>
  new Promise((ok) => {
    const server = createServer();
    server.once("error", () => ok(false));
    server.listen(port, "127.0.0.1", () => server.close(() => ok(true)));
  });

/** 10 consecutive free ports in 58000-58999 (control plane, six deciders, three Redis servers). */
async function pickPorts(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 58_000 + 10 * Math.floor(Math.random() * 99);
    const ports = Array.from({ length: 10 }, (_, i) => base + i);
    if ((await Promise.all(ports.map(portFree))).every(Boolean)) return base;
  }
  throw new Error("no 10 free consecutive ports in 58000-58999");
}

let child: ChildProcess | undefined;

afterAll(() => endScenarioRun(child, { work, postgresUrl: pgUrl, brokers, schema, topic }), 60_000);

test("the smoke scenario runs the whole system and finds no lost update and no divergent decision", async () => {
  expect(pgUrl, "GATEHOUSE_PG_TEST_URL from the testkit").not.toBe("");
  const base = await pickPorts();
  const pg = new URL(pgUrl);
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("GATEHOUSE_")));
  const json = join(work, "smoke.json");
  child = spawn(
    "nice",
    ["-n", "10", "bash", join(root, "gw"), "run", "loadtest", "--", "--scenario", "smoke", "--json", json],
    {
      cwd: root,
      env: {
        ...inherited,
        GATEHOUSE_STATE_DIR: join(work, "state"),
        GATEHOUSE_CONFIG_DIR: join(work, "config"),
        GATEHOUSE_PG_PORT: pg.port || "5432",
        GATEHOUSE_PG_USER: decodeURIComponent(pg.username) || "postgres",
        ...(pg.password === "" ? {} : { GATEHOUSE_PG_PASSWORD: decodeURIComponent(pg.password) }),
        GATEHOUSE_KAFKA_PORT: brokers[0]?.split(":").at(-1) ?? "9092",
        GATEHOUSE_STACK_CP_PORT: String(base),
        GATEHOUSE_STACK_REGION_BASE_PORT: String(base + 1),
        GATEHOUSE_REDIS_BASE_PORT: String(base + 7),
        GATEHOUSE_PG_URL: pgUrl,
        GATEHOUSE_PG_SCHEMA: schema,
        GATEHOUSE_CHANGES_TOPIC: topic,
        GATEHOUSE_CHANGES_PARTITIONS: "3",
        GATEHOUSE_LOG_LEVEL: "warn",
      },
      stdio: ["ignore", "pipe", "pipe"],
      detached: true,
    },
  );
  const run = child;
  let output = "";
  run.stdout?.on("data", (b: Buffer) => {
    output += b.toString();
  });
  run.stderr?.on("data", (b: Buffer) => {
    output += b.toString();
  });
  const code = await new Promise<number | null>((ok) => run.once("exit", ok));
  expect(code, output).toBe(0);
  const summary = JSON.parse(readFileSync(json, "utf8"));
  expect(summary.lost_updates).toBe(0);
  expect(summary.divergent_decisions).toBe(0);
  expect(summary.faults).toEqual([]);
  // The comparison covered a real mix: allowed and denied answers from every template.
  expect(summary.checked_decisions).toBeGreaterThan(200);
  expect(summary.checked_by_decision.Allow).toBeGreaterThan(20);
  expect(summary.checked_by_decision.ImplicitDeny).toBeGreaterThan(20);
  expect(summary.checked_by_decision.ExplicitDeny).toBeGreaterThan(5);
  // Every acknowledged write reached every region.
  expect(summary.propagation_timeouts).toBe(0);
  const writes = Math.round(summary.writes_per_s * summary.settings.duration);
  for (const region of ["us-east-1", "eu-west-1", "ap-southeast-1"]) {
    expect(summary.propagation_by_region[region].count).toBeGreaterThan(writes * 0.9);
  }
  for (const key of [
    "authorize_rps",
    "authorize_p50_ms",
    "authorize_p99_ms",
    "batch_decisions_per_s",
    "writes_per_s",
    "propagation_p50_ms",
    "propagation_p99_ms",
  ]) {
    expect(summary[key], key).toBeGreaterThan(0);
  }
  expect(output).toMatch(/divergent_decisions\s+0 of \d+ checked/);
  // The report goes next to the JSON, its paths are the run's last words, and it plots this run.
  const html = join(work, "report.html");
  const png = join(work, "report.png");
  expect(output.trimEnd().split("\n").at(-1)).toBe(`loadtest: report in ${html} and ${png}`);
  const page = readFileSync(html, "utf8");
  const embedded = JSON.parse(
    /<script type="application\/json" id="gatehouse-summary">(.*?)<\/script>/s.exec(page)?.[1] ?? "null",
  );
  expect(embedded).toEqual(summary);
  expect(page).toContain("no faults in this run");
  const series = new Set(summary.throughput_per_s.map((p: { series: string }) => p.series));
  expect(series).toEqual(
    new Set(["writes (dataset)", "writes (propagation)", "Authorize", "BatchAuthorize decisions"]),
  );
  for (const region of ["us-east-1", "eu-west-1", "ap-southeast-1"]) {
    const own = summary.region_samples.filter((s: { region: string }) => s.region === region);
    expect(own.length, region).toBeGreaterThan(10);
    expect(summary.region_resources[region].redis_used_memory_bytes, region).toBeGreaterThan(0);
    expect(summary.region_resources[region].deciders[0].rss_bytes, region).toBeGreaterThan(0);
  }
  // Three regions each consume what was published, less what one of them had not applied yet at
  // its sample after the window (on a loaded CI host a region can be seconds behind: 88% was seen).
  expect(summary.kafka.records_delivered).toBeGreaterThan(2 * summary.kafka.records_published);
  expect(summary.authorize_latency_histogram.buckets.reduce((n: number, b: { count: number }) => n + b.count, 0)).toBe(
    summary.settings.authorizeRate * summary.settings.duration - summary.authorize_open_loop.failed,
  );
  const pngBytes = readFileSync(png);
  expect(pngBytes.subarray(0, 8).toString("hex")).toBe("89504e470d0a1a0a");
  expect(pngBytes.readUInt32BE(16)).toBeGreaterThan(1000);
}, 180_000);
