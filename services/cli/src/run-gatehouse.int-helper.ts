// The `gatehouse` executable run as a process by the CLI's tests, exactly as `npx gatehouse` runs
// it (bash launcher → node main.ts): one place for spawning it and collecting what it printed.
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

/** The real executable. */
export const GATEHOUSE_BIN = fileURLToPath(new URL("../bin/gatehouse", import.meta.url));

/** How a run ended and what it printed. */
export interface ProcessRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** A `gatehouse` run, its stdout parsed when it is JSON (else undefined). */
export interface GatehouseRun extends ProcessRun {
  // biome-ignore lint/suspicious/noExplicitAny: tests read whatever JSON a command printed
  json: any;
}

/** The machine's PATH and HOME only: no GATEHOUSE_* of the machine leaks into a run. */
export const baseEnv = (): Record<string, string> => ({ PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "" });

/**
 * Runs `command` to its end and collects its output; `stdin` is written and closed (empty by
 * default). Without `env` the child inherits this process's environment.
 */
export function runProcess(
  command: string,
  args: readonly string[],
  options: { env?: Record<string, string>; stdin?: string } = {},
): Promise<ProcessRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      stdio: ["pipe", "pipe", "pipe"],
      ...(options.env === undefined ? {} : { env: options.env }),
    });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => {
      stdout += d;
    });
    child.stderr.setEncoding("utf8").on("data", (d: string) => {
      stderr += d;
    });
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(options.stdin ?? "");
  });
}

/** Runs `gatehouse args` with only `env` (and {@link baseEnv}); parses stdout when it is JSON. */
export async function runGatehouse(args: readonly string[], env: Record<string, string>): Promise<GatehouseRun> {
  const run = await runProcess(GATEHOUSE_BIN, args, { env: { ...baseEnv(), ...env } });
  let json: unknown;
  try {
    json = JSON.parse(run.stdout);
  } catch {
    json = undefined;
  }
  return { ...run, json };
}
