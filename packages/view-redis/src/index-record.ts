import type { TypedEntity } from "@gatehouse/events";

/**
 * What the view indexes about one entity, kept next to its state so that the apply script can
 * remove an entity's old index entries without parsing kind-specific JSON in Lua.
 */
export interface IndexRecord {
  /** The principal's (user, role), group's, policy's ARN; for an access key its owner's ARN. */
  readonly arn?: string;
  /** Users: the ids of the groups they belong to. */
  readonly groups?: readonly string[];
  /**
   * Users, groups, roles: the managed policy ARNs attached to them or bounding them (the
   * permissions boundary), each once.
   */
  readonly policies?: readonly string[];
}

/**
 * The index record of an entity's state (`undefined` for a tombstone). Only what the deciders
 * need to find a principal's policies and what an invalidation must reach is indexed.
 */
export function indexRecordOf(entity: TypedEntity): IndexRecord | undefined {
  switch (entity.kind) {
    case "user": {
      const s = entity.state;
      if (s === null) return undefined;
      return {
        arn: s.arn,
        groups: s.groups.map((g) => g.groupId),
        policies: policyArns(
          s.attachedPolicies.map((p) => p.policyArn),
          s.permissionsBoundaryArn,
        ),
      };
    }
    case "role": {
      const s = entity.state;
      if (s === null) return undefined;
      return {
        arn: s.arn,
        policies: policyArns(
          s.attachedPolicies.map((p) => p.policyArn),
          s.permissionsBoundaryArn,
        ),
      };
    }
    case "group": {
      const s = entity.state;
      if (s === null) return undefined;
      return {
        arn: s.arn,
        policies: policyArns(
          s.attachedPolicies.map((p) => p.policyArn),
          null,
        ),
      };
    }
    case "policy":
      return entity.state === null ? undefined : { arn: entity.state.arn };
    case "access-key":
      return entity.state === null ? undefined : { arn: entity.state.principalArn };
    case "account":
    case "login-profile":
    case "mfa-device":
    case "instance-profile":
    case "oidc-provider":
    case "resource-policy":
    case "sts-key-set":
      return entity.state === null ? undefined : {};
  }
}

function policyArns(attached: readonly string[], boundary: string | null): string[] {
  const all = new Set(attached);
  if (boundary !== null) all.add(boundary);
  return [...all];
}
