import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { configDirOf } from "@gatehouse/sdk";
import type { Command } from "commander";
import { parse, stringify } from "ini";
import type { CliIo, GlobalOptions } from "../client.ts";
import { FlagValueError } from "../iam/flag-values.ts";

function readIni(path: string): Record<string, Record<string, unknown>> {
  try {
    return parse(readFileSync(path, "utf8")) as Record<string, Record<string, unknown>>;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return {};
    throw e;
  }
}

const ENDPOINT = /^[A-Za-z0-9.-]+:\d{1,5}$/;

function checkEndpoints(flag: string, value: string): string {
  const list = value.split(",").map((s) => s.trim());
  for (const e of list)
    if (!ENDPOINT.test(e))
      throw new FlagValueError(flag, `expected host:port[,host:port…], got ${JSON.stringify(value)}`);
  return list.join(",");
}

interface ConfigureOptions {
  accessKeyId?: string;
  secretAccessKey?: string;
  sessionToken?: string;
  endpointControlPlane?: string;
  endpoint: string[];
}

/**
 * `gatehouse configure`: writes a profile into `$GATEHOUSE_CONFIG_DIR` (`~/.gatehouse`), keys into
 * `credentials` (mode 0600) and the rest into `config`, keeping every other profile and setting.
 *
 * @example
 * gatehouse configure --profile demo --access-key-id AKIA… --secret-access-key … \
 *   --region us-east-1 --endpoint-control-plane 127.0.0.1:50051 --endpoint us-east-1=127.0.0.1:50061,127.0.0.1:50062
 */
export function registerConfigure(program: Command, io: CliIo): void {
  program
    .command("configure")
    .description("Write a profile (keys to credentials, region and endpoints to config)")
    .option("--access-key-id <id>")
    .option("--secret-access-key <secret>")
    .option("--session-token <token>")
    .option("--endpoint-control-plane <host:port>", "the control plane")
    .option(
      "--endpoint <region=host:port,…>",
      "a region's deciders, tried in turn (repeat per region)",
      (v: string, prev: string[] = []) => [...prev, v],
      [],
    )
    .action((opts: ConfigureOptions, command: Command) => {
      const global = command.optsWithGlobals() as GlobalOptions;
      const profile = global.profile ?? io.env.GATEHOUSE_PROFILE ?? "default";
      if (!/^[\w.-]+$/.test(profile))
        throw new FlagValueError("--profile", `not a usable profile name: ${JSON.stringify(profile)}`);
      const dir = configDirOf(io.env);
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      const written: string[] = [];

      const credentialsPath = join(dir, "credentials");
      const credentials = readIni(credentialsPath);
      const keys: Record<string, unknown> = { ...credentials[profile] };
      if (opts.accessKeyId !== undefined) keys.access_key_id = opts.accessKeyId;
      if (opts.secretAccessKey !== undefined) keys.secret_access_key = opts.secretAccessKey;
      if (opts.sessionToken !== undefined) keys.session_token = opts.sessionToken;
      if (opts.accessKeyId !== undefined || opts.secretAccessKey !== undefined || opts.sessionToken !== undefined) {
        credentials[profile] = keys;
        writeFileSync(credentialsPath, stringify(credentials), { mode: 0o600 });
        written.push(credentialsPath);
      }

      const configPath = join(dir, "config");
      const config = readIni(configPath);
      const section = profile === "default" ? "default" : `profile ${profile}`;
      const settings: Record<string, unknown> = { ...config[section] };
      if (global.region !== undefined) settings.region = global.region;
      if (opts.endpointControlPlane !== undefined) {
        settings.endpoint_control_plane = checkEndpoints("--endpoint-control-plane", opts.endpointControlPlane);
      }
      for (const entry of opts.endpoint) {
        const eq = entry.indexOf("=");
        if (eq <= 0)
          throw new FlagValueError(
            "--endpoint",
            `expected region=host:port[,host:port…], got ${JSON.stringify(entry)}`,
          );
        settings[`endpoint_${entry.slice(0, eq)}`] = checkEndpoints("--endpoint", entry.slice(eq + 1));
      }
      if (Object.keys(settings).length > 0) {
        config[section] = settings;
        writeFileSync(configPath, stringify(config), { mode: 0o600 });
        written.push(configPath);
      }
      if (written.length === 0) {
        throw new FlagValueError("--access-key-id", "nothing to write: give keys, --region or endpoints");
      }
      io.write(`${JSON.stringify({ Profile: profile, Wrote: written }, null, 4)}\n`);
    });
}
