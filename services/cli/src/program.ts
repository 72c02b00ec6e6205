import { Command } from "commander";
import { registerPolicyEvaluate } from "./commands/policy-evaluate.ts";
import { registerPolicyValidate } from "./commands/policy-validate.ts";

/**
 * Builds the `gatehouse` command tree. Each sub-command lives in its own file under `commands/`
 * and registers itself on its group, so control-plane commands can be added the same way.
 *
 * @example
 * await createProgram().parseAsync(["policy", "validate", "p.json"], { from: "user" });
 */
export function createProgram(): Command {
  const program = new Command("gatehouse")
    .description("Gatehouse: a self-hostable AWS-IAM-compatible control plane")
    .version("0.1.0")
    .showHelpAfterError("(add --help for usage)")
    .configureHelp({ showGlobalOptions: true })
    // Throw a CommanderError instead of calling process.exit, so main.ts picks the exit status and
    // an embedding program keeps control. Sub-commands inherit this only if it is set before they
    // are added.
    .exitOverride();
  const policy = program.command("policy").description("Work with IAM policy documents offline (no server needed)");
  registerPolicyEvaluate(policy);
  registerPolicyValidate(policy);
  return program;
}
