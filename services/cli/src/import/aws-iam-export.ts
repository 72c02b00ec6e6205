import { z } from "zod";

/**
 * A policy document as `aws iam get-account-authorization-details` prints it: a JSON object (the
 * CLI decodes it), or the raw API's URL-encoded JSON text. Either way it becomes JSON text.
 */
const document = z.union([z.string(), z.record(z.string(), z.unknown())]).transform((d) => {
  if (typeof d !== "string") return JSON.stringify(d);
  return d.trimStart().startsWith("%7B") || d.trimStart().startsWith("%7b") ? decodeURIComponent(d) : d;
});

const tag = z.object({ Key: z.string(), Value: z.string().default("") });
const inline = z.object({ PolicyName: z.string(), PolicyDocument: document });
const attached = z.object({ PolicyName: z.string().optional(), PolicyArn: z.string() });
const boundary = z.object({ PermissionsBoundaryArn: z.string() }).optional();

const user = z.object({
  Path: z.string().default("/"),
  UserName: z.string(),
  Arn: z.string().optional(),
  UserPolicyList: z.array(inline).default([]),
  GroupList: z.array(z.string()).default([]),
  AttachedManagedPolicies: z.array(attached).default([]),
  PermissionsBoundary: boundary,
  Tags: z.array(tag).default([]),
});

const group = z.object({
  Path: z.string().default("/"),
  GroupName: z.string(),
  Arn: z.string().optional(),
  GroupPolicyList: z.array(inline).default([]),
  AttachedManagedPolicies: z.array(attached).default([]),
});

const instanceProfile = z.object({
  Path: z.string().default("/"),
  InstanceProfileName: z.string(),
  Roles: z
    .array(
      z.object({
        RoleName: z.string(),
        Description: z.string().optional(),
        MaxSessionDuration: z.number().optional(),
      }),
    )
    .default([]),
  Tags: z.array(tag).default([]),
});

const role = z.object({
  Path: z.string().default("/"),
  RoleName: z.string(),
  Arn: z.string().optional(),
  AssumeRolePolicyDocument: document,
  Description: z.string().optional(),
  MaxSessionDuration: z.number().optional(),
  InstanceProfileList: z.array(instanceProfile).default([]),
  RolePolicyList: z.array(inline).default([]),
  AttachedManagedPolicies: z.array(attached).default([]),
  PermissionsBoundary: boundary,
  Tags: z.array(tag).default([]),
});

const managedPolicy = z.object({
  PolicyName: z.string(),
  Arn: z.string(),
  Path: z.string().default("/"),
  DefaultVersionId: z.string().optional(),
  Description: z.string().optional(),
  PolicyVersionList: z
    .array(
      z.object({
        Document: document,
        VersionId: z.string(),
        IsDefaultVersion: z.boolean().default(false),
        CreateDate: z.string().optional(),
      }),
    )
    .default([]),
});

/** The output of `aws iam get-account-authorization-details` (the parts Gatehouse imports). */
export const awsIamExportSchema = z.object({
  UserDetailList: z.array(user).default([]),
  GroupDetailList: z.array(group).default([]),
  RoleDetailList: z.array(role).default([]),
  Policies: z.array(managedPolicy).default([]),
});

/** A parsed export. */
export type AwsIamExport = z.infer<typeof awsIamExportSchema>;

/** Parses an export file's text; the error names the JSON path that is wrong. */
export function parseAwsIamExport(text: string): AwsIamExport {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new Error(`the file is not JSON: ${(e as Error).message}`);
  }
  const result = awsIamExportSchema.safeParse(json);
  if (!result.success) {
    const issue = result.error.issues[0];
    const path = issue?.path.map((p) => (typeof p === "number" ? `[${p}]` : `.${String(p)}`)).join("") ?? "";
    throw new Error(`not an \`aws iam get-account-authorization-details\` export: $${path}: ${issue?.message}`);
  }
  return result.data;
}
