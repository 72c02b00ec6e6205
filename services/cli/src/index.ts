/**
 * The `gatehouse` command as a library, for tests and for embedding the command tree.
 * The executable entry point is `main.ts` (run by `bin/gatehouse`).
 */
export {
  evaluateInputLine,
  type FieldFinding,
  type LineDecision,
  type LineError,
  type LineErrorCode,
  type PolicyEvaluateOptions,
  runPolicyEvaluate,
} from "./commands/policy-evaluate.ts";
export {
  formatFindings,
  type PolicyValidateOptions,
  policyKinds,
  type ValidateExitCode,
  validateExitCode,
} from "./commands/policy-validate.ts";
export { type EvaluationLine, evaluationLineSchema, formatFieldPath, parseEvaluationLine } from "./evaluation-input.ts";
export { type LazyGroup, loadCommandTree } from "./lazy-group.ts";
export { createProgram } from "./program.ts";
