// Item 7 of issue 10, on a real failover: a primary and an asynchronous standby of the test's own
// (the run's shared server is never touched). The standby misses the primary's last write, the
// primary dies after that write was published, the standby is promoted and reuses its revision.
import { execFile, execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { createChangePublisher } from "@gatehouse/bus-kafka";
import { createOutboxSource, createPostgresStore, type IamStore } from "@gatehouse/store-postgres";
import { createTestTopic, type TestTopic } from "@gatehouse/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createOutboxRelay } from "./outbox-relay.ts";
import { collectEvents, kafkaBrokers, silentLogger } from "./test-env.int-helper.ts";

const run = promisify(execFile);
const asRoot = process.getuid?.() === 0;

/** The newest installed server's binaries (initdb, pg_ctl, pg_basebackup), if any. */
function serverBinaries(): string | undefined {
  const base = "/usr/lib/postgresql";
  const versions = existsSync(base) ? readdirSync(base).sort((a, b) => Number(b) - Number(a)) : [];
  return versions.map((v) => join(base, v, "bin")).find((d) => existsSync(join(d, "initdb")));
}

/** uid and gid of the `postgres` OS user, who runs the servers when the tests run as root. */
function postgresUser(): { uid: number; gid: number } | undefined {
  try {
    const id = (flag: string) => Number(execFileSync("id", [flag, "postgres"], { encoding: "utf8" }).trim());
    return { uid: id("-u"), gid: id("-g") };
  } catch {
    return undefined;
  }
}

const BIN = serverBinaries() ?? "";
const OWNER = asRoot ? postgresUser() : undefined;
// Needs a local Postgres installation (the local test stack has one); containers-only runs skip it.
const canRun = BIN !== "" && (!asRoot || OWNER !== undefined);

/** Runs a Postgres tool as the `postgres` OS user when root (initdb and postgres refuse root). */
async function asOwner(tool: string, args: string[]): Promise<void> {
  const [cmd, argv] = asRoot
    ? ["runuser", ["-u", "postgres", "--", join(BIN, tool), ...args]]
    : [join(BIN, tool), args];
  await run(cmd, argv, { timeout: 60_000 });
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const address = s.address();
      s.close(() => resolve(typeof address === "object" && address !== null ? address.port : 0));
    });
  });
}

interface Server {
  readonly dir: string;
  readonly port: number;
  readonly url: string;
  start(): Promise<void>;
  stop(mode: "fast" | "immediate"): Promise<void>;
}

function server(dir: string, port: number, socketDir: string): Server {
  const options = `-p ${port} -c listen_addresses=127.0.0.1 -c unix_socket_directories=${socketDir} -c fsync=off`;
  return {
    dir,
    port,
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    start: () => asOwner("pg_ctl", ["-D", dir, "-l", `${dir}.log`, "-w", "-t", "60", "-o", options, "start"]),
    stop: (mode) => asOwner("pg_ctl", ["-D", dir, "-m", mode, "-w", "-t", "60", "stop"]).catch(() => {}),
  };
}

const SECRET = randomBytes(32);
const storeOn = (url: string): IamStore =>
  createPostgresStore({ connectionString: url, schema: "gatehouse", secretKey: SECRET, poolSize: 4 });

describe.skipIf(!canRun)(
  "revisions after an asynchronous failover (a Postgres primary and standby of the test's own)",
  () => {
    let root: string;
    let primary: Server;
    let standby: Server;
    let topic: TestTopic;
    const stores: IamStore[] = [];
    beforeAll(async () => {
      root = mkdtempSync(join(tmpdir(), "gatehouse-failover-"));
      chmodSync(root, 0o777);
      if (OWNER !== undefined) chownSync(root, OWNER.uid, OWNER.gid);
      primary = server(join(root, "primary"), await freePort(), root);
      standby = server(join(root, "standby"), await freePort(), root);
      await asOwner("initdb", ["-D", primary.dir, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C"]);
      await primary.start();
      topic = await createTestTopic({ prefix: "failover", partitions: 2 });
    }, 120_000);
    afterAll(async () => {
      for (const s of stores) await s.close().catch(() => {});
      await standby?.stop("immediate");
      await primary?.stop("immediate");
      await topic?.delete();
      if (root !== undefined) rmSync(root, { recursive: true, force: true });
    });

    async function relayOnce(store: IamStore, until: () => boolean): Promise<void> {
      const publisher = createChangePublisher({ brokers: kafkaBrokers(), topic: topic.name });
      const relay = createOutboxRelay({
        outbox: createOutboxSource(store),
        publisher,
        logger: silentLogger,
        takeoverDelayMs: 0,
        maxBackoffMs: 200,
      });
      relay.start();
      try {
        await expect.poll(until, { timeout: 20_000 }).toBe(true);
      } finally {
        await relay.stop();
        await publisher.disconnect();
      }
    }

    it("a revision reused by the promoted standby carries another epoch than the one published before", async () => {
      const old = storeOn(primary.url);
      stores.push(old);
      await old.migrate();
      const acct = (await old.createAccount({})).accountId;
      await old.createUser(acct, { userName: "replicated" });

      // The standby: a copy of the primary, streaming asynchronously, then stopped (so it misses
      // what comes next, as a lagging standby does).
      await asOwner("pg_basebackup", [
        "-h",
        "127.0.0.1",
        "-p",
        String(primary.port),
        "-U",
        "postgres",
        "-D",
        standby.dir,
        "-R",
        "-X",
        "stream",
        // An immediate checkpoint: a spread one over the seeded AWS managed-policy catalogue (32 MB
        // of documents) outlasted the call's 60 s.
        "-c",
        "fast",
      ]);
      await standby.start();
      await standby.stop("fast");

      const lost = await old.createUser(acct, { userName: "lost-in-failover" });
      const events = await collectEvents(topic.name);
      try {
        await relayOnce(old, () => events.deduped(acct).some((e) => e.revision === lost.revision));
        await old.close();
        stores.length = 0;
        await primary.stop("immediate");

        await standby.start();
        await asOwner("pg_ctl", ["-D", standby.dir, "-w", "-t", "60", "promote"]);
        const promoted = storeOn(standby.url);
        stores.push(promoted);
        const reused = await promoted.createUser(acct, { userName: "written-after-failover" });
        expect(reused.revision).toBe(lost.revision); // the number is reused: the danger of item 7
        await relayOnce(promoted, () => events.deduped(acct).filter((e) => e.revision === lost.revision).length === 2);

        const [before, after] = events.deduped(acct).filter((e) => e.revision === lost.revision);
        const system = await promoted.pool.query<{ id: string }>(
          "SELECT system_identifier::text AS id FROM pg_control_system()",
        );
        const id = system.rows[0]?.id;
        expect(before?.epoch).toBe(`${id}:1`);
        expect(after?.epoch).toBe(`${id}:2`);
        expect(after?.eventId).not.toBe(before?.eventId);
        // Events the standby had replicated (revision 1..) were published under the first epoch.
        expect(
          events
            .deduped(acct)
            .filter((e) => e.revision < lost.revision)
            .every((e) => e.epoch === `${id}:1`),
        ).toBe(true);
      } finally {
        await events.stop();
      }
    }, 120_000);
  },
);
