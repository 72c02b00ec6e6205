/**
 * The fault drills' hold on the stack's processes: kill -9 one, start it again with the same
 * settings, restart an applier that exits 75 (its Redis lost the view, as `./gw run stack` does),
 * and the infrastructure commands (`deploy/local/infra.sh down|up <component>`) run without
 * blocking the event loop, so writes and checks go on while the broker stops and starts.
 */
import { spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parseEnv } from "node:util";
import { processDirs, type RunningService, startService } from "@gatehouse/stack";
import type { SystemUnderTest } from "./system.ts";

/** A process's exit the drills did not cause. */
export interface UnexpectedExit {
  readonly name: string;
  readonly code: number | string;
  readonly atMs: number;
}

/** Controls over a stack the harness started. */
export interface Supervisor {
  /** The running process of that name (the latest, after restarts). */
  service(name: string): RunningService;
  /** SIGKILL to the process (its group), resolved once it exited. */
  kill9(name: string): Promise<void>;
  /** Starts the process of that name again, with its original settings. */
  restart(name: string): RunningService;
  /** `infra.sh <args>` for the stack's state dir, asynchronously; rejects on a non-zero exit. */
  infra(args: readonly string[]): Promise<void>;
  /** The infrastructure components the stack started itself (and so may stop). */
  ownedInfra(): Set<string>;
  /** infra.env's settings (the servers' addresses). */
  infraEnv(): Record<string, string>;
  /** Exits nobody asked for (an applier's 75 included), in order. */
  readonly unexpected: UnexpectedExit[];
  /** Stops watching (before the stack is stopped). */
  release(): void;
}

/** Watches the system's processes; `log` reports restarts. */
export function supervise(system: SystemUnderTest, log: (line: string) => void): Supervisor {
  if (system.attached) throw new Error("the fault drills need a stack the harness started");
  const dirs = processDirs(system.config);
  const expected = new Set<number>();
  const unexpected: UnexpectedExit[] = [];
  let released = false;
  const replace = (old: RunningService, spec: RunningService["spec"]) => {
    const again = startService(dirs, spec);
    const i = system.services.indexOf(old);
    if (i >= 0) system.services.splice(i, 1, again);
    else system.services.push(again);
    watch(again);
    return again;
  };
  const watch = (s: RunningService) => {
    void s.exited.then((code) => {
      if (released || expected.has(s.pid)) return;
      unexpected.push({ name: s.spec.name, code, atMs: Date.now() });
      if (code === 75) {
        log(`faults: ${s.spec.name} exited 75 (its Redis lost the view): restarting it`);
      } else {
        log(`faults: ${s.spec.name} exited (${code}) unasked: restarting it`);
      }
      replace(s, s.spec);
    });
  };
  system.services.forEach(watch);
  const find = (name: string) => {
    const s = system.services.find((x) => x.spec.name === name);
    if (s === undefined) throw new Error(`no process named ${name}`);
    return s;
  };
  return {
    service: find,
    async kill9(name) {
      const s = find(name);
      expected.add(s.pid);
      try {
        process.kill(-s.pid, "SIGKILL");
      } catch {
        s.child.kill("SIGKILL");
      }
      await s.exited;
    },
    restart(name) {
      const s = find(name);
      return replace(s, s.spec);
    },
    infra(args) {
      return new Promise((resolve, reject) => {
        const child = spawn("bash", [join(system.config.root, "deploy/local/infra.sh"), ...args], {
          cwd: system.config.root,
          env: {
            ...process.env,
            GATEHOUSE_STATE_DIR: system.config.stateDir,
            GATEHOUSE_STACK_DIR: system.config.stateDir,
          },
          stdio: ["ignore", "ignore", "pipe"],
        });
        let err = "";
        child.stderr.on("data", (b: Buffer) => {
          err += b.toString();
        });
        child.once("exit", (code) =>
          code === 0 ? resolve() : reject(new Error(`infra.sh ${args.join(" ")} exited ${code}:\n${err}`)),
        );
      });
    },
    ownedInfra() {
      const file = join(system.config.stackDir, "owned-infra");
      return new Set(existsSync(file) ? readFileSync(file, "utf8").split("\n").filter(Boolean) : []);
    },
    infraEnv() {
      const env = parseEnv(readFileSync(join(system.config.stateDir, "infra.env"), "utf8"));
      return Object.fromEntries(Object.entries(env).filter((e): e is [string, string] => e[1] !== undefined));
    },
    unexpected,
    release() {
      released = true;
    },
  };
}
