/**
 * The system under test: a running `./gw run stack` of this state dir (attached to), or a stack
 * the harness starts itself through `@gatehouse/stack` and stops at the end.
 */
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseEnv } from "node:util";
import type { Credentials } from "@gatehouse/auth";
import {
  devCredentials,
  infraDown,
  infraUp,
  loadStackConfig,
  processDirs,
  type RunningService,
  type StackConfig,
  type StackRegion,
  stackRunning,
  startStack,
  stopServices,
} from "@gatehouse/stack";

/** Where the system answers and the operator credential that creates accounts and exports them. */
export interface SystemEndpoints {
  readonly controlPlane: string;
  readonly regions: readonly StackRegion[];
  readonly operator: Credentials;
}

/** A system in use; `stop` stops what the harness started (nothing when it attached). */
export interface SystemUnderTest extends SystemEndpoints {
  readonly attached: boolean;
  /** Where the stack's pid files are (`<name>.pid`: each region's applier and deciders). */
  readonly runDir: string;
  /** The processes the harness started (a restarted one replaces its predecessor). */
  readonly services: RunningService[];
  readonly config: StackConfig;
  /** Where a stack the harness started keeps its data (absent when it attached). */
  readonly data?: { readonly postgresUrl: string; readonly brokers: readonly string[] };
  stop(): Promise<void>;
}

/** How to open the system. */
export interface OpenOptions {
  /** False: never attach to a running stack (the fault drills own every process they kill). */
  readonly attach?: boolean;
  /** Settings added to one region's processes, by region name. */
  readonly regionSettings?: Readonly<Record<string, Readonly<Record<string, string>>>>;
}

const root = resolve(import.meta.dirname, "../../..");

/**
 * Attaches to the stack of `env`'s state dir when one runs, else starts one with `env`'s settings
 * (`GATEHOUSE_STATE_DIR`, `GATEHOUSE_STACK_*` ports, `GATEHOUSE_PG_SCHEMA`, …).
 */
export async function openSystem(
  env: Readonly<Record<string, string | undefined>>,
  log: (line: string) => void,
  options: OpenOptions = {},
): Promise<SystemUnderTest> {
  const config: StackConfig = loadStackConfig(env, root);
  mkdirSync(config.stateDir, { recursive: true });
  const creds = devCredentials(config);
  const operator = {
    accessKeyId: creds.GATEHOUSE_OPERATOR_ACCESS_KEY_ID ?? "",
    secretAccessKey: creds.GATEHOUSE_OPERATOR_SECRET_ACCESS_KEY ?? "",
  };
  const runDir = join(config.stackDir, "run");
  const endpoints = { controlPlane: config.controlPlane, regions: config.regions, operator, runDir };
  if (stackRunning(config)) {
    if (options.attach === false) {
      throw new Error(`a stack of ${config.stateDir} runs already: this scenario needs a stack of its own`);
    }
    // The running stack's regions are those its infra.sh run started a Redis for.
    const infraEnv = join(config.stateDir, "infra.env");
    const running = existsSync(infraEnv) ? parseEnv(readFileSync(infraEnv, "utf8")).GATEHOUSE_REGIONS : undefined;
    const wanted = config.regions.map((r) => r.name).join(",");
    if (running !== undefined && running !== wanted) {
      throw new Error(
        `the stack of ${config.stateDir} runs regions ${running}, not ${wanted}: stop it (./gw run stack:down) or ask for its regions`,
      );
    }
    log(`loadtest: attached to the stack of ${config.stateDir} (control plane ${config.controlPlane})`);
    return { ...endpoints, attached: true, services: [], config, stop: async () => {} };
  }
  log(`loadtest: starting a stack in ${config.stateDir}`);
  const infra = infraUp(config);
  const settings: Record<string, string> = {
    ...(Object.fromEntries(Object.entries(env).filter((e) => e[1] !== undefined)) as Record<string, string>),
    ...infra,
    ...creds,
    ...(env.GATEHOUSE_PG_URL === undefined ? {} : { GATEHOUSE_PG_URL: env.GATEHOUSE_PG_URL }),
  };
  const services: RunningService[] = [];
  try {
    await startStack(config, settings, log, (s) => services.push(s), options.regionSettings);
  } catch (e) {
    infraDown(config);
    throw e;
  }
  let stopped = false;
  return {
    ...endpoints,
    attached: false,
    services,
    config,
    data: {
      postgresUrl: settings.GATEHOUSE_PG_URL ?? "",
      brokers: (settings.GATEHOUSE_KAFKA_BROKERS ?? "").split(",").filter((b) => b !== ""),
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      await stopServices(services, processDirs(config));
      infraDown(config);
    },
  };
}
