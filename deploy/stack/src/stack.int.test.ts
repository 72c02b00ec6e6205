// The README's first command, for real: `./gw run stack` in a state dir and on ports of its own
// (Postgres and Kafka are the run's, reused by infra.sh; the three Redis servers are the stack's),
// then a Ctrl-C to its process group; then a restart with --detach and `stack:down`.
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { Decision, GetRegionStatusRequest, ListUsersRequest } from "@gatehouse/proto";
import { Kafka, logLevel } from "kafkajs";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { authorizerClient, controlClient, rpc } from "./grpc-clients.ts";
import { livePidFiles, markedProcesses } from "./processes.ts";
import { readIniSection } from "./profile-files.ts";
import { authorizeAt } from "./region-status.ts";

const root = resolve(import.meta.dirname, "../../..");
const REGIONS = ["us-east-1", "eu-west-1", "ap-southeast-1"];
// 12 consecutive free ports from 57100-57899: the control plane, six deciders, the console, three Redis servers
// (a random block, so two test runs on one machine do not collide).
let CP_PORT = 0;
let DECIDER_BASE_PORT = 0;
let REDIS_BASE_PORT = 0;
let CONSOLE_PORT = 0;

const portFree = (port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
  });

async function pickPorts(): Promise<void> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 57_100 + 12 * Math.floor(Math.random() * 66);
    const ports = Array.from({ length: 12 }, (_, i) => base + i);
    if ((await Promise.all(ports.map(portFree))).every(Boolean)) {
      CP_PORT = base;
      DECIDER_BASE_PORT = base + 1;
      CONSOLE_PORT = base + 7;
      REDIS_BASE_PORT = base + 8;
      return;
    }
  }
  throw new Error("no 12 free consecutive ports in 57100-57899");
}

const work = mkdtempSync(join(tmpdir(), "gatehouse-stack-"));
const stateDir = join(work, "state");
const configDir = join(work, "config");
const suffix = randomBytes(5).toString("hex");
const schema = `stack_${suffix}`;
const topic = `stack-${suffix}`;

const pgUrl = process.env.GATEHOUSE_PG_TEST_URL ?? process.env.GATEHOUSE_TEST_PG_URL ?? "";
const brokers = (process.env.GATEHOUSE_KAFKA_BROKERS ?? process.env.GATEHOUSE_TEST_KAFKA_BROKERS ?? "").split(",");

/** The stack's environment: the run's Postgres and Kafka (reused by infra.sh), everything else its own. */
function stackEnv(): NodeJS.ProcessEnv {
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("GATEHOUSE_")));
  const pgParsed = new URL(pgUrl);
  return {
    ...inherited,
    GATEHOUSE_STATE_DIR: stateDir,
    GATEHOUSE_CONFIG_DIR: configDir,
    GATEHOUSE_PG_PORT: pgParsed.port || "5432",
    GATEHOUSE_PG_USER: decodeURIComponent(pgParsed.username) || "postgres",
    ...(pgParsed.password === "" ? {} : { GATEHOUSE_PG_PASSWORD: decodeURIComponent(pgParsed.password) }),
    GATEHOUSE_KAFKA_PORT: brokers[0]?.split(":").at(-1) ?? "9092",
    GATEHOUSE_REDIS_BASE_PORT: String(REDIS_BASE_PORT),
    GATEHOUSE_STACK_CP_PORT: String(CP_PORT),
    GATEHOUSE_STACK_REGION_BASE_PORT: String(DECIDER_BASE_PORT),
    GATEHOUSE_STACK_CONSOLE_PORT: String(CONSOLE_PORT),
    GATEHOUSE_STACK_STATUS_INTERVAL: "1",
    GATEHOUSE_PG_URL: pgUrl,
    GATEHOUSE_PG_SCHEMA: schema,
    GATEHOUSE_CHANGES_TOPIC: topic,
    GATEHOUSE_CHANGES_PARTITIONS: "3",
    GATEHOUSE_LOG_LEVEL: "warn",
  };
}

interface Run {
  readonly child: ChildProcess;
  stdout: string;
  stderr: string;
  readonly exited: Promise<number | null>;
}

/**
 * `./gw <args>` in a process group of its own, as a terminal runs a foreground job. Niced: the
 * stack starts ten Node processes at once, and the suites running beside it on two shared cores
 * have timing-sensitive assertions (staleness below twice a heartbeat).
 */
function gw(args: readonly string[]): Run {
  const child = spawn("nice", ["-n", "10", "bash", join(root, "gw"), ...args], {
    cwd: root,
    env: stackEnv(),
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
  });
  const run: Run = {
    child,
    stdout: "",
    stderr: "",
    exited: new Promise((r) => child.once("exit", (code) => r(code))),
  };
  child.stdout?.on("data", (b: Buffer) => {
    run.stdout += b.toString();
  });
  child.stderr?.on("data", (b: Buffer) => {
    run.stderr += b.toString();
  });
  return run;
}

async function waitFor(run: Run, pattern: RegExp, timeoutMs: number): Promise<RegExpMatchArray> {
  const deadline = Date.now() + timeoutMs;
  let exited = false;
  void run.exited.then(() => {
    exited = true;
  });
  for (;;) {
    const m = run.stdout.match(pattern);
    if (m !== null) return m;
    if (exited || Date.now() > deadline) {
      throw new Error(`no ${pattern} in the stack's output:\n${run.stdout}\n--- stderr ---\n${run.stderr}`);
    }
    await sleep(200);
  }
}

/** The demo account and revision a ready stack printed. */
function printed(run: Run): { accountId: string; revision: number } {
  const m = run.stdout.match(/Demo account (\d{12}) \(gatehouse-demo\) at revision (\d+)/);
  if (m === null) throw new Error(`no demo account line in:\n${run.stdout}`);
  return { accountId: m[1] as string, revision: Number(m[2]) };
}

const deciders = (i: number) => [
  `127.0.0.1:${DECIDER_BASE_PORT + 2 * i}`,
  `127.0.0.1:${DECIDER_BASE_PORT + 2 * i + 1}`,
];

/** Every decider of every region answers the seed's decisions at `revision` (read-your-writes). */
async function expectSeedEverywhere(accountId: string, revision: number): Promise<void> {
  const alice = `arn:aws:iam::${accountId}:user/alice`;
  const admin = `arn:aws:iam::${accountId}:user/admin`;
  const cases = [
    // Group developers' managed policy, with ${aws:username}.
    {
      principalArn: alice,
      action: "s3:GetObject",
      resource: "arn:aws:s3:::gatehouse-demo-reports/alice/q3.pdf",
      want: Decision.DECISION_ALLOW,
    },
    {
      principalArn: alice,
      action: "s3:GetObject",
      resource: "arn:aws:s3:::gatehouse-demo-reports/bob/q3.pdf",
      want: Decision.DECISION_IMPLICIT_DENY,
    },
    // Alice's inline Deny (no MFA).
    {
      principalArn: alice,
      action: "s3:DeleteObject",
      resource: "arn:aws:s3:::gatehouse-demo-reports/alice/q3.pdf",
      want: Decision.DECISION_EXPLICIT_DENY,
    },
    // Alice's boundary denies everything outside its data services (a Deny with NotAction);
    // without a boundary, the admins group's AdministratorAccess allows it.
    { principalArn: alice, action: "iam:CreateUser", resource: "*", want: Decision.DECISION_EXPLICIT_DENY },
    { principalArn: alice, action: "sqs:SendMessage", resource: "*", want: Decision.DECISION_IMPLICIT_DENY },
    { principalArn: admin, action: "iam:CreateUser", resource: "*", want: Decision.DECISION_ALLOW },
    // The deployer role's attached policy.
    {
      principalArn: `arn:aws:iam::${accountId}:role/deployer`,
      action: "cloudformation:CreateStack",
      resource: "*",
      want: Decision.DECISION_ALLOW,
    },
  ];
  for (const [i, region] of REGIONS.entries()) {
    for (const address of deciders(i)) {
      for (const c of cases) {
        const r = await authorizeAt(address, { ...c, accountId, minRevision: revision });
        expect(r.decision, `${region} ${address} ${c.principalArn} ${c.action} ${c.resource}`).toBe(c.want);
        expect(r.evaluatedAt?.revision ?? 0).toBeGreaterThanOrEqual(revision);
      }
    }
  }
}

/**
 * The stack's Redis servers that run, by infra.sh's pid files (Redis rewrites its environment
 * for its process title, so the stack's mark cannot be read from it).
 */
function redisServers(): number[] {
  const dir = join(stateDir, "run");
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => /^redis-.*\.pid$/.test(f))
    .map((f) => Number(readFileSync(join(dir, f), "utf8").trim()))
    .filter((pid) => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, "utf8").startsWith("redis-server");
      } catch {
        return false;
      }
    });
}

/** True when the repository's `gatehouse` CLI has the commands the stack prints (issue 15). */
function cliHasStackCommands(): boolean {
  const help = spawnSync("bash", ["-c", "npx gatehouse --help"], { cwd: root, env: stackEnv(), encoding: "utf8" });
  return ["iam", "authz", "region"].every((c) => new RegExp(`^\\s+${c}\\b`, "m").test(help.stdout));
}

/** Runs a printed command line as a user would, from the repository; it must succeed. */
function shell(line: string): { stdout: string } {
  const r = spawnSync("bash", ["-c", line], { cwd: root, env: stackEnv(), encoding: "utf8", timeout: 60_000 });
  expect(r.status, `${line}\n${r.stdout}\n${r.stderr}`).toBe(0);
  return { stdout: r.stdout };
}

async function stopLeftovers(): Promise<void> {
  if (markedProcesses(stateDir).length > 0 || redisServers().length > 0) await gw(["run", "stack:down"]).exited;
  for (const pid of markedProcesses(stateDir)) process.kill(pid, "SIGKILL");
}

describe("./gw run stack", () => {
  let accountId = "";
  let revision = 0;
  let credentialsText = "";

  beforeAll(async () => {
    expect(pgUrl, "GATEHOUSE_PG_TEST_URL from the testkit").not.toBe("");
    await pickPorts();
  });

  afterAll(async () => {
    await stopLeftovers();
    const client = new pg.Client({ connectionString: pgUrl });
    await client.connect();
    await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await client.end();
    const admin = new Kafka({ brokers, logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    await admin.deleteTopics({ topics: [topic] }).catch(() => {});
    await admin.disconnect();
    rmSync(work, { recursive: true, force: true });
  }, 120_000);

  it("starts three regions, seeds them, serves the example commands' calls, re-seeds idempotently, and stops everything on Ctrl-C", async () => {
    const run = gw(["run", "stack"]);
    try {
      await waitFor(run, /Ctrl-C stops everything\./, 180_000);
      ({ accountId, revision } = printed(run));
      expect(run.stdout).toMatch(/seeded \d+ entities/);
      // Every process the stack runs: the control plane, the console gateway, an applier and two
      // deciders per region.
      const names = [...livePidFiles(join(stateDir, "stack/run"), stateDir).keys()].sort();
      expect(names).toEqual(
        [
          "control-plane",
          "console",
          ...REGIONS.flatMap((r) => [`${r}-applier`, `${r}-decider-1`, `${r}-decider-2`]),
        ].sort(),
      );
      await expectSeedEverywhere(accountId, revision);

      // The live status line: each region's applied revision of the demo account and its staleness.
      const line = await waitFor(
        run,
        /cp rev \d+ \| us-east-1 rev \d+ stale -?\d+ms 2\/2 \| eu-west-1 rev .*\n/,
        30_000,
      );
      for (const r of REGIONS) expect(line[0]).toContain(`${r} rev ${revision} stale`);

      // The printed commands' calls, through the profile the stack wrote (the CLI reads the same files).
      expect(run.stdout).toContain("npx gatehouse iam list-users --profile demo");
      expect(run.stdout).toContain(
        `npx gatehouse authz authorize --profile demo --principal-arn arn:aws:iam::${accountId}:user/alice --action s3:GetObject --resource arn:aws:s3:::gatehouse-demo-reports/alice/q3.pdf`,
      );
      expect(run.stdout).toContain("npx gatehouse region status --profile demo");
      credentialsText = readFileSync(join(configDir, "credentials"), "utf8");
      const creds = readIniSection(credentialsText, "demo");
      const profile = readIniSection(readFileSync(join(configDir, "config"), "utf8"), "profile demo");
      expect(profile?.region).toBe("us-east-1");
      expect(profile?.endpoint_control_plane).toBe(`127.0.0.1:${CP_PORT}`);
      for (const [i, r] of REGIONS.entries()) expect(profile?.[`endpoint_${r}`]).toBe(deciders(i).join(","));
      const cp = controlClient(
        profile?.endpoint_control_plane ?? "",
        { accessKeyId: creds?.access_key_id ?? "", secretAccessKey: creds?.secret_access_key ?? "" },
        profile?.region ?? "",
      );
      const users = await rpc(cp.listUsers.bind(cp), ListUsersRequest.fromPartial({}));
      cp.close();
      expect(users.users.map((u) => u.userName).sort()).toEqual(["admin", "alice"]);
      const home = profile?.[`endpoint_${profile.region}`]?.split(",")[0] ?? "";
      const allowed = await authorizeAt(home, {
        principalArn: `arn:aws:iam::${accountId}:user/alice`,
        action: "s3:GetObject",
        resource: "arn:aws:s3:::gatehouse-demo-reports/alice/q3.pdf",
        accountId,
        minRevision: revision,
      });
      expect(allowed.decision).toBe(Decision.DECISION_ALLOW);
      for (const r of REGIONS) {
        const d = authorizerClient(profile?.[`endpoint_${r}`]?.split(",")[1] ?? "");
        const status = await rpc(d.getRegionStatus.bind(d), GetRegionStatusRequest.fromPartial({}));
        d.close();
        expect(status.region).toBe(r);
        expect(status.accounts.find((a) => a.accountId === accountId)?.revision).toBe(revision);
      }

      // The printed console URL and the admin's password sign in, and the session lists the users.
      const signin = /^Console: (http:\/\/[^/\s]+)\/signin\/(\S+)\n {2}user admin, password (\S+) /m.exec(run.stdout);
      expect(signin, run.stdout).not.toBeNull();
      const [, consoleUrl = "", consoleAccount = "", consolePassword = ""] = signin ?? [];
      expect(consoleUrl).toBe(`http://127.0.0.1:${CONSOLE_PORT}`);
      expect(consoleAccount).toBe("gatehouse-demo");
      // The stack built the web console, and the gateway serves it at the printed URL.
      const page = await fetch(`${consoleUrl}/signin/${consoleAccount}`);
      expect(page.status).toBe(200);
      const html = await page.text();
      expect(html).toContain('<div id="root"></div>');
      expect(html).toMatch(/<script type="module" crossorigin src="\/assets\/index-[\w-]+\.js"><\/script>/);
      const signedIn = await fetch(`${consoleUrl}/api/session/sign-in`, {
        method: "POST",
        headers: { "content-type": "application/json", origin: consoleUrl },
        body: JSON.stringify({ account: consoleAccount, userName: "admin", password: consolePassword }),
      });
      const answer = (await signedIn.json()) as { status: string; session: { csrfToken: string; accountId: string } };
      expect(answer).toMatchObject({ status: "SIGNED_IN", session: { accountId } });
      const cookie = (signedIn.headers.get("set-cookie") ?? "").split(";")[0] ?? "";
      const listed = await fetch(`${consoleUrl}/api/iam/ListUsers`, {
        method: "POST",
        headers: { "content-type": "application/json", cookie, "x-csrf-token": answer.session.csrfToken },
        body: "{}",
      });
      expect(((await listed.json()) as { users: { userName: string }[] }).users.map((u) => u.userName).sort()).toEqual([
        "admin",
        "alice",
      ]);

      // The printed commands themselves, once the CLI has them (issue 15's `iam`, `authz`, `region`).
      const commands = [...run.stdout.matchAll(/^ {2}(npx gatehouse .*)$/gm)].map((m) => m[1] as string);
      expect(commands).toHaveLength(3);
      if (cliHasStackCommands()) {
        // The CLI prints AWS-shaped JSON by default.
        const [listUsers, authorize, regionStatus] = commands.map((line) => JSON.parse(shell(line).stdout));
        expect(listUsers.Users.map((u: { Arn: string }) => u.Arn).sort()).toEqual([
          `arn:aws:iam::${accountId}:user/admin`,
          `arn:aws:iam::${accountId}:user/alice`,
        ]);
        expect(authorize.Decision).toBe("Allow");
        expect(regionStatus.Regions.map((r: { Region: string }) => r.Region).sort()).toEqual([...REGIONS].sort());
        for (const r of regionStatus.Regions)
          expect(r.AppliedRevisions).toContainEqual({ AccountId: accountId, Revision: revision });
      }

      // Seeding again writes nothing: the same revision, no new entity, the profile's key kept.
      const reseed = gw(["exec", "--", "node", "deploy/stack/src/main.ts", "seed"]);
      expect(await reseed.exited, reseed.stderr).toBe(0);
      const again = JSON.parse(reseed.stdout.trim().split("\n").at(-1) ?? "{}");
      expect(again).toMatchObject({ accountId, revision, created: [], accessKeyId: creds?.access_key_id });
      expect(readFileSync(join(configDir, "credentials"), "utf8")).toBe(credentialsText);

      // Ctrl-C: the terminal signals the foreground process group.
      expect(markedProcesses(stateDir)).toHaveLength(2 + 3 * REGIONS.length);
      expect(redisServers()).toHaveLength(REGIONS.length);
      process.kill(-(run.child.pid as number), "SIGINT");
      await run.exited;
      expect(run.stderr).toContain("stack: stopped");
      expect(markedProcesses(stateDir)).toEqual([]);
      expect(redisServers()).toEqual([]);
      expect(livePidFiles(join(stateDir, "stack/run"), stateDir).size).toBe(0);
    } finally {
      // After a failed assertion: stop it as a user would, so the next test starts clean.
      if (run.child.exitCode === null && run.child.signalCode === null) {
        process.kill(-(run.child.pid as number), "SIGINT");
        await Promise.race([run.exited, sleep(60_000)]);
      }
      await stopLeftovers();
    }
  }, 300_000);

  it("restarts with --detach on the data it kept, without a second access key, and stack:down stops it", async () => {
    expect(accountId).not.toBe("");
    const run = gw(["run", "stack", "--", "--detach"]);
    expect(await run.exited, run.stderr).toBe(0);
    expect(run.stdout).toContain("Stop it with: ./gw run stack:down");
    expect(printed(run)).toEqual({ accountId, revision });
    expect(run.stdout).toContain("seeded nothing new (already seeded)");
    expect(readFileSync(join(configDir, "credentials"), "utf8")).toBe(credentialsText);
    // The regions' Redis servers were stopped with the stack: they rebuilt the view from the topic.
    await expectSeedEverywhere(accountId, revision);
    expect(markedProcesses(stateDir)).toHaveLength(2 + 3 * REGIONS.length);
    expect(redisServers()).toHaveLength(REGIONS.length);

    const down = gw(["run", "stack:down"]);
    expect(await down.exited, down.stderr).toBe(0);
    expect(down.stderr).toContain("stack: stopped");
    expect(markedProcesses(stateDir)).toEqual([]);
    expect(redisServers()).toEqual([]);
  }, 300_000);
});
