// A region as a real child process (`main.ts --role …`) for integration tests that need processes:
// signals, several deciders over one view, a process outliving the control plane.
import { type ChildProcess, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

const main = fileURLToPath(new URL("./main.ts", import.meta.url));
const firstTestRedis = process.env.GATEHOUSE_TEST_REDIS_URLS?.split(",")[0]?.split("=")[1] ?? "redis://127.0.0.1:6380";

/** A started region process. */
export interface RegionProcess {
  readonly child: ChildProcess;
  /** The "region started" log line's port (a decider's), else its healthPort (an applier's). */
  readonly port: Promise<number>;
  readonly exited: Promise<number | null>;
}

/**
 * Starts `main.ts --role <role>` with `env` over defaults (us-east-1, the first test Redis, an
 * ephemeral listen port, info logs). Its log lines at `echoLevel` or above (pino levels; 40 warn,
 * 50 error) are copied to stderr; `port` rejects if it exits before it started.
 */
export function startRegionProcess(
  role: "applier" | "decider" | "all",
  env: Record<string, string>,
  echoLevel = 50,
): RegionProcess {
  const child = spawn(process.execPath, [main, "--role", role], {
    env: {
      ...process.env,
      GATEHOUSE_REGION: "us-east-1",
      GATEHOUSE_REGION_REDIS_URL: firstTestRedis,
      GATEHOUSE_REGION_LISTEN: "127.0.0.1:0",
      GATEHOUSE_LOG_LEVEL: "info",
      ...env,
    },
    stdio: ["ignore", "pipe", "inherit"],
  });
  const port = new Promise<number>((resolve, reject) => {
    let buffered = "";
    child.stdout?.on("data", (chunk: Buffer) => {
      buffered += chunk.toString();
      for (let nl = buffered.indexOf("\n"); nl >= 0; nl = buffered.indexOf("\n")) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        let entry: { msg?: string; port?: number; healthPort?: number; level?: number };
        try {
          entry = JSON.parse(line) as typeof entry;
        } catch {
          continue; // not a log line
        }
        if (entry.msg === "region started") resolve(entry.port ?? entry.healthPort ?? 0);
        if ((entry.level ?? 0) >= echoLevel) process.stderr.write(`${line}\n`);
      }
    });
    child.once("exit", (code) => reject(new Error(`region ${role} exited with ${code} before it started`)));
  });
  port.catch(() => {}); // awaited where needed; a process stopped before it logged is not an error then
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  return { child, port, exited };
}
