import { type Env, Gatehouse } from "@gatehouse/sdk";
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
}

/** Which service a command talks to, so `--endpoint-url` replaces the right endpoint. */
export type Target = "control-plane" | "region";

/** Where the CLI reads its environment and writes its output (the process's, or a test's). */
export interface CliIo {
  readonly env: Env;
  write(text: string): void;
}

/** A client for a command, from the global options and the environment. */
export function clientFor(command: Command, io: CliIo, target: Target): { gh: Gatehouse; options: GlobalOptions } {
  const options = command.optsWithGlobals() as GlobalOptions;
  const endpoint = options.endpointUrl?.replace(/^[a-z]+:\/\//, "");
  const gh = new Gatehouse({
    env: io.env,
    ...(options.profile === undefined ? {} : { profile: options.profile }),
    ...(options.region === undefined ? {} : { region: options.region }),
    ...(endpoint === undefined
      ? {}
      : target === "control-plane"
        ? { endpoints: { controlPlane: endpoint } }
        : { endpoints: { regions: { [regionOf(options, io.env)]: [endpoint] } } }),
  });
  return { gh, options };
}

/** The region a `--endpoint-url` for a region command stands for. */
function regionOf(options: GlobalOptions, env: Env): string {
  return options.region ?? env.GATEHOUSE_REGION ?? "us-east-1";
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
