import { once } from "node:events";
import { createInterface } from "node:readline";
import type { Readable, Writable } from "node:stream";
import {
  type AuthzRequest,
  type CompiledPolicySet,
  compilePolicySet,
  type Decision,
  type Explanation,
  type Finding,
  type Policy,
  PolicyError,
  type PolicyKind,
  type PolicySetInput,
  type PrincipalInfo,
  parsePolicy,
} from "@gatehouse/policy";
import { type EvaluationLine, parseEvaluationLine } from "../evaluation-input.ts";

/** Options of `gatehouse policy evaluate`. */
export interface PolicyEvaluateOptions {
  /** Add the engine's explanation to every decision. */
  explain: boolean;
}

/**
 * Closed set of per-line error codes (AWS-style names): `InvalidInput` for a line that is not JSON or
 * not the documented shape, `MalformedPolicyDocument` for a policy the engine rejects, and
 * `InternalFailure` for an engine failure we did not expect.
 */
export type LineErrorCode = "InvalidInput" | "MalformedPolicyDocument" | "InternalFailure";

/** A finding of the engine, attributed to the input field holding the policy. */
export interface FieldFinding extends Finding {
  /** The input field of the policy, e.g. `identityPolicies[2]` or `scps[0]`. */
  field: string;
}

/** The output for an evaluated line. */
export interface LineDecision {
  decision: Decision;
  /** Only with `--explain`. */
  explanation?: Explanation;
}

/** The output for an input line that could not be evaluated. */
export interface LineError {
  error: {
    code: LineErrorCode;
    message: string;
    /** 1-based line number in the input stream (blank lines counted). */
    line: number;
    /** The first offending field, when there is one. */
    field?: string;
    /** For `MalformedPolicyDocument`: every finding of every rejected policy. */
    findings?: FieldFinding[];
  };
}

/**
 * Streams NDJSON evaluation inputs from `input` to decisions on `output`, one output line per
 * non-blank input line, in order. Bad lines produce an error line; only a failure of `input` itself
 * (or of `output`) rejects the returned promise.
 */
export async function runPolicyEvaluate(
  input: Readable,
  output: Writable,
  options: PolicyEvaluateOptions,
): Promise<void> {
  const writer = createLineWriter(output);
  // readline emits an error from the input stream through the async iterator, so a failing stdin
  // rejects here rather than looking like end of input.
  const lines = createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY });
  let lineNumber = 0;
  for await (const text of lines) {
    lineNumber += 1;
    if (text.trim() === "") continue;
    const result = evaluateInputLine(text, lineNumber, options);
    await writer.write(JSON.stringify(result));
  }
  await writer.end();
}

/**
 * Evaluates one NDJSON input line. Never throws: every failure becomes a {@link LineError}.
 *
 * @param lineNumber 1-based, reported back in errors so a caller can find the line.
 */
export function evaluateInputLine(
  text: string,
  lineNumber: number,
  options: PolicyEvaluateOptions,
): LineDecision | LineError {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    return lineError("InvalidInput", lineNumber, `line is not valid JSON: ${describe(err)}`);
  }
  const parsed = parseEvaluationLine(json);
  if ("errors" in parsed) {
    const message = parsed.errors.map((e) => `${e.field}: ${e.message}`).join("; ");
    return lineError("InvalidInput", lineNumber, message, { field: parsed.errors[0]?.field ?? "(line)" });
  }
  let compiled: Compiled;
  try {
    compiled = compileLine(parsed.line);
  } catch (err) {
    return lineError("InternalFailure", lineNumber, `compiling the policies failed: ${describe(err)}`);
  }
  if ("findings" in compiled) {
    const errors = compiled.findings.filter((f) => f.severity === "error");
    const first = errors[0];
    const summary = first ? `${first.field}: ${first.path ? `${first.path}: ` : ""}${first.message}` : "";
    const more = errors.length > 1 ? ` (and ${errors.length - 1} more error(s))` : "";
    return lineError("MalformedPolicyDocument", lineNumber, `invalid policy ${summary}${more}`, {
      field: first?.field ?? "(line)",
      findings: compiled.findings,
    });
  }
  const { line } = parsed;
  const principal: PrincipalInfo = { arn: line.principal.arn, accountId: line.principal.accountId };
  if (line.principal.tags) principal.tags = line.principal.tags;
  if (line.principal.type) principal.type = line.principal.type;
  if (line.principal.roleArn) principal.roleArn = line.principal.roleArn;
  const request: AuthzRequest = {
    action: line.request.action,
    resource: line.request.resource,
    resourceAccount: line.request.resourceAccount ?? line.principal.accountId,
    // Used exactly as given: nothing is derived from the principal (no aws:PrincipalArn etc.).
    context: line.request.context ?? {},
  };
  try {
    const result = compiled.set.evaluate(principal, request, { explain: options.explain });
    return options.explain && result.explanation
      ? { decision: result.decision, explanation: result.explanation }
      : { decision: result.decision };
  } catch (err) {
    return lineError("InternalFailure", lineNumber, `evaluation failed: ${describe(err)}`);
  }
}

/** Engine policy kind for each policy-bearing input field. */
const fieldKinds = {
  identityPolicies: "identity",
  resourcePolicy: "resource",
  permissionBoundary: "boundary",
  sessionPolicy: "session",
  scps: "scp",
} as const satisfies Record<string, PolicyKind>;

type Compiled = { set: CompiledPolicySet } | { findings: FieldFinding[] };

/**
 * Parses every policy of the line on its own, so each finding can be attributed to the input field
 * it came from, then compiles the set.
 */
function compileLine(line: EvaluationLine): Compiled {
  const findings: FieldFinding[] = [];
  let failed = false;
  const parse = (doc: string | Record<string, unknown>, field: string, kind: PolicyKind): Policy | undefined => {
    const result = parsePolicy(doc, { kind, id: field });
    for (const f of result.findings) findings.push({ field, ...f });
    if (!result.policy || result.findings.some((f) => f.severity === "error")) failed = true;
    return result.policy;
  };
  const list = (docs: ReadonlyArray<string | Record<string, unknown>>, name: keyof typeof fieldKinds): Policy[] =>
    docs.flatMap((doc, i) => parse(doc, `${name}[${i}]`, fieldKinds[name]) ?? []);
  const one = (doc: string | Record<string, unknown> | undefined, name: keyof typeof fieldKinds): Policy | undefined =>
    doc === undefined ? undefined : parse(doc, name, fieldKinds[name]);

  const input: PolicySetInput = { identityPolicies: list(line.identityPolicies, "identityPolicies") };
  const resourcePolicy = one(line.resourcePolicy, "resourcePolicy");
  const permissionBoundary = one(line.permissionBoundary, "permissionBoundary");
  const sessionPolicy = one(line.sessionPolicy, "sessionPolicy");
  const guardrails = line.scps ? list(line.scps, "scps") : undefined;
  if (failed) return { findings };
  if (resourcePolicy) input.resourcePolicy = resourcePolicy;
  if (permissionBoundary) input.permissionBoundary = permissionBoundary;
  if (sessionPolicy) input.sessionPolicies = [sessionPolicy];
  if (guardrails) input.guardrails = guardrails;
  try {
    return { set: compilePolicySet(input) };
  } catch (err) {
    // Every policy parsed above, so this is a set-level problem; anything else is a bug.
    if (!(err instanceof PolicyError)) throw err;
    return { findings: err.findings.map((f) => ({ field: "(policy set)", ...f })) };
  }
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function lineError(
  code: LineErrorCode,
  line: number,
  message: string,
  extra: { field?: string; findings?: FieldFinding[] } = {},
): LineError {
  return { error: { code, message, line, ...extra } };
}

/**
 * Writes lines to `output`, coalescing those produced in the same turn of the event loop into one
 * write (fewer syscalls on big inputs) while still flushing promptly for an interactive caller that
 * waits for each answer. Honours backpressure: `write` resolves only once `output` can take more.
 */
function createLineWriter(output: Writable): { write(line: string): Promise<void>; end(): Promise<void> } {
  let pending: string[] = [];
  let scheduled = false;
  let drained: Promise<unknown> | undefined;
  let failure: Error | undefined;
  output.on("error", (err) => {
    failure = err;
  });
  const flush = () => {
    scheduled = false;
    if (pending.length === 0) return;
    const chunk = `${pending.join("\n")}\n`;
    pending = [];
    if (!output.write(chunk) && !drained) {
      drained = once(output, "drain").finally(() => {
        drained = undefined;
      });
    }
  };
  return {
    async write(line) {
      if (failure) throw failure;
      pending.push(line);
      if (pending.length >= 1024) flush();
      else if (!scheduled) {
        scheduled = true;
        setImmediate(flush);
      }
      if (drained) await drained;
    },
    async end() {
      flush();
      if (drained) await drained;
      if (failure) throw failure;
    },
  };
}
