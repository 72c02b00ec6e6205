import type { Command } from "commander";
import type { PolicyEvaluateOptions } from "./policy-evaluate.ts";
import { registerPolicyValidate } from "./policy-validate.ts";

/** Registers the `policy` group's commands: `evaluate` and `validate`, both offline. */
export function registerPolicy(policy: Command): void {
  registerPolicyEvaluate(policy);
  registerPolicyValidate(policy);
}

/**
 * Registers `policy evaluate` on the `policy` command group.
 *
 * @example
 * echo '{"identityPolicies":[...],"principal":{...},"request":{...}}' | gatehouse policy evaluate --explain
 */
function registerPolicyEvaluate(policy: Command): void {
  policy
    .command("evaluate")
    .description(
      "Evaluate authorization requests read as NDJSON from stdin; write one JSON decision per input line to stdout",
    )
    .option("--explain", "include the engine's explanation of each decision", false)
    .addHelpText(
      "after",
      `
Input line:
  {"identityPolicies": [<policy>...], "resourcePolicy"?: <policy>, "permissionBoundary"?: <policy>,
   "sessionPolicy"?: <policy>, "scps"?: [<policy>...],
   "principal": {"arn": "...", "accountId": "...", "tags"?: {...}, "type"?: "AWS" | "Service" | ...,
                 "roleArn"?: "arn:aws:iam::...:role/path/Name" (for a role session whose role has a path)},
   "request": {"action": "s3:GetObject", "resource": "arn:...", "resourceAccount"?: "...",
               "context"?: {"aws:SourceIp": "10.0.0.1", ...}}}
  <policy> is a JSON object or a JSON string. resourceAccount defaults to principal.accountId.

Output line: {"decision": "Allow" | "ExplicitDeny" | "ImplicitDeny", "explanation"?: {...}}
          or {"error": {"code": "...", "message": "...", "line": n, ...}} (processing continues)`,
    )
    .action(async (options: PolicyEvaluateOptions) => {
      // Imported here: its input schema (zod) is for this command alone, not `policy validate`.
      const { runPolicyEvaluate } = await import("./policy-evaluate.ts");
      await runPolicyEvaluate(process.stdin, process.stdout, options);
    });
}
