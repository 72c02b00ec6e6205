// `npm run bench:control-plane`: writes/s of a mixed workload (CreateUser, AttachUserPolicy,
// PutUserPolicy) through the SigV4-signed gRPC API, and commit→published latency at a fixed
// offered rate. Prints the figures and writes loadtest/results/control-plane-bench.json.
//
// The control plane runs in the main thread (its relay reports each acknowledged batch, which
// gives commit→published latency exactly); the load generator runs in a worker thread so that
// client work does not share the server's event loop. Uses the local Postgres and Kafka
// (.gatehouse/infra.env, else the defaults), in a throw-away schema and topic.
//
// The load generator shares this machine's two cores with the service, Postgres and Kafka, where
// in production callers run elsewhere. So, as wrk or ghz prepare their requests before they
// measure, it serializes, frames and SigV4-signs the throughput phase's requests ahead of the
// timed window and only sends them inside it, over node:http2 as h2load would; the service still
// decodes and verifies every call. It signs live (through grpc-js and the SDK's signing
// interceptor) when a queue runs dry, counted in the JSON, and `--live-signing` does so for every
// call in the window, to compare.
//
// Alongside the throughput it reports the CPU spent per write during the throughput phase: the
// service's thread, the load generator's, the whole process (with V8's helper threads) and, when
// they run on this machine, Postgres's processes and the Kafka broker's; and how busy the
// machine's CPUs were meanwhile.
// Flags: --seconds=10 --concurrency=96 --accounts=24 --rate=200 --latency-seconds=10 --pool=8
// --write-concurrency=4 (the service's default; 96 callers keep this machine's two cores busy,
// where 48 left about 15% of them idle) --sign-ahead-rate=2500 (the writes/s the requests
// signed ahead cover) --live-signing
import { randomBytes } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { connect } from "node:http2";
import { join } from "node:path";
import { isMainThread, parentPort, Worker, workerData } from "node:worker_threads";
import { createSigningInterceptor, signGrpcCall } from "@gatehouse/auth";
import { deleteTopic } from "@gatehouse/bus-kafka";
import { ControlServiceClient, ControlServiceService, EntityType } from "@gatehouse/proto";
import { createOutboxSource } from "@gatehouse/store-postgres";
import { credentials as grpcCredentials, Metadata, type ServiceError } from "@grpc/grpc-js";
import pg from "pg";
import { pino } from "pino";
import { loadControlPlaneConfig } from "../config.ts";
import { startControlPlane } from "../control-plane.ts";
import { benchSettings, hostHmacMicros, serverCpuMs } from "./machine.ts";

type Creds = { accessKeyId: string; secretAccessKey: string };
interface Params {
  address: string;
  accounts: { creds: Creds; policies: string[] }[];
  seconds: number;
  concurrency: number;
  rate: number;
  latencySeconds: number;
  /** The writes/s that the requests signed ahead of the throughput phase cover; 0 signs live. */
  signAheadRate: number;
}
type ToMain =
  | { phase: "measuring" }
  | {
      phase: "throughput";
      writes: number;
      errors: number;
      seconds: number;
      /** CPU ms of the load generator's thread in the timed window. */
      cpuMs: number;
      signedAhead: number;
      signedLive: number;
      /** CPU ms of the load generator's thread per request it signed ahead (0 when none). */
      signMsPerCall: number;
    }
  | { phase: "latency"; sent: number; failed: number };

/** Users made in setup, per account, that the latency phase attaches to and puts inline policies on. */
const FIXED_USERS = 30;
const POLICY = JSON.stringify({
  Version: "2012-10-17",
  Statement: [{ Effect: "Allow", Action: ["s3:GetObject", "s3:ListBucket"], Resource: "arn:aws:s3:::bench/*" }],
});

const methods = ControlServiceService as unknown as Record<
  string,
  { path: string; requestSerialize(r: object): Buffer; requestDeserialize(b: Buffer): object }
>;

/** `request` with every field it leaves out at the method's default (ts-proto's encoders need them all). */
function fullRequest(method: string, request: object): object {
  return { ...methods[method]?.requestDeserialize(Buffer.alloc(0)), ...request };
}

function client(address: string, creds: Creds) {
  const c = new ControlServiceClient(address, grpcCredentials.createInsecure(), {
    interceptors: [createSigningInterceptor({ credentials: creds, authority: address })],
  });
  type Unary = Record<string, (r: object, m: Metadata, cb: (e: ServiceError | null, v: unknown) => void) => void>;
  return {
    // biome-ignore lint/suspicious/noExplicitAny: bench responses are only read for a few fields
    call(method: string, request: object): Promise<any> {
      return new Promise((res, rej) =>
        (c as unknown as Unary)[method]?.(fullRequest(method, request), new Metadata(), (e, v) =>
          e === null ? res(v) : rej(e),
        ),
      );
    },
    close: () => c.close(),
  };
}

/** A call framed and signed ahead: the method's path, its signature and the gRPC message frame. */
interface SignedCall {
  readonly path: string;
  readonly signature: Readonly<Record<string, string>>;
  /** The serialized request behind gRPC's 5-byte prefix (uncompressed, length big-endian). */
  readonly frame: Buffer;
}

/** Serializes `request` for `method` and signs it as the SDK's signing interceptor does. */
async function signCall(address: string, creds: Creds, method: string, request: object): Promise<SignedCall> {
  const def = methods[method];
  if (def === undefined) throw new Error(`no method ${method}`);
  const body = def.requestSerialize(fullRequest(method, request));
  const frame = Buffer.alloc(5 + body.length);
  frame.writeUInt32BE(body.length, 1);
  body.copy(frame, 5);
  return {
    path: def.path,
    signature: await signGrpcCall({ method: def.path, authority: address, body }, creds),
    frame,
  };
}

/**
 * Sends calls signed ahead as unary gRPC requests on one HTTP/2 connection, straight through
 * node:http2 as h2load would: the frames are ready, so a client library would only add work on
 * this machine's cores. A call succeeds when its grpc-status (in the trailers, or in the headers of
 * a trailers-only response) is 0.
 */
function rawSender(address: string) {
  const session = connect(`http://${address}`);
  // A broken connection fails the calls on it, which count as errors.
  session.on("error", () => {});
  return {
    send: (call: SignedCall): Promise<void> =>
      new Promise((resolve, reject) => {
        const stream = session.request({
          ":method": "POST",
          ":path": call.path,
          "content-type": "application/grpc",
          te: "trailers",
          ...call.signature,
        });
        let status: unknown;
        stream.on("response", (headers) => {
          status = headers["grpc-status"];
        });
        stream.on("trailers", (trailers) => {
          status = trailers["grpc-status"] ?? status;
        });
        // The response message is not needed: read and drop it.
        stream.resume();
        stream.on("end", () => (status === "0" ? resolve() : reject(new Error(`grpc-status ${String(status)}`))));
        stream.on("error", reject);
        stream.end(call.frame);
      }),
    close: () => session.close(),
  };
}

async function generateLoad(p: Params): Promise<void> {
  const port = parentPort;
  if (port === null) return;
  const accounts = p.accounts.map((a) => ({
    client: client(p.address, a.creds),
    creds: a.creds,
    policies: a.policies,
  }));
  type Account = (typeof accounts)[number];
  const principal = (user: string) => ({ entityType: EntityType.ENTITY_TYPE_USER, entityName: user });
  // Each caller of the closed loop has its own sequence of writes on its account: create a user,
  // attach a policy to it, put an inline policy on it; then the next user. `ahead` holds the
  // sequence's first calls, signed ahead; `next` is the index of the caller's next write.
  const callers = Array.from({ length: p.concurrency }, (_, w) => ({
    w,
    account: accounts[w % accounts.length] as Account,
    ahead: [] as (SignedCall | undefined)[],
    next: 0,
  }));
  type Caller = (typeof callers)[number];
  const writeOf = (caller: Caller, n: number): [string, object] => {
    const user = `u${caller.w}-${Math.floor(n / 3)}`;
    const kind = n % 3;
    if (kind === 0) return ["createUser", { userName: user }];
    const policyArn = caller.account.policies[Math.floor(n / 3) % 10];
    if (kind === 1) return ["attachPolicy", { ...principal(user), policyArn }];
    return ["putInlinePolicy", { ...principal(user), policyName: "inline", policyDocument: POLICY }];
  };
  const aheadPerCaller = Math.ceil((p.signAheadRate * (2 + p.seconds)) / p.concurrency);
  const signStart = process.threadCpuUsage();
  // The service refuses signatures more than 5 minutes old: 4 minutes after the first was made,
  // the rest are signed live.
  const signedAheadUntilMs = Date.now() + 4 * 60_000;
  for (const caller of callers) {
    for (let n = 0; n < aheadPerCaller; n++) {
      const [method, request] = writeOf(caller, n);
      caller.ahead.push(await signCall(p.address, caller.account.creds, method, request));
    }
  }
  const signUsed = process.threadCpuUsage(signStart);
  const signedAhead = aheadPerCaller * callers.length;
  const sender = rawSender(p.address);
  let signedLive = 0;
  const write = async (caller: Caller): Promise<void> => {
    const n = caller.next++;
    const ahead = caller.ahead[n];
    if (ahead !== undefined && Date.now() < signedAheadUntilMs) {
      caller.ahead[n] = undefined;
      await sender.send(ahead);
      return;
    }
    const [method, request] = writeOf(caller, n);
    signedLive++;
    await caller.account.client.call(method, request);
  };
  // Closed loop: each caller sends its next write as soon as its last one is answered. A failed
  // write ends its user's sequence: the user's next writes would fail too.
  const closedLoop = async (untilMs: number, counter: { n: number; errors: number }, caller: Caller) => {
    while (Date.now() < untilMs) {
      try {
        await write(caller);
        counter.n++;
      } catch {
        counter.errors++;
        caller.next = Math.ceil(caller.next / 3) * 3;
      }
    }
  };
  const loops = (ms: number, counter: { n: number; errors: number }) =>
    Promise.all(callers.map((caller) => closedLoop(Date.now() + ms, counter, caller)));
  await loops(2000, { n: 0, errors: 0 });
  const counter = { n: 0, errors: 0 };
  port.postMessage({ phase: "measuring" });
  signedLive = 0;
  const cpuStart = process.threadCpuUsage();
  const t0 = performance.now();
  await loops(p.seconds * 1000, counter);
  const cpu = process.threadCpuUsage(cpuStart);
  port.postMessage({
    phase: "throughput",
    writes: counter.n,
    errors: counter.errors,
    seconds: (performance.now() - t0) / 1000,
    cpuMs: (cpu.user + cpu.system) / 1000,
    signedAhead,
    signedLive,
    signMsPerCall: signedAhead === 0 ? 0 : (signUsed.user + signUsed.system) / 1000 / signedAhead,
  } satisfies ToMain);
  sender.close();
  await new Promise((r) => port.once("message", r));

  // Open loop at a fixed rate: sends on schedule, never waits, and only independent writes (new
  // users; attachments and new inline policies on users made in setup).
  const total = p.rate * p.latencySeconds;
  const pending: Promise<unknown>[] = [];
  let sent = 0;
  let failed = 0;
  const started = performance.now();
  await new Promise<void>((done) => {
    const tick = (): void => {
      const due = Math.min(total, Math.floor(((performance.now() - started) / 1000) * p.rate));
      while (sent < due) {
        const i = sent++;
        const account = accounts[i % accounts.length] as Account;
        const n = Math.floor(i / accounts.length);
        const target = principal(`fixed-${Math.floor(n / 3) % FIXED_USERS}`);
        const call =
          n % 3 === 0
            ? account.client.call("createUser", { userName: `lat-${i}` })
            : n % 3 === 1
              ? account.client.call("attachPolicy", {
                  ...target,
                  policyArn: account.policies[Math.floor(n / (3 * FIXED_USERS)) % 10],
                })
              : account.client.call("putInlinePolicy", { ...target, policyName: `lat-${i}`, policyDocument: POLICY });
        pending.push(call.catch(() => failed++));
      }
      if (sent >= total) done();
      else setTimeout(tick, 1);
    };
    tick();
  });
  await Promise.all(pending);
  for (const a of accounts) a.client.close();
  port.postMessage({ phase: "latency", sent, failed });
}

async function main(): Promise<void> {
  const { root, pgUrl, kafkaBrokers: brokers, num, has } = benchSettings();
  const accountsWanted = num("accounts", 24);
  const poolSize = num("pool", 8);
  // The service's default (config.ts).
  const writeConcurrency = num("write-concurrency", 4);

  const schema = `bench_${randomBytes(4).toString("hex")}`;
  const topic = `bench.changes.${randomBytes(4).toString("hex")}`;
  const operator = { accessKeyId: "AKIABENCHOPERATOR000", secretAccessKey: randomBytes(30).toString("base64") };
  const config = loadControlPlaneConfig({
    GATEHOUSE_CP_LISTEN: "127.0.0.1:0",
    GATEHOUSE_PG_URL: pgUrl,
    GATEHOUSE_PG_SCHEMA: schema,
    GATEHOUSE_PG_POOL_SIZE: String(poolSize),
    GATEHOUSE_PG_WRITE_CONCURRENCY: String(writeConcurrency),
    GATEHOUSE_KAFKA_BROKERS: brokers,
    GATEHOUSE_CHANGES_TOPIC: topic,
    GATEHOUSE_CHANGES_PARTITIONS: "12",
    GATEHOUSE_SECRET_KEY: randomBytes(32).toString("base64"),
    GATEHOUSE_OPERATOR_ACCESS_KEY_ID: operator.accessKeyId,
    GATEHOUSE_OPERATOR_SECRET_ACCESS_KEY: operator.secretAccessKey,
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
  const outbox = createOutboxSource(cp.store);
  const drained = async () => {
    while ((await outbox.backlog()) > 0) await new Promise((r) => setTimeout(r, 20));
  };

  // Setup: accounts, each with ten managed policies and FIXED_USERS users.
  const op = client(address, operator);
  const accounts: Params["accounts"] = [];
  for (let i = 0; i < accountsWanted; i++) {
    const a = await op.call("createAccount", {});
    const creds = { accessKeyId: a.rootAccessKeyId, secretAccessKey: a.rootSecretAccessKey };
    const c = client(address, creds);
    const policies: string[] = [];
    for (let p = 0; p < 10; p++) {
      policies.push((await c.call("createPolicy", { policyName: `bench-${p}`, policyDocument: POLICY })).policy.arn);
    }
    await Promise.all(Array.from({ length: FIXED_USERS }, (_, u) => c.call("createUser", { userName: `fixed-${u}` })));
    c.close();
    accounts.push({ creds, policies });
  }
  op.close();

  const params: Params = {
    address,
    accounts,
    seconds: num("seconds", 10),
    concurrency: num("concurrency", 96),
    rate: num("rate", 200),
    latencySeconds: num("latency-seconds", 10),
    signAheadRate: has("live-signing") ? 0 : num("sign-ahead-rate", 2500),
  };
  const hmacBefore = hostHmacMicros();
  const worker = new Worker(new URL(import.meta.url), { workerData: params });
  const next = () => new Promise<ToMain>((r) => worker.once("message", r));
  // The worker signs ahead, warms up for 2 s, then says when it starts measuring.
  await next();
  const atStart = { process: process.cpuUsage(), thread: process.threadCpuUsage(), servers: serverCpuMs() };
  const startedMs = Date.now();
  const throughput = (await next()) as Extract<ToMain, { phase: "throughput" }>;
  const used = process.cpuUsage(atStart.process);
  const thread = process.threadCpuUsage(atStart.thread);
  const servers = serverCpuMs();
  const measuredWrites = (throughput.writes * ((Date.now() - startedMs) / 1000)) / throughput.seconds;
  const perWrite = (ms: number) => Number((ms / measuredWrites).toFixed(3));
  const machineAll = servers.machineAll - atStart.servers.machineAll;
  const cpu = {
    service_thread_ms_per_write: perWrite((thread.user + thread.system) / 1000),
    load_generator_ms_per_write: Number((throughput.cpuMs / throughput.writes).toFixed(3)),
    // Both threads and V8's helper threads (garbage collection).
    process_ms_per_write: perWrite((used.user + used.system) / 1000),
    postgres_ms_per_write: perWrite(servers.postgres - atStart.servers.postgres),
    kafka_ms_per_write: perWrite(servers.kafka - atStart.servers.kafka),
    // How much of the machine's CPU was busy meanwhile: near 100 means the writes/s are what this
    // machine's cores can do, for the CPU per write above.
    machine_busy_pct:
      machineAll > 0
        ? Number(((100 * (servers.machineBusy - atStart.servers.machineBusy)) / machineAll).toFixed(1))
        : 0,
  };
  await drained();
  recording = true;
  worker.postMessage("go");
  const latency = (await next()) as Extract<ToMain, { phase: "latency" }>;
  await drained();
  recording = false;
  await worker.terminate();

  const hmacAfter = hostHmacMicros();
  latencies.sort((a, b) => a - b);
  const pct = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor((q / 100) * latencies.length))] ?? 0;
  const result = {
    writes_per_s: Math.round(throughput.writes / throughput.seconds),
    publish_p50_ms: pct(50),
    publish_p99_ms: pct(99),
    offered_writes_per_s: params.rate,
    detail: {
      throughput_seconds: params.seconds,
      concurrency: params.concurrency,
      accounts: params.accounts.length,
      throughput_errors: throughput.errors,
      latency_samples: latencies.length,
      latency_writes_sent: latency.sent,
      latency_failed_writes: latency.failed,
      publish_max_ms: latencies.at(-1) ?? 0,
      pg_pool_size: poolSize,
      pg_write_concurrency: writeConcurrency,
      // The host's speed before and after the run (hostHmacMicros: lower is faster).
      host_hmac_us: { before: hmacBefore, after: hmacAfter },
      cpu_during_throughput: cpu,
      // The load generator's requests: signed ahead of the timed window (how many, at what CPU
      // cost each to sign and serialize), and how many it had to sign live within it.
      signing: {
        signed_ahead: throughput.signedAhead,
        signed_live_in_window: throughput.signedLive,
        client_sign_ms_per_call: Number(throughput.signMsPerCall.toFixed(3)),
      },
      mix: "CreateUser, AttachUserPolicy, PutUserPolicy in equal parts; SigV4-signed gRPC, every signature verified; load from a worker thread",
    },
  };
  console.log(JSON.stringify(result, null, 2));
  mkdirSync(join(root, "loadtest/results"), { recursive: true });
  writeFileSync(join(root, "loadtest/results/control-plane-bench.json"), `${JSON.stringify(result, null, 2)}\n`);

  await cp.close();
  const cleanup = new pg.Client({ connectionString: pgUrl });
  await cleanup.connect();
  await cleanup.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await cleanup.end();
  await deleteTopic({ brokers: brokers.split(","), topic }).catch(() => {});
}

if (isMainThread) await main();
else await generateLoad(workerData as Params);
