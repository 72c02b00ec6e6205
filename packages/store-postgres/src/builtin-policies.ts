import type pg from "pg";

/** The pseudo-account that owns AWS managed policies: their ARNs read `arn:aws:iam::aws:policy/…`. */
export const AWS_MANAGED_ACCOUNT = "aws";

/** One AWS managed policy every account can attach; `versions[i]` is version `v{i+1}`, the last is the default. */
export interface BuiltinPolicy {
  readonly policyId: string;
  readonly policyName: string;
  readonly description: string;
  readonly versions: readonly string[];
}

const doc = (...statements: object[]) => JSON.stringify({ Version: "2012-10-17", Statement: statements });

/**
 * The AWS managed policies Gatehouse ships, with stable ids and ARNs. A changed document is a new
 * version appended here (never an edit of an old one), so regions and audits see the history.
 */
export const BUILTIN_POLICIES: readonly BuiltinPolicy[] = Object.freeze([
  {
    policyId: "ANPAIWMBCKSKIEE64ZLYK",
    policyName: "AdministratorAccess",
    description: "Provides full access to AWS services and resources.",
    versions: [doc({ Effect: "Allow", Action: "*", Resource: "*" })],
  },
  {
    policyId: "ANPAJYRXTHIB4FOVS3ZXS",
    policyName: "PowerUserAccess",
    description:
      "Provides full access to AWS services and resources, but does not allow management of Users and groups.",
    versions: [
      doc(
        { Effect: "Allow", NotAction: ["iam:*", "organizations:*", "account:*"], Resource: "*" },
        {
          Effect: "Allow",
          Action: [
            "iam:CreateServiceLinkedRole",
            "iam:DeleteServiceLinkedRole",
            "iam:ListRoles",
            "organizations:DescribeOrganization",
            "account:ListRegions",
            "account:GetAccountInformation",
          ],
          Resource: "*",
        },
      ),
    ],
  },
  {
    policyId: "ANPAILL3HVNFSB6DCOWYQ",
    policyName: "ReadOnlyAccess",
    description: "Provides read-only access to AWS services and resources.",
    versions: [
      doc({
        Effect: "Allow",
        Action: ["*:Get*", "*:List*", "*:Describe*", "*:BatchGet*", "*:View*", "*:Search*"],
        Resource: "*",
      }),
    ],
  },
  {
    policyId: "ANPAI7XKCFMBPM3QQRRVQ",
    policyName: "IAMFullAccess",
    description: "Provides full access to IAM via the AWS Management Console.",
    versions: [
      doc(
        { Effect: "Allow", Action: "iam:*", Resource: "*" },
        {
          Effect: "Allow",
          Action: [
            "organizations:DescribeAccount",
            "organizations:DescribeOrganization",
            "organizations:DescribeOrganizationalUnit",
            "organizations:DescribePolicy",
            "organizations:ListChildren",
            "organizations:ListParents",
            "organizations:ListPoliciesForTarget",
            "organizations:ListRoots",
            "organizations:ListPolicies",
            "organizations:ListTargetsForPolicy",
          ],
          Resource: "*",
        },
      ),
    ],
  },
  {
    policyId: "ANPAJKSO7NDY4T57MWDSQ",
    policyName: "IAMReadOnlyAccess",
    description: "Provides read only access to IAM via the AWS Management Console.",
    versions: [
      doc({
        Effect: "Allow",
        Action: [
          "iam:GenerateCredentialReport",
          "iam:GenerateServiceLastAccessedDetails",
          "iam:Get*",
          "iam:List*",
          "iam:SimulateCustomPolicy",
          "iam:SimulatePrincipalPolicy",
        ],
        Resource: "*",
      }),
    ],
  },
  {
    policyId: "ANPAJ4L4MM2A7QIEB56MS",
    policyName: "IAMUserChangePassword",
    description: "Provides the ability for an IAM user to change their own password.",
    versions: [
      doc(
        // biome-ignore lint/suspicious/noTemplateCurlyInString: an IAM policy variable, not a template
        { Effect: "Allow", Action: ["iam:ChangePassword"], Resource: ["arn:*:iam::*:user/${aws:username}"] },
        { Effect: "Allow", Action: ["iam:GetAccountPasswordPolicy"], Resource: "*" },
      ),
    ],
  },
]);

/**
 * Inserts the AWS managed policies and any versions added since the last start, and moves their
 * default to the newest version; idempotent, one transaction, serialized across starters.
 */
export async function seedBuiltinPolicies(pool: pg.Pool): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query("BEGIN");
    await client.query("SELECT pg_advisory_xact_lock(hashtext('gatehouse-builtin-policies'))");
    for (const p of BUILTIN_POLICIES) {
      const last = `v${p.versions.length}`;
      await client.query(
        `INSERT INTO managed_policies (policy_id, account_id, policy_name, path, description, default_version_id, next_version)
         VALUES ($1, $2, $3, '/', $4, $5, $6)
         ON CONFLICT (policy_id) DO UPDATE SET description = EXCLUDED.description,
           default_version_id = EXCLUDED.default_version_id, next_version = EXCLUDED.next_version,
           updated_at = CASE WHEN managed_policies.default_version_id = EXCLUDED.default_version_id
                        THEN managed_policies.updated_at ELSE now() END`,
        [p.policyId, AWS_MANAGED_ACCOUNT, p.policyName, p.description, last, p.versions.length + 1],
      );
      await client.query(
        `INSERT INTO policy_versions (policy_id, version_id, document, is_default)
         SELECT $1, 'v' || n, d, false FROM unnest($2::text[]) WITH ORDINALITY AS v(d, n) ON CONFLICT DO NOTHING`,
        [p.policyId, p.versions],
      );
      // Two statements: the one-default index is checked row by row.
      await client.query("UPDATE policy_versions SET is_default = false WHERE policy_id = $1 AND version_id <> $2", [
        p.policyId,
        last,
      ]);
      await client.query("UPDATE policy_versions SET is_default = true WHERE policy_id = $1 AND version_id = $2", [
        p.policyId,
        last,
      ]);
    }
    await client.query("COMMIT");
  } catch (e) {
    await client.query("ROLLBACK").catch(() => {});
    throw e;
  } finally {
    client.release();
  }
}
