import { type Gatehouse, GatehouseError } from "@gatehouse/sdk";
import type { AwsIamExport } from "./aws-iam-export.ts";

/** What the import did with one thing of the export. */
export interface ImportItem {
  /** `Policy`, `PolicyVersion`, `Group`, `Role`, `User`, `InlinePolicy`, `Attachment`, `GroupMembership`, `InstanceProfile`. */
  readonly type: string;
  /** Which one: `alice`, `alice/read` (an inline policy), `alice → arn…` (an attachment). */
  readonly name: string;
  /** Why it was skipped or refused. */
  readonly reason?: string;
}

/** The import's outcome: what was created (or replaced), skipped (already there) and refused (and why). */
export interface ImportReport {
  readonly accountId: string;
  readonly created: ImportItem[];
  readonly updated: ImportItem[];
  readonly skipped: ImportItem[];
  readonly refused: ImportItem[];
}

/** Progress of an import: `done` of `total` principals and policies. */
export type ImportProgress = (done: number, total: number, what: string) => void;

const AWS_MANAGED = /^arn:aws[\w-]*:iam::aws:policy\//;

function sameDocument(a: string, b: string): boolean {
  try {
    return JSON.stringify(JSON.parse(a)) === JSON.stringify(JSON.parse(b));
  } catch {
    return a === b;
  }
}

function versionNumber(id: string): number {
  const n = Number(id.replace(/^v/i, ""));
  return Number.isFinite(n) ? n : 0;
}

/**
 * Recreates an `aws iam get-account-authorization-details` export in the caller's account:
 * customer managed policies with their versions (in order, the default one default), groups,
 * roles (trust policy, tags, boundary, instance profiles), users (tags, boundary, groups), inline
 * policies and attachments. Idempotent: what exists (an entity by name, an inline policy with the
 * same document, an attachment, a membership) is skipped, so a second run changes nothing.
 * Customer managed policy ARNs are moved to the target account; AWS managed policies keep
 * theirs (Gatehouse ships AWS's whole catalogue), and an attachment of one it does not know is
 * refused with that said.
 * A refusal (the server's validation, a quota) is reported and the import goes on.
 *
 * @example
 * const report = await importAwsIam(new Gatehouse({ profile: "demo" }), parseAwsIamExport(text));
 * console.log(report.created.length, report.refused);
 */
export async function importAwsIam(
  gh: Gatehouse,
  data: AwsIamExport,
  progress?: ImportProgress,
): Promise<ImportReport> {
  const caller = await gh.iam.getUser({});
  const accountId = (caller.user?.arn ?? "").split(":")[4] ?? "";
  const report: ImportReport = { accountId, created: [], updated: [], skipped: [], refused: [] };
  const total =
    data.Policies.length + data.GroupDetailList.length + data.RoleDetailList.length + data.UserDetailList.length;
  let done = 0;
  const step = (what: string) => progress?.(++done, total, what);

  /** Runs a write; sorts its outcome into the report. `exists` names the AWS errors that mean "already there". */
  const attempt = async (
    item: Omit<ImportItem, "reason">,
    write: () => Promise<unknown>,
    exists: readonly string[] = ["EntityAlreadyExists"],
  ): Promise<boolean> => {
    try {
      await write();
      report.created.push(item);
      return true;
    } catch (e) {
      if (!(e instanceof GatehouseError)) throw e;
      if (exists.includes(e.awsName)) report.skipped.push({ ...item, reason: "already exists" });
      else report.refused.push({ ...item, reason: `${e.awsName}: ${e.message}` });
      return false;
    }
  };

  const mapPolicyArn = (arn: string): string => {
    if (AWS_MANAGED.test(arn)) return arn;
    const [, partition, , , , resource] = /^arn:([^:]+):([^:]*):([^:]*):([^:]*):(.*)$/.exec(arn) ?? [];
    return partition === undefined ? arn : `arn:${partition}:iam::${accountId}:${resource ?? ""}`;
  };

  // Customer managed policies first: everything else attaches them.
  const versionsOf = (p: AwsIamExport["Policies"][number]) =>
    [...p.PolicyVersionList].sort((a, b) => versionNumber(a.VersionId) - versionNumber(b.VersionId));
  for (const policy of data.Policies) {
    step(`policy ${policy.PolicyName}`);
    if (AWS_MANAGED.test(policy.Arn)) {
      report.skipped.push({
        type: "Policy",
        name: policy.Arn,
        reason: "AWS managed (not imported; attachments to it are)",
      });
      continue;
    }
    const arn = mapPolicyArn(policy.Arn);
    const exists = await gh.iam.getPolicy({ policyArn: arn }).then(
      () => true,
      (e: unknown) => {
        if (e instanceof GatehouseError && e.awsName === "NoSuchEntity") return false;
        throw e;
      },
    );
    if (exists) {
      report.skipped.push({ type: "Policy", name: arn, reason: "already exists" });
      continue;
    }
    const [first, ...later] = versionsOf(policy);
    if (first === undefined) {
      report.refused.push({
        type: "Policy",
        name: arn,
        reason: "the export has no version of it (run the export with the LocalManagedPolicy filter)",
      });
      continue;
    }
    const ok = await attempt({ type: "Policy", name: arn }, () =>
      gh.iam.createPolicy({
        policyName: policy.PolicyName,
        path: policy.Path,
        policyDocument: first.Document,
        ...(policy.Description === undefined ? {} : { description: policy.Description }),
      }),
    );
    if (!ok) continue;
    for (const v of later) {
      await attempt({ type: "PolicyVersion", name: `${arn} (${v.VersionId})` }, () =>
        gh.iam.createPolicyVersion({ policyArn: arn, policyDocument: v.Document, setAsDefault: v.IsDefaultVersion }),
      );
    }
  }

  type Kind = "user" | "group" | "role";
  const inlineApi = {
    user: {
      get: (n: string, p: string) => gh.iam.getUserPolicy({ userName: n, policyName: p }),
      put: (n: string, p: string, d: string) => gh.iam.putUserPolicy({ userName: n, policyName: p, policyDocument: d }),
      attached: async (n: string) => {
        const arns: string[] = [];
        for await (const a of gh.iam.paginate.listAttachedUserPolicies({ userName: n })) arns.push(a.policyArn);
        return arns;
      },
      attach: (n: string, arn: string) => gh.iam.attachUserPolicy({ userName: n, policyArn: arn }),
    },
    group: {
      get: (n: string, p: string) => gh.iam.getGroupPolicy({ groupName: n, policyName: p }),
      put: (n: string, p: string, d: string) =>
        gh.iam.putGroupPolicy({ groupName: n, policyName: p, policyDocument: d }),
      attached: async (n: string) => {
        const arns: string[] = [];
        for await (const a of gh.iam.paginate.listAttachedGroupPolicies({ groupName: n })) arns.push(a.policyArn);
        return arns;
      },
      attach: (n: string, arn: string) => gh.iam.attachGroupPolicy({ groupName: n, policyArn: arn }),
    },
    role: {
      get: (n: string, p: string) => gh.iam.getRolePolicy({ roleName: n, policyName: p }),
      put: (n: string, p: string, d: string) => gh.iam.putRolePolicy({ roleName: n, policyName: p, policyDocument: d }),
      attached: async (n: string) => {
        const arns: string[] = [];
        for await (const a of gh.iam.paginate.listAttachedRolePolicies({ roleName: n })) arns.push(a.policyArn);
        return arns;
      },
      attach: (n: string, arn: string) => gh.iam.attachRolePolicy({ roleName: n, policyArn: arn }),
    },
  } as const;

  /** Inline policies and attachments of an entity, each only when not there already. */
  const permissions = async (
    kind: Kind,
    name: string,
    inline: readonly { PolicyName: string; PolicyDocument: string }[],
    managed: readonly { PolicyArn: string }[],
  ) => {
    const api = inlineApi[kind];
    for (const p of inline) {
      const item = { type: "InlinePolicy", name: `${name}/${p.PolicyName}` };
      const current = await api.get(name, p.PolicyName).then(
        (r) => r.policyDocument,
        (e: unknown) => {
          if (e instanceof GatehouseError && e.awsName === "NoSuchEntity") return undefined;
          throw e;
        },
      );
      if (current !== undefined && sameDocument(current, p.PolicyDocument)) {
        report.skipped.push({ ...item, reason: "same document already there" });
        continue;
      }
      try {
        await api.put(name, p.PolicyName, p.PolicyDocument);
        (current === undefined ? report.created : report.updated).push(item);
      } catch (e) {
        if (!(e instanceof GatehouseError)) throw e;
        report.refused.push({ ...item, reason: `${e.awsName}: ${e.message}` });
      }
    }
    const have = new Set(await api.attached(name));
    for (const m of managed) {
      const arn = mapPolicyArn(m.PolicyArn);
      const item = { type: "Attachment", name: `${name} → ${arn}` };
      if (have.has(arn)) {
        report.skipped.push({ ...item, reason: "already attached" });
        continue;
      }
      try {
        await api.attach(name, arn);
        report.created.push(item);
      } catch (e) {
        if (!(e instanceof GatehouseError)) throw e;
        const reason =
          e.awsName === "NoSuchEntity" && AWS_MANAGED.test(arn)
            ? `NoSuchEntity: Gatehouse does not ship the AWS managed policy ${arn}`
            : `${e.awsName}: ${e.message}`;
        report.refused.push({ ...item, reason });
      }
    }
  };

  const boundaryOf = (b: { PermissionsBoundaryArn: string } | undefined) =>
    b === undefined ? {} : { permissionsBoundaryArn: mapPolicyArn(b.PermissionsBoundaryArn) };
  const tagsOf = (tags: readonly { Key: string; Value: string }[]) => tags.map((t) => ({ key: t.Key, value: t.Value }));

  for (const group of data.GroupDetailList) {
    step(`group ${group.GroupName}`);
    await attempt({ type: "Group", name: group.GroupName }, () =>
      gh.iam.createGroup({ groupName: group.GroupName, path: group.Path }),
    );
    await permissions("group", group.GroupName, group.GroupPolicyList, group.AttachedManagedPolicies);
  }

  for (const role of data.RoleDetailList) {
    step(`role ${role.RoleName}`);
    // RoleDetail has no description or session duration; the copies in its instance profiles do.
    const copy = role.InstanceProfileList.flatMap((p) => p.Roles).find((r) => r.RoleName === role.RoleName);
    const description = role.Description ?? copy?.Description;
    const maxSessionDuration = role.MaxSessionDuration ?? copy?.MaxSessionDuration;
    const created = await attempt({ type: "Role", name: role.RoleName }, () =>
      gh.iam.createRole({
        roleName: role.RoleName,
        path: role.Path,
        assumeRolePolicyDocument: role.AssumeRolePolicyDocument,
        tags: tagsOf(role.Tags),
        ...(description === undefined ? {} : { description }),
        ...(maxSessionDuration === undefined ? {} : { maxSessionDuration }),
        ...boundaryOf(role.PermissionsBoundary),
      }),
    );
    const exists = created || report.skipped.some((s) => s.type === "Role" && s.name === role.RoleName);
    if (!exists) continue;
    await permissions("role", role.RoleName, role.RolePolicyList, role.AttachedManagedPolicies);
    for (const profile of role.InstanceProfileList) {
      await attempt({ type: "InstanceProfile", name: profile.InstanceProfileName }, () =>
        gh.iam.createInstanceProfile({
          instanceProfileName: profile.InstanceProfileName,
          path: profile.Path,
          tags: tagsOf(profile.Tags),
        }),
      );
      const current = await gh.iam
        .getInstanceProfile({ instanceProfileName: profile.InstanceProfileName })
        .catch(() => undefined);
      const item = { type: "InstanceProfileRole", name: `${profile.InstanceProfileName} → ${role.RoleName}` };
      if (current?.instanceProfile?.roles.some((r) => r.roleName === role.RoleName) === true) {
        report.skipped.push({ ...item, reason: "already added" });
      } else {
        await attempt(item, () =>
          gh.iam.addRoleToInstanceProfile({
            instanceProfileName: profile.InstanceProfileName,
            roleName: role.RoleName,
          }),
        );
      }
    }
  }

  for (const user of data.UserDetailList) {
    step(`user ${user.UserName}`);
    const created = await attempt({ type: "User", name: user.UserName }, () =>
      gh.iam.createUser({
        userName: user.UserName,
        path: user.Path,
        tags: tagsOf(user.Tags),
        ...boundaryOf(user.PermissionsBoundary),
      }),
    );
    const exists = created || report.skipped.some((s) => s.type === "User" && s.name === user.UserName);
    if (!exists) continue;
    const groups = new Set<string>();
    for await (const g of gh.iam.paginate.listGroupsForUser({ userName: user.UserName })) groups.add(g.groupName);
    for (const g of user.GroupList) {
      const item = { type: "GroupMembership", name: `${user.UserName} → ${g}` };
      if (groups.has(g)) report.skipped.push({ ...item, reason: "already a member" });
      else await attempt(item, () => gh.iam.addUserToGroup({ groupName: g, userName: user.UserName }));
    }
    await permissions("user", user.UserName, user.UserPolicyList, user.AttachedManagedPolicies);
  }
  return report;
}
