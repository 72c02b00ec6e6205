import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  type CredentialCache,
  configDirOf,
  type Env,
  type ExpiringCredentials,
  Gatehouse,
  GatehouseConfigError,
  resolveClientConfig,
} from "@gatehouse/sdk";
import type { Command } from "commander";
import { search } from "jmespath";
import { FlagValueError } from "./iam/flag-values.ts";
import { type OutputFormat, render } from "./output.ts";

/** The options every service command takes (`gatehouse [--profile p] [--region r] … iam …`). */
export interface GlobalOptions {
  profile?: string;
  region?: string;
  endpointUrl?: string;
  output: OutputFormat;
  /** A JMESPath expression applied to the result before it is printed, as the AWS CLI's `--query`. */
  query?: string;
  /** The MFA code for a role profile with `mfa_serial` (else asked on a terminal). */
  mfaCode?: string;
}

/** Which service a command talks to, so `--endpoint-url` replaces the right endpoint. */
export type Target = "control-plane" | "region";

/** Where the CLI reads its environment and writes its output (the process's, or a test's). */
export interface CliIo {
  readonly env: Env;
  write(text: string): void;
  /**
   * Asks the person at the terminal (the question on stderr, the answer from stdin); absent when
   * stdin or stderr is not a terminal, so nothing ever waits for an answer that cannot come.
   */
  readonly prompt?: (question: string) => Promise<string>;
}

/** A client for a command, from the global options and the environment. */
export function clientFor(command: Command, io: CliIo, target: Target): { gh: Gatehouse; options: GlobalOptions } {
  const options = command.optsWithGlobals() as GlobalOptions;
  const endpoint = options.endpointUrl?.replace(/^[a-z]+:\/\//, "");
  const profile = options.profile === undefined ? {} : { profile: options.profile };
  // `--endpoint-url` of a region command stands for the region the command goes to: the one
  // --region, GATEHOUSE_REGION or the profile names (us-east-1 when none does).
  const region =
    endpoint !== undefined && target === "region"
      ? (options.region ?? resolveClientConfig({ env: io.env, ...profile }).region ?? "us-east-1")
      : options.region;
  const gh = new Gatehouse({
    env: io.env,
    ...profile,
    assumeRole: { mfaCodeProvider: (serial) => mfaCode(io, options, serial), cache: fileCache(io.env) },
    ...(region === undefined ? {} : { region }),
    ...(endpoint === undefined
      ? {}
      : target === "control-plane"
        ? { endpoints: { controlPlane: endpoint } }
        : { endpoints: { regions: { [region ?? "us-east-1"]: [endpoint] } } }),
  });
  return { gh, options };
}

/**
 * Role credentials kept between commands in `$GATEHOUSE_CONFIG_DIR/cli/cache/<key>.json` (mode
 * 0600, as the AWS CLI keeps them in `~/.aws/cli/cache`), so a role profile with MFA asks for a
 * code once per session, not at every command. A file that does not parse is ignored.
 */
function fileCache(env: Env): CredentialCache {
  const dir = join(configDirOf(env), "cli", "cache");
  return {
    get(key) {
      try {
        const c = JSON.parse(readFileSync(join(dir, `${key}.json`), "utf8")) as Partial<ExpiringCredentials>;
        if (
          typeof c.accessKeyId !== "string" ||
          typeof c.secretAccessKey !== "string" ||
          typeof c.sessionToken !== "string" ||
          typeof c.expiresAtMs !== "number"
        ) {
          return undefined;
        }
        return {
          accessKeyId: c.accessKeyId,
          secretAccessKey: c.secretAccessKey,
          sessionToken: c.sessionToken,
          expiresAtMs: c.expiresAtMs,
        };
      } catch {
        return undefined;
      }
    },
    set(key, credentials) {
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      writeFileSync(join(dir, `${key}.json`), JSON.stringify(credentials), { mode: 0o600 });
    },
  };
}

/** The code for a role profile's MFA device: `--mfa-code`, else asked on a terminal, as the AWS CLI does. */
async function mfaCode(io: CliIo, options: GlobalOptions, serial: string): Promise<string> {
  if (options.mfaCode !== undefined) return options.mfaCode;
  if (io.prompt === undefined) {
    throw new GatehouseConfigError(
      `the profile's role needs a code from the MFA device ${serial}, and this is not a terminal to ask on`,
      "pass --mfa-code 123456",
    );
  }
  return io.prompt(`Enter MFA code for ${serial}: `);
}

/** Prints a result in the command's `--output` format. */
export function print(io: CliIo, options: GlobalOptions, value: unknown): void {
  let result = value;
  if (options.query !== undefined) {
    try {
      result = search(value as Parameters<typeof search>[0], options.query);
    } catch (e) {
      throw new FlagValueError("--query", `not a JMESPath expression: ${(e as Error).message}`);
    }
  }
  io.write(render(result ?? null, options.output));
}
