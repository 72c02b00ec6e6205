import { type ChildProcess, spawn } from "node:child_process";
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";

/**
 * The stack's processes. Each runs in a process group of its own (so a Ctrl-C reaches only the
 * supervisor, which stops them in order), logs to `<logDir>/stack-<name>.log`, and has a pid file
 * `<runDir>/<name>.pid`. Each carries `GATEHOUSE_STACK_DIR=<stateDir>` in its environment: that is
 * how `down` tells a process of this stack from an unrelated one that reused a stale pid, and how
 * the stack test finds any process left behind. (infra.sh's servers get the mark too, but Redis
 * overwrites its environment with its process title: infra.sh's own pid files track those.)
 */

/** The environment variable marking a process as one of the stack's. */
export const STACK_MARK = "GATEHOUSE_STACK_DIR";

/** A process to start. */
export interface ServiceSpec {
  /** Unique within the stack: `control-plane`, `us-east-1-applier`, `us-east-1-decider-1`. */
  readonly name: string;
  /** The script, relative to the repository root, and its arguments. */
  readonly script: string;
  readonly args: readonly string[];
  readonly env: Readonly<Record<string, string | undefined>>;
}

/** A started process. */
export interface RunningService {
  readonly spec: ServiceSpec;
  readonly pid: number;
  readonly logFile: string;
  /** Resolves with the exit code (or the signal's name) once it exited. */
  readonly exited: Promise<number | string>;
  readonly child: ChildProcess;
}

/** Where the processes' pid files and logs go. */
export interface ProcessDirs {
  readonly root: string;
  readonly stateDir: string;
  readonly runDir: string;
  readonly logDir: string;
}

/** Starts `spec` detached into its own process group, logging to its file. */
export function startService(dirs: ProcessDirs, spec: ServiceSpec): RunningService {
  mkdirSync(dirs.runDir, { recursive: true });
  mkdirSync(dirs.logDir, { recursive: true });
  const logFile = join(dirs.logDir, `stack-${spec.name}.log`);
  const fd = openSync(logFile, "a");
  const child = spawn(
    process.execPath,
    ["--disable-warning=TimeoutNegativeWarning", join(dirs.root, spec.script), ...spec.args],
    {
      cwd: dirs.root,
      detached: true,
      stdio: ["ignore", fd, fd],
      env: { ...spec.env, [STACK_MARK]: dirs.stateDir },
    },
  );
  closeSync(fd);
  const pid = child.pid;
  if (pid === undefined) throw new Error(`could not start ${spec.name}`);
  const exited = new Promise<number | string>((resolve) =>
    child.once("exit", (code, signal) => resolve(code ?? signal ?? "unknown")),
  );
  writeFileSync(join(dirs.runDir, `${spec.name}.pid`), `${pid}\n`);
  return { spec, pid, logFile, exited, child };
}

/** True when process `pid` runs (a zombie does not) and carries this stack's mark. */
export function isStackProcess(pid: number, stateDir: string): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    if (stat.slice(stat.lastIndexOf(")") + 2).startsWith("Z")) return false;
    return readFileSync(`/proc/${pid}/environ`, "utf8").split("\0").includes(`${STACK_MARK}=${stateDir}`);
  } catch {
    return false;
  }
}

/** The pids of every process on the machine that carries this stack's mark. */
export function markedProcesses(stateDir: string): number[] {
  return readdirSync("/proc")
    .filter((d) => /^\d+$/.test(d))
    .map(Number)
    .filter((pid) => pid !== process.pid && isStackProcess(pid, stateDir));
}

/** The pid files of `runDir` whose process still runs as one of this stack's: name → pid. */
export function livePidFiles(runDir: string, stateDir: string): Map<string, number> {
  const live = new Map<string, number>();
  if (!existsSync(runDir)) return live;
  for (const file of readdirSync(runDir).filter((f) => f.endsWith(".pid"))) {
    const path = join(runDir, file);
    const pid = Number(readFileSync(path, "utf8").trim());
    if (Number.isInteger(pid) && pid > 0 && isStackProcess(pid, stateDir)) live.set(file.slice(0, -4), pid);
    else rmSync(path, { force: true });
  }
  return live;
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      // Already gone.
    }
  }
}

/**
 * Stops `pids` (SIGTERM to each one's process group, then SIGKILL after `graceMs`) and waits
 * until none runs. Works for processes of an earlier supervisor too (`stack:down`).
 */
export async function stopPids(pids: readonly number[], stateDir: string, graceMs = 15_000): Promise<void> {
  for (const pid of pids) signalGroup(pid, "SIGTERM");
  const deadline = Date.now() + graceMs;
  let left = pids.filter((p) => isStackProcess(p, stateDir));
  while (left.length > 0 && Date.now() < deadline) {
    await sleep(100);
    left = left.filter((p) => isStackProcess(p, stateDir));
  }
  for (const pid of left) signalGroup(pid, "SIGKILL");
  while (left.length > 0) {
    await sleep(50);
    left = left.filter((p) => isStackProcess(p, stateDir));
  }
}

/** Stops the stack's started services, last started first, and removes their pid files. */
export async function stopServices(services: readonly RunningService[], dirs: ProcessDirs): Promise<void> {
  // Deciders and appliers first (they are the latest started), the control plane last, so the
  // relay is still publishing while the regions leave their consumer groups.
  const byStage = [
    services.filter((s) => s.spec.name.includes("-decider-")),
    services.filter((s) => s.spec.name.endsWith("-applier")),
    services.filter((s) => !s.spec.name.includes("-decider-") && !s.spec.name.endsWith("-applier")),
  ];
  for (const stage of byStage) {
    await stopPids(
      stage.map((s) => s.pid),
      dirs.stateDir,
    );
    await Promise.all(stage.map((s) => s.exited));
    for (const s of stage) rmSync(join(dirs.runDir, `${s.spec.name}.pid`), { force: true });
  }
}

/** The last `lines` lines of a log file (for an error message). */
export function logTail(file: string, lines = 30): string {
  if (!existsSync(file)) return "";
  return readFileSync(file, "utf8")
    .split("\n")
    .slice(-lines - 1)
    .join("\n");
}
