// `npm run bench:control-plane`: writes/s of a mixed workload (CreateUser, AttachPolicy,
// PutInlinePolicy) through the signed gRPC API, and commit→published latency at a fixed offered
// rate. Prints the figures and writes loadtest/results/control-plane-bench.json.
//
// Runs the control plane in-process (its relay reports each acknowledged batch) against the local
// Postgres and Kafka (.gatehouse/infra.env, else the defaults), in a throw-away schema and topic.
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseEnv } from "node:util";
import { createSigningInterceptor } from "@gatehouse/auth";
import { deleteTopic } from "@gatehouse/bus-kafka";
import { ControlServiceClient, ControlServiceService, EntityType } from "@gatehouse/proto";
import { credentials as grpcCredentials, Metadata, type ServiceError } from "@grpc/grpc-js";
import pg from "pg";
import { pino } from "pino";
import { loadControlPlaneConfig } from "../config.ts";
import { startControlPlane } from "../control-plane.ts";

const root = resolve(import.meta.dirname, "../../../..");
const infraFile = join(root, ".gatehouse/infra.env");
const infra = existsSync(infraFile) ? parseEnv(readFileSync(infraFile, "utf8")) : {};
const pgUrl = infra.GATEHOUSE_PG_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
const brokers = infra.GATEHOUSE_KAFKA_BROKERS ?? "127.0.0.1:9092";
const args = new Map(process.argv.slice(2).map((a) => a.replace(/^--/, "").split("=") as [string, string]));
const THROUGHPUT_SECONDS = Number(args.get("seconds") ?? 10);
const CONCURRENCY = Number(args.get("concurrency") ?? 48);
const ACCOUNTS = Number(args.get("accounts") ?? 24);
const OFFERED_RATE = Number(args.get("rate") ?? 200);
const LATENCY_SECONDS = Number(args.get("latency-seconds") ?? 10);

const schema = `bench_${randomBytes(4).toString("hex")}`;
const topic = `bench.changes.${randomBytes(4).toString("hex")}`;
const operator = { accessKeyId: "AKIABENCHOPERATOR000", secretAccessKey: randomBytes(30).toString("base64") };
const config = loadControlPlaneConfig({
  GATEHOUSE_CP_LISTEN: "127.0.0.1:0",
  GATEHOUSE_PG_URL: pgUrl,
  GATEHOUSE_PG_SCHEMA: schema,
  GATEHOUSE_PG_POOL_SIZE: "40",
  GATEHOUSE_KAFKA_BROKERS: brokers,
  GATEHOUSE_CHANGES_TOPIC: topic,
  GATEHOUSE_CHANGES_PARTITIONS: "12",
  GATEHOUSE_SECRET_KEY: randomBytes(32).toString("base64"),
  GATEHOUSE_OPERATOR_ACCESS_KEY_ID: operator.accessKeyId,
  GATEHOUSE_OPERATOR_SECRET_ACCESS_KEY: operator.secretAccessKey,
  GATEHOUSE_LOG_LEVEL: "warn",
});

let recording = false;
const latencies: number[] = [];
const cp = await startControlPlane({
  config,
  logger: pino({ level: "warn" }),
  onPublished: (rows) => {
    if (!recording) return;
    const now = Date.now();
    for (const r of rows) latencies.push(now - r.committedAtMs);
  },
});
const address = `127.0.0.1:${cp.port}`;

type Creds = { accessKeyId: string; secretAccessKey: string };
function client(creds: Creds) {
  const c = new ControlServiceClient(address, grpcCredentials.createInsecure(), {
    interceptors: [createSigningInterceptor({ credentials: creds, authority: address })],
  });
  const defs = ControlServiceService as unknown as Record<string, { requestDeserialize(b: Buffer): object }>;
  return {
    // biome-ignore lint/suspicious/noExplicitAny: bench responses are only read for a few fields
    call(method: string, request: object): Promise<any> {
      const full = { ...defs[method]?.requestDeserialize(Buffer.alloc(0)), ...request };
      return new Promise((res, rej) =>
        (
          c as unknown as Record<
            string,
            (r: object, m: Metadata, cb: (e: ServiceError | null, v: unknown) => void) => void
          >
        )[method]?.(full, new Metadata(), (e, v) => (e === null ? res(v) : rej(e))),
      );
    },
    close: () => c.close(),
  };
}

const POLICY = JSON.stringify({
  Version: "2012-10-17",
  Statement: [{ Effect: "Allow", Action: ["s3:GetObject", "s3:ListBucket"], Resource: "arn:aws:s3:::bench/*" }],
});

// Setup: accounts, each with a root client and ten managed policies to attach.
const op = client(operator);
const accounts: { client: ReturnType<typeof client>; policies: string[]; next: number }[] = [];
for (let i = 0; i < ACCOUNTS; i++) {
  const a = await op.call("createAccount", {});
  const c = client({ accessKeyId: a.rootAccessKeyId, secretAccessKey: a.rootSecretAccessKey });
  const policies: string[] = [];
  for (let p = 0; p < 10; p++) {
    policies.push((await c.call("createPolicy", { policyName: `bench-${p}`, policyDocument: POLICY })).policy.arn);
  }
  accounts.push({ client: c, policies, next: 0 });
}

/** One step of the mix for an account: create a user, attach a policy to it, put an inline policy on it. */
let step = 0;
async function write(account: (typeof accounts)[number], kind: number, user: string): Promise<void> {
  const principal = { entityType: EntityType.ENTITY_TYPE_USER, entityName: user };
  if (kind === 0) await account.client.call("createUser", { userName: user });
  else if (kind === 1) {
    await account.client.call("attachPolicy", { ...principal, policyArn: account.policies[step++ % 10] });
  } else await account.client.call("putInlinePolicy", { ...principal, policyName: "inline", policyDocument: POLICY });
}

/** A worker owns an account slot and runs create → attach → put for fresh users, back to back. */
async function closedLoop(untilMs: number, counter: { n: number; errors: number }, w: number): Promise<void> {
  const account = accounts[w % accounts.length] as (typeof accounts)[number];
  while (Date.now() < untilMs) {
    const user = `u${w}-${account.next++}`;
    for (let kind = 0; kind < 3 && Date.now() < untilMs; kind++) {
      try {
        await write(account, kind, user);
        counter.n++;
      } catch {
        counter.errors++;
        break;
      }
    }
  }
}

// Warm-up, then throughput (closed loop).
await Promise.all(Array.from({ length: CONCURRENCY }, (_, w) => closedLoop(Date.now() + 2000, { n: 0, errors: 0 }, w)));
const counter = { n: 0, errors: 0 };
const t0 = performance.now();
await Promise.all(
  Array.from({ length: CONCURRENCY }, (_, w) => closedLoop(Date.now() + THROUGHPUT_SECONDS * 1000, counter, w + 1000)),
);
const writesPerS = counter.n / ((performance.now() - t0) / 1000);

// Drain, then latency at a fixed offered rate (open loop: sends on schedule, never waits).
const source = await import("@gatehouse/store-postgres");
const outbox = source.createOutboxSource(cp.store);
while ((await outbox.backlog()) > 0) await new Promise((r) => setTimeout(r, 100));
recording = true;
const pending: Promise<unknown>[] = [];
let sent = 0;
let failed = 0;
const started = performance.now();
const total = OFFERED_RATE * LATENCY_SECONDS;
const users = new Map<number, string>();
await new Promise<void>((done) => {
  const tick = (): void => {
    const due = Math.min(total, Math.floor(((performance.now() - started) / 1000) * OFFERED_RATE));
    while (sent < due) {
      const i = sent++;
      const slot = Math.floor(i / 3);
      const account = accounts[slot % accounts.length] as (typeof accounts)[number];
      const kind = i % 3;
      if (kind === 0) users.set(slot, `lat-${slot}`);
      pending.push(write(account, kind, users.get(slot) ?? `lat-${slot}`).catch(() => failed++));
    }
    if (sent >= total) done();
    else setTimeout(tick, 1);
  };
  tick();
});
await Promise.all(pending);
while ((await outbox.backlog()) > 0) await new Promise((r) => setTimeout(r, 20));
recording = false;

latencies.sort((a, b) => a - b);
const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))] ?? 0;
const result = {
  writes_per_s: Math.round(writesPerS),
  publish_p50_ms: pct(50),
  publish_p99_ms: pct(99),
  offered_writes_per_s: OFFERED_RATE,
  detail: {
    throughput_seconds: THROUGHPUT_SECONDS,
    concurrency: CONCURRENCY,
    accounts: ACCOUNTS,
    throughput_errors: counter.errors,
    latency_samples: latencies.length,
    latency_failed_writes: failed,
    publish_max_ms: latencies.at(-1) ?? 0,
    mix: "CreateUser, AttachUserPolicy, PutUserPolicy in equal parts; SigV4-signed gRPC; in-process server",
  },
};
console.log(JSON.stringify(result, null, 2));
mkdirSync(join(root, "loadtest/results"), { recursive: true });
writeFileSync(join(root, "loadtest/results/control-plane-bench.json"), `${JSON.stringify(result, null, 2)}\n`);

for (const a of accounts) a.client.close();
op.close();
await cp.close();
const cleanup = new pg.Client({ connectionString: pgUrl });
await cleanup.connect();
await cleanup.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
await cleanup.end();
await deleteTopic({ brokers: brokers.split(","), topic }).catch(() => {});
