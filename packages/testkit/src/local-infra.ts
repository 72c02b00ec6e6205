import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { parseEnv } from "node:util";
import { parseBrokers, parsePostgresUrl, parseRedisUrls, type RegionRedis } from "./infra-settings.ts";

/** What `deploy/local/infra.sh up` reports in .gatehouse/infra.env, parsed. */
export interface LocalInfra {
  readonly postgresUrl: string;
  readonly kafkaBrokers: string[];
  readonly redis: RegionRedis[];
}

const UP_TIMEOUT_MS = 5 * 60_000;

/**
 * Runs `bash deploy/local/infra.sh ARGS…` from the repository root with `env`, stopping it after
 * `timeoutMs`. With `output: "inherit"` its progress shows as it goes; with `"capture"` it is kept
 * and put in the error when the script fails.
 *
 * @throws Error with the exit status (and the captured output) when infra.sh fails or times out.
 */
export async function runInfraScript(
  root: string,
  args: readonly string[],
  options: { env: NodeJS.ProcessEnv; timeoutMs: number; output: "inherit" | "capture" },
): Promise<void> {
  const script = `${root}/deploy/local/infra.sh`;
  const { env, timeoutMs, output } = options;
  const captured: string[] = [];
  await new Promise<void>((resolve, reject) => {
    const child = spawn("bash", [script, ...args], {
      cwd: root,
      env,
      stdio: output === "inherit" ? ["ignore", "inherit", "inherit"] : ["ignore", "pipe", "pipe"],
    });
    child.stdout?.on("data", (chunk: Buffer) => captured.push(chunk.toString()));
    child.stderr?.on("data", (chunk: Buffer) => captured.push(chunk.toString()));
    const timer = setTimeout(() => child.kill("SIGTERM"), timeoutMs);
    child.on("error", (error) => {
      clearTimeout(timer);
      reject(new Error(`could not run ${script}: ${error.message}`, { cause: error }));
    });
    child.on("exit", (code, signal) => {
      clearTimeout(timer);
      if (code === 0) return resolve();
      const why = signal === null ? `exit ${code}` : `${signal}, after ${timeoutMs} ms at most`;
      const shown = output === "inherit" ? "its output is above" : `output:\n${captured.join("").trimEnd()}`;
      reject(new Error(`infra.sh ${args.join(" ")} failed (${why}); ${shown}`));
    });
  });
}

/**
 * Runs `bash deploy/local/infra.sh up` (a no-op when the stack is up; a cold first start resolves
 * Kafka from Maven Central) and reads the env file it writes. Its progress goes to stderr.
 *
 * @throws Error with the exit status when infra.sh fails or outlives {@link UP_TIMEOUT_MS}.
 */
export async function startLocalInfra(root: string, env: NodeJS.ProcessEnv): Promise<LocalInfra> {
  await runInfraScript(root, ["up"], { env, timeoutMs: UP_TIMEOUT_MS, output: "inherit" });
  return readLocalInfraEnv(`${root}/.gatehouse/infra.env`);
}

/** Parses .gatehouse/infra.env (KEY=value lines, see deploy/local/infra.sh). */
export function readLocalInfraEnv(file: string): LocalInfra {
  const values = parseEnv(readFileSync(file, "utf8"));
  const need = (key: string): string => {
    const value = values[key];
    if (value === undefined || value === "") throw new Error(`${file} has no ${key}; rerun deploy/local/infra.sh up`);
    return value;
  };
  const regions = need("GATEHOUSE_REGIONS").split(",");
  return {
    postgresUrl: parsePostgresUrl(need("GATEHOUSE_PG_TEST_URL"), `${file}: GATEHOUSE_PG_TEST_URL`),
    kafkaBrokers: parseBrokers(need("GATEHOUSE_KAFKA_BROKERS"), `${file}: GATEHOUSE_KAFKA_BROKERS`),
    redis: parseRedisUrls(need("GATEHOUSE_REDIS_URLS"), regions, `${file}: GATEHOUSE_REDIS_URLS`),
  };
}
