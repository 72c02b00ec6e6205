import { createInterface } from "node:readline/promises";
import { Command, Option } from "commander";
import type { CliIo } from "./client.ts";
import { registerCompletion } from "./commands/completion.ts";
import { registerConfigure } from "./commands/configure.ts";
import { addLazyGroup, addLazyHelpCommand, type LazyGroup } from "./lazy-group.ts";
import { outputFormats } from "./output.ts";

/** The process's environment and stdout, with a prompt when stdin and stderr are terminals. */
export function processIo(): CliIo {
  const interactive = process.stdin.isTTY === true && process.stderr.isTTY === true;
  return {
    env: process.env,
    write: (text) => void process.stdout.write(text),
    ...(interactive
      ? {
          prompt: async (question: string) => {
            const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: true });
            try {
              return (await rl.question(question)).trim();
            } finally {
              rl.close();
            }
          },
        }
      : {}),
  };
}

/**
 * The top-level commands in the order `--help` lists them: lazy groups (see {@link addLazyGroup}),
 * whose modules are imported only when the group is used, so `policy validate` never loads the
 * SDK, gRPC or the generated proto code, and `--help` loads no command module; and the two
 * commands without sub-commands, registered at once (their modules are light).
 */
const COMMANDS: readonly (LazyGroup | ((program: Command, io: CliIo) => void))[] = [
  {
    name: "policy",
    description: "Work with IAM policy documents offline (no server needed)",
    load: async () => (await import("./commands/policy.ts")).registerPolicy,
  },
  {
    name: "iam",
    description: "Manage identities and policies on the control plane (as `aws iam`)",
    load: async () => (await import("./commands/iam.ts")).registerIam,
  },
  {
    name: "authz",
    description: "Authorization checks against a region's deciders",
    load: async () => (await import("./commands/authz.ts")).registerAuthz,
  },
  {
    name: "region",
    description: "The regions' applied revisions and freshness",
    load: async () => (await import("./commands/region.ts")).registerRegion,
  },
  {
    name: "audit",
    description: "The audit trail of control-plane calls (CloudTrail)",
    load: async () => (await import("./commands/audit.ts")).registerAudit,
  },
  {
    name: "sts",
    description: "Temporary credentials from a region's STS",
    load: async () => (await import("./commands/sts.ts")).registerSts,
  },
  registerConfigure,
  {
    name: "import",
    description: "Bring identities in from elsewhere",
    load: async () => (await import("./commands/import.ts")).registerImport,
  },
  {
    name: "export",
    description: "Write identities out in another system's format",
    load: async () => (await import("./commands/export.ts")).registerExport,
  },
  registerCompletion,
];

/**
 * Builds the `gatehouse` command tree. Each sub-command lives in its own file under `commands/`
 * and registers itself on its group, when that group is used (`loadCommandTree` of `lazy-group.ts`
 * registers them all). `io` is where service commands read the environment and
 * write their results (the process's by default).
 *
 * @example
 * await createProgram().parseAsync(["policy", "validate", "p.json"], { from: "user" });
 */
export function createProgram(io: CliIo = processIo()): Command {
  const program = new Command("gatehouse")
    .description("Gatehouse: a self-hostable AWS-IAM-compatible control plane")
    .version("0.1.0")
    .showHelpAfterError("(add --help for usage)")
    .configureHelp({ showGlobalOptions: true })
    // Throw a CommanderError instead of calling process.exit, so main.ts picks the exit status and
    // an embedding program keeps control. Sub-commands inherit this only if it is set before they
    // are added.
    .exitOverride()
    .option("--profile <name>", "the profile of $GATEHOUSE_CONFIG_DIR (~/.gatehouse) to use")
    .option("--region <region>", "the region checks go to")
    .option(
      "--endpoint-url <host:port>",
      "the server to call instead of the profile's (control plane for iam, region for authz)",
    )
    .option("--query <jmespath>", "a JMESPath expression to pick from the result (as the aws CLI's --query)")
    .option(
      "--mfa-code <code>",
      "the MFA code a role profile with mfa_serial needs (asked for on a terminal otherwise)",
    )
    .addOption(new Option("--output <format>", "how to print results").choices(outputFormats).default("json"));
  for (const entry of COMMANDS) {
    if (typeof entry === "function") entry(program, io);
    else addLazyGroup(program, io, entry);
  }
  addLazyHelpCommand(program);
  return program;
}
