import { readFileSync } from "node:fs";
import { homedir } from "node:os";
import { isAbsolute, join, resolve } from "node:path";
import { z } from "zod";

const port = z.coerce.number().int().min(1).max(65_535);

/**
 * The stack's own settings. Unknown `GATEHOUSE_STACK_*` variables are refused so a typo fails at
 * start; the services' own variables (`GATEHOUSE_PG_SCHEMA`, `GATEHOUSE_CHANGES_TOPIC`, …) pass
 * through the environment to them untouched.
 */
const EnvSchema = z.object({
  /** Where infra.sh and the stack keep pid files, logs, data; shared with `deploy/local/infra.sh`. */
  GATEHOUSE_STATE_DIR: z.string().min(1).optional(),
  /** Where the demo profile's `credentials` and `config` files go (the CLI's and SDK's default). */
  GATEHOUSE_CONFIG_DIR: z.string().min(1).optional(),
  GATEHOUSE_REGIONS: z
    .string()
    .transform((s) => s.split(",").map((r) => r.trim()))
    .pipe(z.array(z.string().regex(/^[a-z0-9][a-z0-9-]*$/, "each region must be a name like us-east-1")).min(1))
    .optional(),
  /** The address every service listens on and the profile names. */
  GATEHOUSE_STACK_HOST: z
    .string()
    .regex(/^[^\s:,]+$/, "must be a host name or IPv4 address")
    .default("127.0.0.1"),
  GATEHOUSE_STACK_CP_PORT: port.default(50_051),
  /** The console gateway's port; default the control plane's + 29 (50080). */
  GATEHOUSE_STACK_CONSOLE_PORT: port.optional(),
  /** First decider port: region i's decider j listens on base + i × deciders + j. */
  GATEHOUSE_STACK_REGION_BASE_PORT: port.default(50_061),
  GATEHOUSE_STACK_DECIDERS: z.coerce.number().int().min(1).max(16).default(2),
  /** The profile the demo account's access key is written under. */
  GATEHOUSE_STACK_PROFILE: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,64}$/, "must be 1-64 of [A-Za-z0-9_-]")
    .default("demo"),
  /** Seconds between status lines when stdout is not a terminal (a terminal gets one line, redrawn). */
  GATEHOUSE_STACK_STATUS_INTERVAL: z.coerce.number().int().min(1).max(3600).default(30),
});

/** One region of the stack: its decider endpoints. */
export interface StackRegion {
  readonly name: string;
  /** `host:port` of each decider process, in order. */
  readonly deciders: readonly string[];
}

/** The stack's validated, frozen configuration. */
export interface StackConfig {
  /** The repository root (where `deploy/` and `services/` are). */
  readonly root: string;
  readonly stateDir: string;
  /** `<stateDir>/stack`: the stack's pid files, seed state, and the infra ownership mark. */
  readonly stackDir: string;
  readonly logDir: string;
  readonly configDir: string;
  readonly host: string;
  readonly controlPlane: string;
  /** `host:port` of the console gateway (`services/console`). */
  readonly console: string;
  readonly regions: readonly StackRegion[];
  readonly profile: string;
  readonly statusIntervalMs: number;
}

/** The regions of `deploy/local/defaults.json` (the same list infra.sh starts a Redis for). */
function defaultRegions(root: string): string[] {
  const defaults = JSON.parse(readFileSync(join(root, "deploy/local/defaults.json"), "utf8")) as {
    redis: { regions: string[] };
  };
  return defaults.redis.regions;
}

/**
 * Regions beyond the defaults, in the order `--regions N` adds them (real AWS region names, so
 * ARNs and `aws:RequestedRegion` conditions look as they would in a deployment).
 */
const MORE_REGIONS = [
  "us-west-2",
  "eu-central-1",
  "ap-northeast-1",
  "sa-east-1",
  "ca-central-1",
  "ap-south-1",
  "eu-north-1",
  "us-east-2",
  "us-west-1",
  "eu-west-2",
  "ap-northeast-2",
  "ap-southeast-2",
  "eu-west-3",
] as const;

/**
 * The names of `n` regions: `deploy/local/defaults.json`'s (three), then {@link MORE_REGIONS}.
 * `--regions N` of `./gw run stack` and of the load-test harness turns into `GATEHOUSE_REGIONS`
 * with these names, so infra.sh starts one Redis per region (base port + i).
 * @example
 * regionNames(4, root) // ["us-east-1", "eu-west-1", "ap-southeast-1", "us-west-2"]
 */
export function regionNames(n: number, root: string): string[] {
  const all = [...defaultRegions(root), ...MORE_REGIONS.filter((r) => !defaultRegions(root).includes(r))];
  if (!Number.isInteger(n) || n < 1 || n > all.length) {
    throw new Error(`--regions: expected a whole number from 1 to ${all.length}, got ${String(n)}`);
  }
  return all.slice(0, n);
}

/**
 * `env` with `GATEHOUSE_REGIONS` set to `n` regions ({@link regionNames}); refuses a
 * `GATEHOUSE_REGIONS` already set to a different list (which one was meant is unclear).
 */
export function withRegionCount(
  env: Readonly<Record<string, string | undefined>>,
  n: number,
  root: string,
): Record<string, string | undefined> {
  const names = regionNames(n, root).join(",");
  const given = env.GATEHOUSE_REGIONS;
  if (
    given !== undefined &&
    given
      .split(",")
      .map((r) => r.trim())
      .join(",") !== names
  ) {
    throw new Error(`--regions ${n} means GATEHOUSE_REGIONS=${names}, but GATEHOUSE_REGIONS=${given} is set`);
  }
  return { ...env, GATEHOUSE_REGIONS: names };
}

/**
 * Reads the stack's settings from `env` (only here). Throws one error listing every bad setting
 * with its value.
 * @example
 * const config = loadStackConfig(process.env, repositoryRoot);
 */
export function loadStackConfig(env: Readonly<Record<string, string | undefined>>, root: string): StackConfig {
  const known = new Set(Object.keys(EnvSchema.shape));
  const unknown = Object.keys(env).filter((k) => k.startsWith("GATEHOUSE_STACK_") && !known.has(k));
  if (unknown.length > 0) throw new Error(`unknown stack settings: ${unknown.join(", ")}`);
  const picked = Object.fromEntries([...known].filter((k) => env[k] !== undefined).map((k) => [k, env[k]]));
  const parsed = EnvSchema.safeParse(picked);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => {
      const key = String(i.path[0] ?? "");
      return `${key}=${JSON.stringify(env[key])}: ${i.message}`;
    });
    throw new Error(`invalid stack configuration:\n  ${lines.join("\n  ")}`);
  }
  const e = parsed.data;
  const stateDir = resolve(root, e.GATEHOUSE_STATE_DIR ?? ".gatehouse");
  const configDir = e.GATEHOUSE_CONFIG_DIR ?? join(homedir(), ".gatehouse");
  const names = e.GATEHOUSE_REGIONS ?? defaultRegions(root);
  const host = e.GATEHOUSE_STACK_HOST;
  const regions = names.map((name, i) =>
    Object.freeze({
      name,
      deciders: Object.freeze(
        Array.from(
          { length: e.GATEHOUSE_STACK_DECIDERS },
          (_, j) => `${host}:${e.GATEHOUSE_STACK_REGION_BASE_PORT + i * e.GATEHOUSE_STACK_DECIDERS + j}`,
        ),
      ),
    }),
  );
  const lastPort = e.GATEHOUSE_STACK_REGION_BASE_PORT + names.length * e.GATEHOUSE_STACK_DECIDERS - 1;
  if (lastPort > 65_535) {
    throw new Error(
      `invalid stack configuration:\n  GATEHOUSE_STACK_REGION_BASE_PORT: the last decider port ${lastPort} is above 65535`,
    );
  }
  const cpPort = e.GATEHOUSE_STACK_CP_PORT;
  if (cpPort >= e.GATEHOUSE_STACK_REGION_BASE_PORT && cpPort <= lastPort) {
    throw new Error(
      `invalid stack configuration:\n  GATEHOUSE_STACK_CP_PORT=${cpPort}: inside the deciders' ports ${e.GATEHOUSE_STACK_REGION_BASE_PORT}-${lastPort}`,
    );
  }
  const consolePort = e.GATEHOUSE_STACK_CONSOLE_PORT ?? cpPort + 29;
  if (consolePort === cpPort || (consolePort >= e.GATEHOUSE_STACK_REGION_BASE_PORT && consolePort <= lastPort)) {
    throw new Error(
      `invalid stack configuration:\n  GATEHOUSE_STACK_CONSOLE_PORT=${consolePort}: taken by the control plane or a decider`,
    );
  }
  return Object.freeze({
    root,
    stateDir,
    stackDir: join(stateDir, "stack"),
    logDir: join(stateDir, "logs"),
    configDir: isAbsolute(configDir) ? configDir : resolve(configDir),
    host,
    controlPlane: `${host}:${cpPort}`,
    console: `${host}:${consolePort}`,
    regions: Object.freeze(regions),
    profile: e.GATEHOUSE_STACK_PROFILE,
    statusIntervalMs: e.GATEHOUSE_STACK_STATUS_INTERVAL * 1000,
  });
}
