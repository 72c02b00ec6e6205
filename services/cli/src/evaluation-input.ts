import { z } from "zod";

/**
 * A policy as it may appear on an input line: a JSON object, or the policy document as a JSON
 * string (the form IAM's APIs use).
 */
const policyField = z.union([z.string(), z.record(z.string(), z.unknown())], {
  error: "expected a policy document (JSON object or string)",
});

/** Request-context values, as the engine accepts them: string | number | boolean | string[]. */
const contextValue = z.union([z.string(), z.number(), z.boolean(), z.array(z.string())], {
  error: "expected a string, number, boolean or array of strings",
});

const nonEmpty = z.string().min(1, "must not be empty");

/**
 * One line of `gatehouse policy evaluate` input. Unknown keys are rejected so that a typo such as
 * `sessionPolicies` fails loudly instead of silently evaluating without the policy.
 */
export const evaluationLineSchema = z.strictObject({
  identityPolicies: z.array(policyField),
  resourcePolicy: policyField.optional(),
  permissionBoundary: policyField.optional(),
  sessionPolicy: policyField.optional(),
  scps: z.array(policyField).optional(),
  principal: z.strictObject({
    arn: nonEmpty,
    accountId: nonEmpty,
    tags: z.record(z.string(), z.string()).optional(),
    type: z.enum(["AWS", "Service", "Federated", "CanonicalUser"]).optional(),
    roleArn: nonEmpty.optional(),
  }),
  request: z.strictObject({
    action: nonEmpty,
    resource: nonEmpty,
    resourceAccount: nonEmpty.optional(),
    context: z.record(z.string(), contextValue).optional(),
  }),
});

/** A validated input line. */
export type EvaluationLine = z.infer<typeof evaluationLineSchema>;

/** Why a line could not be turned into an {@link EvaluationLine}. */
export interface LineShapeError {
  /** Path of the offending field, e.g. `request.context["aws:TagKeys"][1]`. */
  field: string;
  message: string;
}

/**
 * Checks a parsed JSON value against {@link evaluationLineSchema}.
 *
 * @returns the typed line, or every shape problem with the field path it concerns.
 */
export function parseEvaluationLine(value: unknown): { line: EvaluationLine } | { errors: LineShapeError[] } {
  const result = evaluationLineSchema.safeParse(value);
  if (result.success) return { line: result.data };
  return {
    errors: result.error.issues.map((issue) => {
      // Unknown keys are reported on the parent object; name the key itself instead.
      const keys = issue.code === "unrecognized_keys" ? issue.keys : [];
      const path = keys.length === 1 ? [...issue.path, keys[0] as string] : issue.path;
      return { field: formatFieldPath(path), message: issue.message };
    }),
  };
}

/**
 * Renders a zod issue path the way a reader would write it in JavaScript:
 * `["request","context","aws:TagKeys",1]` → `request.context["aws:TagKeys"][1]`.
 */
export function formatFieldPath(path: ReadonlyArray<PropertyKey>): string {
  let out = "";
  for (const segment of path) {
    if (typeof segment === "number") out += `[${segment}]`;
    else {
      const name = String(segment);
      out += /^[A-Za-z_$][\w$]*$/.test(name) ? (out === "" ? name : `.${name}`) : `[${JSON.stringify(name)}]`;
    }
  }
  return out === "" ? "(line)" : out;
}
