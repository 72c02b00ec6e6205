// `./gw run loadtest -- --scenario faults` with two drills and real processes: the harness starts
// a stack of its own (its own Redis servers, ports, schema and topic; the run's Postgres and Kafka),
// kills a region's applier with SIGKILL and starts it again, then flushes another region's Redis
// (its applier exits 75 and is restarted), writing all the while. Each drill must converge with
// no lost update and no divergent decision, and the JSON must carry the fields the report reads.
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, expect, test } from "vitest";
import { endScenarioRun } from "./scenario-run.int-helper.ts";

const root = resolve(import.meta.dirname, "../../..");
const work = mkdtempSync(join(tmpdir(), "gatehouse-faults-"));
const suffix = randomBytes(5).toString("hex");
const pgUrl = process.env.GATEHOUSE_PG_TEST_URL ?? process.env.GATEHOUSE_TEST_PG_URL ?? "";
const brokers = (process.env.GATEHOUSE_KAFKA_BROKERS ?? process.env.GATEHOUSE_TEST_KAFKA_BROKERS ?? "").split(",");
// The run's own names on the shared Postgres and Kafka, removed after it (passed or not).
const schema = `faults_${suffix}`;
const topic = `faults-${suffix}`;

let child: ChildProcess | undefined;

afterAll(() => endScenarioRun(child, { work, postgresUrl: pgUrl, brokers, schema, topic }), 60_000);

test("kill -9 an applier and flush a region's Redis under writes: every region converges, nothing lost", async () => {
  expect(pgUrl, "GATEHOUSE_PG_TEST_URL from the testkit").not.toBe("");
  const pg = new URL(pgUrl);
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("GATEHOUSE_")));
  const json = join(work, "faults.json");
  const started = Date.now();
  child = spawn(
    "nice",
    [
      "-n",
      "10",
      "bash",
      join(root, "gw"),
      "run",
      "loadtest",
      "--",
      "--scenario",
      "faults",
      "--drills",
      "applier-kill,redis-flush",
      "--accounts",
      "2",
      "--users",
      "10",
      "--hold",
      "2",
      "--converge-timeout",
      "30",
      "--json",
      json,
    ],
    {
      cwd: root,
      env: {
        ...inherited,
        GATEHOUSE_STATE_DIR: join(work, "state"),
        GATEHOUSE_PG_PORT: pg.port || "5432",
        GATEHOUSE_PG_USER: decodeURIComponent(pg.username) || "postgres",
        ...(pg.password === "" ? {} : { GATEHOUSE_PG_PASSWORD: decodeURIComponent(pg.password) }),
        // The run's broker, reused: these two drills stop no broker.
        GATEHOUSE_KAFKA_PORT: brokers[0]?.split(":").at(-1) ?? "9092",
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
  expect(summary.scenario).toBe("faults");
  expect(summary.lost_updates).toBe(0);
  expect(summary.divergent_decisions).toBe(0);
  expect(summary.faults.map((f: { name: string }) => f.name)).toEqual(["applier-kill", "redis-flush"]);
  for (const f of summary.faults) {
    expect(f.lost_updates, f.name).toBe(0);
    expect(f.divergent_decisions, f.name).toBe(0);
    expect(f.stale_allows, f.name).toBe(0);
    // Within the target: 30 s after the failed part came back.
    expect(f.converge_ms, f.name).toBeGreaterThanOrEqual(0);
    expect(f.converge_ms, f.name).toBeLessThanOrEqual(30_000);
    expect(f.started_at_ms).toBeGreaterThanOrEqual(started);
    expect(f.recovered_at_ms).toBeGreaterThanOrEqual(f.started_at_ms);
    expect(f.converged_at_ms - f.recovered_at_ms).toBe(f.converge_ms);
    // Writes went on and were checked in every region.
    expect(f.writes_acked, f.name).toBeGreaterThan(20);
    expect(f.checked_decisions, f.name).toBeGreaterThan(50);
    expect(Object.keys(f.converge_ms_by_region).sort()).toEqual(["ap-southeast-1", "eu-west-1", "us-east-1"]);
  }
  // The applier really died and was replaced: kill -9 for the first, exit 75 after the flush.
  expect(summary.faults[1].unexpected_exits.join("\n")).toMatch(/eu-west-1-applier exited 75/);
  expect(output).toMatch(/fault applier-kill\s+converged \d+ ms after recovery/);
  expect(output).toMatch(/faults \[2\/2\] redis-flush/);
}, 170_000);
