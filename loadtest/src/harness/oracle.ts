/**
 * The reference the regions are checked against: the pure engine (`@gatehouse/policy`'s
 * `evaluate`, no compiled cache) over an account as the control plane's `ExportAccount` returns it
 * at one revision. Written apart from the region's own assembly (`compile-principal.ts`), so a bug
 * there shows as a divergence instead of being repeated here.
 */
import { decodeAccountSnapshot, decodeEntityChange, type TypedEntity } from "@gatehouse/events";
import { type ContextValue, type Decision, evaluate, type PolicyInput } from "@gatehouse/policy";

/** An account's entities at one revision, indexed for the oracle. */
export interface AccountAt {
  readonly accountId: string;
  readonly revision: number;
  readonly byArn: ReadonlyMap<string, TypedEntity>;
  readonly groupsById: ReadonlyMap<string, TypedEntity & { kind: "group" }>;
  readonly policies: ReadonlyMap<string, TypedEntity & { kind: "policy" }>;
  readonly resourcePolicies: ReadonlyMap<string, string>;
  readonly guardrails: readonly string[];
}

/** Decodes an `ExportAccount` snapshot. */
export function accountAt(snapshotBytes: Uint8Array): AccountAt {
  const snapshot = decodeAccountSnapshot(snapshotBytes);
  const byArn = new Map<string, TypedEntity>();
  const groupsById = new Map<string, TypedEntity & { kind: "group" }>();
  const policies = new Map<string, TypedEntity & { kind: "policy" }>();
  const resourcePolicies = new Map<string, string>();
  let guardrails: string[] = [];
  for (const event of snapshot.entities) {
    const entity = decodeEntityChange(event);
    if (entity.state === null) continue;
    switch (entity.kind) {
      case "user":
      case "role":
        byArn.set(entity.state.arn, entity);
        break;
      case "group":
        groupsById.set(entity.state.groupId, entity);
        break;
      case "policy":
        policies.set(entity.state.arn, entity);
        break;
      case "account":
        guardrails = entity.state.guardrails.map((g) => g.document);
        break;
      case "resource-policy":
        resourcePolicies.set(entity.state.resourceArn, entity.state.policyDocument);
        break;
      default:
        break;
    }
  }
  return {
    accountId: snapshot.accountId,
    revision: snapshot.revision,
    byArn,
    groupsById,
    policies,
    resourcePolicies,
    guardrails,
  };
}

/** A check as the region was asked it. */
export interface OracleCheck {
  readonly principalArn: string;
  readonly action: string;
  readonly resource: string;
  readonly context?: Readonly<Record<string, string>>;
  /** The region that answered (`aws:RequestedRegion`). */
  readonly region: string;
}

/** The pure engine's decision for `check` over `account`; "NoSuchPrincipal" when the export lacks it. */
export function oracleDecision(account: AccountAt, check: OracleCheck): Decision | "NoSuchPrincipal" {
  const entity = account.byArn.get(check.principalArn);
  if (entity === undefined || entity.state === null || (entity.kind !== "user" && entity.kind !== "role")) {
    return "NoSuchPrincipal";
  }
  const s = entity.state;
  const managed = (arn: string): string | undefined => {
    const p = account.policies.get(arn)?.state;
    return p?.versions.find((v) => v.versionId === p.defaultVersionId)?.document;
  };
  const identity: PolicyInput[] = [];
  const addAll = (inline: readonly { policyDocument: string }[], attached: readonly { policyArn: string }[]) => {
    for (const p of inline) identity.push(p.policyDocument);
    for (const a of attached) {
      const d = managed(a.policyArn);
      if (d !== undefined) identity.push(d);
    }
  };
  addAll(s.inlinePolicies, s.attachedPolicies);
  if (entity.kind === "user") {
    for (const g of entity.state.groups) {
      const group = account.groupsById.get(g.groupId)?.state;
      if (group) addAll(group.inlinePolicies, group.attachedPolicies);
    }
  }
  const boundary =
    s.permissionsBoundaryArn === null
      ? undefined
      : (managed(s.permissionsBoundaryArn) ?? '{"Version":"2012-10-17","Statement":[]}');
  const bucket = /^arn:aws:s3:::([^/]+)\//.exec(check.resource)?.[1];
  const resourcePolicy =
    account.resourcePolicies.get(check.resource) ??
    (bucket === undefined ? undefined : account.resourcePolicies.get(`arn:aws:s3:::${bucket}`));
  const context: Record<string, ContextValue> = { ...check.context };
  context["aws:PrincipalArn"] = s.arn;
  context["aws:PrincipalAccount"] = s.accountId;
  context["aws:PrincipalType"] = entity.kind === "user" ? "User" : "AssumedRole";
  context["aws:userid"] = entity.kind === "user" ? entity.state.userId : entity.state.roleId;
  if (entity.kind === "user") context["aws:username"] = entity.state.userName;
  for (const t of s.tags) context[`aws:PrincipalTag/${t.key}`] = t.value;
  context["aws:RequestedRegion"] = check.region;
  context["aws:ResourceAccount"] = s.accountId;
  const now = Date.now();
  context["aws:CurrentTime"] = new Date(now).toISOString();
  context["aws:EpochTime"] = String(Math.floor(now / 1000));
  return evaluate(
    {
      identityPolicies: identity,
      ...(boundary === undefined ? {} : { permissionBoundary: boundary }),
      ...(resourcePolicy === undefined ? {} : { resourcePolicy }),
      guardrails: account.guardrails.map((g) => g),
    },
    { arn: s.arn, accountId: s.accountId },
    { action: check.action, resource: check.resource, resourceAccount: s.accountId, context },
  ).decision;
}
