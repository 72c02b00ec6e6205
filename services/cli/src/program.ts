import { createInterface } from "node:readline/promises";
import { Command, Option } from "commander";
import type { CliIo } from "./client.ts";
import { registerAudit } from "./commands/audit.ts";
import { registerAuthz } from "./commands/authz.ts";
import { registerCompletion } from "./commands/completion.ts";
import { registerConfigure } from "./commands/configure.ts";
import { registerExport } from "./commands/export.ts";
import { registerIam } from "./commands/iam.ts";
import { registerImport } from "./commands/import.ts";
import { registerPolicyEvaluate } from "./commands/policy-evaluate.ts";
import { registerPolicyValidate } from "./commands/policy-validate.ts";
import { registerRegion } from "./commands/region.ts";
import { registerSts } from "./commands/sts.ts";
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
 * Builds the `gatehouse` command tree. Each sub-command lives in its own file under `commands/`
 * and registers itself on its group. `io` is where service commands read the environment and
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
  const policy = program.command("policy").description("Work with IAM policy documents offline (no server needed)");
  registerPolicyEvaluate(policy);
  registerPolicyValidate(policy);
  registerIam(program, io);
  registerAuthz(program, io);
  registerRegion(program, io);
  registerAudit(program, io);
  registerSts(program, io);
  registerConfigure(program, io);
  registerImport(program, io);
  registerExport(program, io);
  registerCompletion(program, io);
  return program;
}
