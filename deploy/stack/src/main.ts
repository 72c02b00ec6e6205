// `./gw run stack` (up), `./gw run stack -- --detach`, `./gw run stack:down`, and `seed` (re-seed a
// running stack). The environment is read only in stack-config.ts and passed down from here.
import { mkdirSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { logTail, type RunningService, startService } from "./processes.ts";
import { formatStatusLine } from "./region-status.ts";
import { seedDemoAccount } from "./seed.ts";
import {
  allRegionFigures,
  controlPlaneRevision,
  devCredentials,
  infraDown,
  infraUp,
  processDirs,
  readyText,
  stackFiles,
  stackRunning,
  startStack,
  stopServices,
  stopStack,
  writeSupervisorPid,
} from "./stack.ts";
import { loadStackConfig, type StackConfig, withRegionCount } from "./stack-config.ts";

const USAGE = `usage: node deploy/stack/src/main.ts <command> [options]
  up [--detach] [--regions N]
                  infrastructure, control plane, regions, demo account; Ctrl-C stops it all
                  (--detach: leave it running in the background; stop it with 'down';
                  --regions N: N regions, three by default, each its own Redis, applier, deciders)
  down            stop a stack of this state dir (GATEHOUSE_STATE_DIR), and the infrastructure it started
  seed            seed the demo account into the running stack again (idempotent)
  credentials     create the development credentials (<state>/dev.env, mode 600) when missing and
                  print the file's path: \`docker compose --env-file <path> up\` runs on the same keys`;

const root = resolve(import.meta.dirname, "../../..");
const log = (line: string) => process.stderr.write(`${line}\n`);

async function up(config: StackConfig, detach: boolean): Promise<void> {
  if (stackRunning(config)) {
    throw new Error(`a stack of ${config.stateDir} runs already: stop it with ./gw run stack:down`);
  }
  const services: RunningService[] = [];
  let stopping: Promise<void> | undefined;
  let statusTimer: NodeJS.Timeout | undefined;
  const tty = process.stdout.isTTY === true;
  const stop = (code: number, why?: string) => {
    stopping ??= (async () => {
      if (statusTimer !== undefined) clearInterval(statusTimer);
      if (tty) process.stdout.write("\n");
      if (why !== undefined) log(why);
      log("stack: stopping");
      await stopServices(services, processDirs(config));
      infraDown(config);
      rmSync(stackFiles(config).supervisorPid, { force: true });
      log("stack: stopped");
      process.exit(code);
    })();
    return stopping;
  };
  if (!detach) {
    writeSupervisorPid(config);
    for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) process.on(signal, () => void stop(0));
  }

  const infra = infraUp(config);
  // infra.env names the servers infra.sh brought up; GATEHOUSE_PG_URL from the environment wins
  // (a database of one's own on the same server), and so do the services' other settings.
  const settings: Record<string, string> = {
    ...(Object.fromEntries(Object.entries(process.env).filter((e) => e[1] !== undefined)) as Record<string, string>),
    ...infra,
    ...devCredentials(config),
    ...(process.env.GATEHOUSE_PG_URL === undefined ? {} : { GATEHOUSE_PG_URL: process.env.GATEHOUSE_PG_URL }),
  };
  let started: Awaited<ReturnType<typeof startStack>>;
  try {
    started = await startStack(config, settings, log, (s) => services.push(s));
  } catch (e) {
    if (stopping === undefined) {
      await stop(1, `stack: ${(e as Error).message}`);
    }
    return;
  }
  process.stdout.write(readyText(config, started.seed, detach));
  if (detach) {
    for (const s of services) s.child.unref();
    process.exit(0);
  }

  // An applier whose Redis lost its data exits 75 to be restarted (a new view generation
  // rebuilds it from the topic); any other exit stops the stack.
  const watch = (s: RunningService) => {
    void s.exited.then((code) => {
      if (stopping !== undefined) return;
      if (code === 75) {
        log(`stack: ${s.spec.name} exited 75 (its Redis view was lost): restarting it`);
        const again = startService(processDirs(config), s.spec);
        services.splice(services.indexOf(s), 1, again);
        watch(again);
        return;
      }
      void stop(1, `stack: ${s.spec.name} exited (${code}); last lines of ${s.logFile}:\n${logTail(s.logFile)}`);
    });
  };
  services.forEach(watch);

  let lastPrinted = 0;
  const status = async () => {
    const [cp, figures] = await Promise.all([
      controlPlaneRevision(config, started.operator, started.seed.accountId),
      allRegionFigures(config, started.seed.accountId),
    ]);
    if (stopping !== undefined) return;
    const line = `${new Date().toISOString().slice(11, 19)} ${formatStatusLine(cp, figures)}`;
    if (tty) process.stdout.write(`\r\x1b[K${line}`);
    else if (Date.now() - lastPrinted >= config.statusIntervalMs) {
      lastPrinted = Date.now();
      process.stdout.write(`${line}\n`);
    }
  };
  let busy = false;
  statusTimer = setInterval(() => {
    if (busy) return;
    busy = true;
    status().finally(() => {
      busy = false;
    });
  }, 1000);
}

async function seed(config: StackConfig): Promise<void> {
  const settings = devCredentials(config);
  const region = config.regions[0]?.name ?? "us-east-1";
  const result = await seedDemoAccount({
    controlPlane: config.controlPlane,
    signingRegion: region,
    operator: {
      accessKeyId: settings.GATEHOUSE_OPERATOR_ACCESS_KEY_ID ?? "",
      secretAccessKey: settings.GATEHOUSE_OPERATOR_SECRET_ACCESS_KEY ?? "",
    },
    accountFile: stackFiles(config).account,
    configDir: config.configDir,
    profile: config.profile,
    profileSettings: {
      region,
      controlPlane: config.controlPlane,
      regions: Object.fromEntries(config.regions.map((r) => [r.name, r.deciders])),
    },
    log,
  });
  // One JSON line: what was created, the revision and the profile's key id (never its secret).
  process.stdout.write(
    `${JSON.stringify({
      accountId: result.accountId,
      revision: result.revision,
      created: result.created,
      accessKeyId: result.accessKeyId,
      adminArn: result.adminArn,
      developerArn: result.developerArn,
    })}\n`,
  );
}

/** Writes `<state>/dev.env` when missing (never printing a value) and prints its path. */
function credentials(config: StackConfig): void {
  mkdirSync(config.stateDir, { recursive: true, mode: 0o700 });
  devCredentials(config);
  process.stdout.write(`${join(config.stateDir, "dev.env")}\n`);
}

const { positionals, values } = parseArgs({
  args: process.argv.slice(2),
  allowPositionals: true,
  options: {
    detach: { type: "boolean", default: false },
    regions: { type: "string" },
    help: { type: "boolean", short: "h", default: false },
  },
});
const command = positionals[0] ?? "up";
if (values.help || !["up", "down", "seed", "credentials"].includes(command) || positionals.length > 1) {
  log(USAGE);
  process.exit(values.help ? 0 : 2);
}
try {
  const env = values.regions === undefined ? process.env : withRegionCount(process.env, Number(values.regions), root);
  const config = loadStackConfig(env, root);
  if (command === "up") await up(config, values.detach);
  else if (command === "down") await stopStack(config, log);
  else if (command === "credentials") credentials(config);
  else await seed(config);
} catch (e) {
  log(`stack: ${(e as Error).message}`);
  process.exit(1);
}
