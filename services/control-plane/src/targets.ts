import { checkArnPartition, IamError, iamArn, tryParseArn } from "@gatehouse/core";
import type { ContextValue } from "@gatehouse/policy";
import type { IamStore, PrincipalKind, TagRecord } from "@gatehouse/store-postgres";

/** Condition keys an operation adds to the authorization context (`aws:ResourceTag/…`, `iam:PolicyARN`, …). */
export type RequestContext = Readonly<Record<string, ContextValue>>;

/**
 * What a call is authorized on: the canonical ARN of the entity it acts on (as stored, when it
 * exists) and the condition keys that entity contributes.
 */
export interface Target {
  /** The stored ARN; for a missing entity, one built from the request (the store then reports NoSuchEntity). */
  readonly arn: string;
  readonly context: RequestContext;
}

/** A user or role as a target, with what AWS exposes of it to conditions. */
export interface PrincipalTarget extends Target {
  /** Its permissions boundary's ARN, or null (none, or the entity does not exist). */
  readonly permissionsBoundaryArn: string | null;
}

/** The IAM resource types an ARN in a request may name. */
export type IamArnType = "policy" | "oidc-provider" | "mfa";

/** `aws:ResourceTag/${key}` for each stored tag. */
export function resourceTags(tags: readonly TagRecord[]): Record<string, string> {
  return Object.fromEntries(tags.map((t) => [`aws:ResourceTag/${t.key}`, t.value]));
}

/** `aws:RequestTag/${key}` for each tag of the request and `aws:TagKeys` listing their keys. */
export function requestTags(tags: readonly TagRecord[]): Record<string, ContextValue> {
  return {
    ...Object.fromEntries(tags.map((t) => [`aws:RequestTag/${t.key}`, t.value])),
    "aws:TagKeys": tags.map((t) => t.key),
  };
}

/**
 * Checks an IAM ARN taken from a request, as AWS does: an ARN of `type` in this endpoint's
 * partition, in the `iam` service, with an empty region (IAM is global; an ARN naming a region does
 * not name an IAM entity). InvalidInput names `field` otherwise.
 */
export function checkIamArn(text: string, type: IamArnType, partition: string, field: string): string {
  const arn = tryParseArn(text);
  if (arn === undefined || arn.service !== "iam" || !arn.resource.startsWith(`${type}/`)) {
    throw new IamError("InvalidInput", `${field} ${JSON.stringify(text)} is not an IAM ${type} ARN`, { field });
  }
  checkArnPartition(arn, partition, field);
  if (arn.region !== "") {
    throw new IamError(
      "InvalidInput",
      `${field} ${JSON.stringify(text)} names region ${JSON.stringify(arn.region)}; IAM ARNs have an empty region`,
      { field },
    );
  }
  return text;
}

function missing(e: unknown): boolean {
  return IamError.is(e) && e.awsName === "NoSuchEntity";
}

/** Resolves the entities a request names to what the call is authorized on. */
export interface Targets {
  /** A user, group or role by name; a missing one is named with path "/". */
  principal(accountId: string, kind: PrincipalKind, name: string): Promise<PrincipalTarget>;
  instanceProfile(accountId: string, name: string): Promise<Target>;
  /**
   * A managed policy by ARN (checked with {@link checkIamArn}), looked up so that the call is
   * authorized on the stored ARN, never on the spelling the client sent (the store matches names
   * case-insensitively). A missing policy keeps the ARN as sent, and the store reports NoSuchEntity.
   */
  policy(accountId: string, policyArn: string, field?: string): Promise<Target>;
  /** A virtual MFA device by serial number (an `mfa` ARN, checked); the store matches serial numbers exactly. */
  mfaDevice(accountId: string, serialNumber: string, field?: string): Promise<Target>;
  /** An OIDC provider by ARN (checked); the store matches provider ARNs exactly. */
  oidcProvider(accountId: string, arn: string, field?: string): Promise<Target>;
}

/** Creates the resolver of {@link Targets} on a store. */
export function createTargets(store: IamStore, partition: string): Targets {
  return {
    async principal(accountId, kind, name) {
      try {
        if (kind === "group") {
          const g = await store.getGroup(accountId, name);
          return { arn: g.arn, context: {}, permissionsBoundaryArn: null };
        }
        const e = kind === "user" ? await store.getUser(accountId, name) : await store.getRole(accountId, name);
        return {
          arn: e.arn,

          context: resourceTags(e.tags),
          permissionsBoundaryArn: e.permissionsBoundaryArn,
        };
      } catch (e) {
        if (!missing(e)) throw e;
        return {
          arn: iamArn(accountId, kind, "/", name, partition),

          context: {},
          permissionsBoundaryArn: null,
        };
      }
    },
    async instanceProfile(accountId, name) {
      try {
        const p = await store.getInstanceProfile(accountId, name);
        return { arn: p.arn, context: resourceTags(p.tags) };
      } catch (e) {
        if (!missing(e)) throw e;
        return { arn: iamArn(accountId, "instance-profile", "/", name, partition), context: {} };
      }
    },
    async policy(accountId, policyArn, field = "policyArn") {
      checkIamArn(policyArn, "policy", partition, field);
      try {
        const p = await store.getPolicy(accountId, policyArn);
        return { arn: p.arn, context: resourceTags(p.tags) };
      } catch (e) {
        if (!missing(e)) throw e;
        return { arn: policyArn, context: {} };
      }
    },
    async mfaDevice(accountId, serialNumber, field = "serialNumber") {
      checkIamArn(serialNumber, "mfa", partition, field);
      try {
        const d = await store.getMfaDevice(accountId, serialNumber, field);
        return { arn: d.serialNumber, context: resourceTags(d.tags) };
      } catch (e) {
        if (!missing(e)) throw e;
        return { arn: serialNumber, context: {} };
      }
    },
    async oidcProvider(accountId, arn, field = "openIdConnectProviderArn") {
      checkIamArn(arn, "oidc-provider", partition, field);
      try {
        const p = await store.getOpenIdConnectProvider(accountId, arn);
        return { arn: p.arn, context: resourceTags(p.tags) };
      } catch (e) {
        if (!missing(e)) throw e;
        return { arn, context: {} };
      }
    },
  };
}
