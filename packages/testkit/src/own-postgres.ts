// A Postgres primary and an asynchronous standby of a test's own (never the run's shared server),
// for tests of a real failover: the standby misses the primary's last writes, is promoted, and
// its timeline (the second half of a change event's epoch) moves on.
import { execFile, execFileSync } from "node:child_process";
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";

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

/**
 * Whether {@link createOwnPostgres} can run here: a local Postgres installation (the local test
 * stack has one), and as root a `postgres` OS user to run it. Containers-only runs skip such tests.
 */
export const canRunOwnPostgres = BIN !== "" && (!asRoot || OWNER !== undefined);

/** Runs a Postgres tool as the `postgres` OS user when root (initdb and postgres refuse root). */
async function asOwner(tool: string, args: string[]): Promise<void> {
  const [cmd, argv] = asRoot
    ? ["runuser", ["-u", "postgres", "--", join(BIN, tool), ...args]]
    : [join(BIN, tool), args];
  await run(cmd, argv, { timeout: 60_000 });
}

/** A free TCP port on 127.0.0.1 (asked of the kernel, then released). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const address = s.address();
      s.close(() => resolve(typeof address === "object" && address !== null ? address.port : 0));
    });
  });
}

/** One Postgres server of the test's own (a data directory and a port). */
export interface OwnPostgresServer {
  readonly dir: string;
  readonly port: number;
  /** `postgres://postgres@127.0.0.1:<port>/postgres` (trust authentication). */
  readonly url: string;
  start(): Promise<void>;
  stop(mode: "fast" | "immediate"): Promise<void>;
}

/** A primary (initialised and started) and a standby directory, under one temporary folder. */
export interface OwnPostgres {
  readonly primary: OwnPostgresServer;
  /** The standby: empty until {@link OwnPostgres.copyToStandby}. */
  readonly standby: OwnPostgresServer;
  /**
   * Copies the primary to the standby (`pg_basebackup -R`, streaming), starts the standby and
   * stops it again: it then holds everything written so far and misses what comes next, as a
   * lagging asynchronous standby does.
   */
  copyToStandby(): Promise<void>;
  /**
   * Starts the standby (`port`: another port than its own, e.g. the stopped primary's, so clients
   * configured with the primary's URL reach it) and promotes it: a new timeline.
   */
  promoteStandby(port?: number): Promise<OwnPostgresServer>;
  /** Stops both servers and deletes their files. */
  close(): Promise<void>;
}

function server(dir: string, port: number, socketDir: string, extra = ""): OwnPostgresServer {
  const options = `-p ${port} -c listen_addresses=127.0.0.1 -c unix_socket_directories=${socketDir} -c fsync=off${extra}`;
  return {
    dir,
    port,
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    start: () => asOwner("pg_ctl", ["-D", dir, "-l", `${dir}.log`, "-w", "-t", "60", "-o", options, "start"]),
    stop: (mode) => asOwner("pg_ctl", ["-D", dir, "-m", mode, "-w", "-t", "60", "stop"]).catch(() => {}),
  };
}

/** Initialises and starts a primary of the test's own; check {@link canRunOwnPostgres} first. */
export async function createOwnPostgres(): Promise<OwnPostgres> {
  if (!canRunOwnPostgres) throw new Error("no local Postgres installation to run a server of the test's own");
  const root = mkdtempSync(join(tmpdir(), "gatehouse-own-pg-"));
  chmodSync(root, 0o777);
  if (OWNER !== undefined) chownSync(root, OWNER.uid, OWNER.gid);
  const primary = server(join(root, "primary"), await freePort(), root);
  const standby = server(join(root, "standby"), await freePort(), root);
  let promoted: OwnPostgresServer | undefined;
  await asOwner("initdb", ["-D", primary.dir, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C"]);
  await primary.start();
  return {
    primary,
    standby,
    async copyToStandby() {
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
    },
    async promoteStandby(port = standby.port) {
      // No streaming from the primary's address: with the standby on that port it would be itself.
      promoted = port === standby.port ? standby : server(standby.dir, port, root, " -c primary_conninfo=''");
      await promoted.start();
      await asOwner("pg_ctl", ["-D", standby.dir, "-w", "-t", "60", "promote"]);
      return promoted;
    },
    async close() {
      await promoted?.stop("immediate");
      await standby.stop("immediate");
      await primary.stop("immediate");
      rmSync(root, { recursive: true, force: true });
    },
  };
}
