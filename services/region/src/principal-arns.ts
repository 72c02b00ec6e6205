import type { SessionClaims } from "@gatehouse/auth";
import { IamError, tryParseArn } from "@gatehouse/core";
import { isRootArn } from "./compile-principal.ts";

/** The role, user or root a session stands on. */
export function baseArnOf(claims: SessionClaims): string {
  const p = claims.principal;
  if (p.kind === "assumed-role") return p.roleArn;
  if (p.kind === "user") return p.userArn;
  return `arn:aws:iam::${claims.accountId}:root`;
}

/** Principal ARNs whose account was parsed out, remembered (cleared when full). */
const MAX_PRINCIPAL_ACCOUNTS = 100_000;

/**
 * The account of a user, role or root ARN, as a function that parses each ARN string once (bad
 * ones are never remembered, and throw INVALID_ARGUMENT on `principal.arn` every time).
 */
export function createPrincipalAccounts(): (principalArn: string) => string {
  const principalAccounts = new Map<string, string>();
  return (principalArn) => {
    const known = principalAccounts.get(principalArn);
    if (known !== undefined) return known;
    const arn = tryParseArn(principalArn);
    if (arn === undefined || arn.service !== "iam" || !/^\d{12}$/.test(arn.accountId)) {
      throw new IamError(
        "InvalidInput",
        `principal ARN ${JSON.stringify(principalArn)} is not an IAM user or role ARN`,
        {
          field: "principal.arn",
        },
      );
    }
    if (!/^(user|role)\//.test(arn.resource) && !isRootArn(principalArn)) {
      throw new IamError(
        "InvalidInput",
        `principal ARN ${JSON.stringify(principalArn)} names no user, role or root (sessions are not served yet)`,
        { field: "principal.arn" },
      );
    }
    if (principalAccounts.size >= MAX_PRINCIPAL_ACCOUNTS) principalAccounts.clear();
    principalAccounts.set(principalArn, arn.accountId);
    return arn.accountId;
  };
}
