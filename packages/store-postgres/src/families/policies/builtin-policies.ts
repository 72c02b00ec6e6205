/** The pseudo-account that owns AWS managed policies: their ARNs read `arn:aws:iam::aws:policy/…`. */
export const AWS_MANAGED_ACCOUNT = "aws";

/** One AWS managed policy every account can attach; `versions[i]` is version `v{i+1}`, the last is the default. */
export interface BuiltinPolicy {
  readonly policyId: string;
  readonly policyName: string;
  /**
   * The entry's revision: 1 when first shipped, one more with every change to it (a new version
   * or a new description). Seeding never replaces a stored entry by one of a lower revision, so an
   * instance that a rolling upgrade has not reached yet cannot undo what the upgrade wrote.
   */
  readonly revision: number;
  readonly description: string;
  readonly versions: readonly string[];
}

const doc = (...statements: object[]) => JSON.stringify({ Version: "2012-10-17", Statement: statements });

/**
 * The AWS managed policies Gatehouse ships, with stable ids and ARNs. A changed document is a new
 * version appended here (never an edit of an old one), so regions and audits see the history;
 * any change, a new version or a new description, also bumps the entry's `revision`;
 * `seedBuiltinPolicies` writes what changed at start-up and puts it on the streams of the accounts
 * that use it.
 */
export const BUILTIN_POLICIES: readonly BuiltinPolicy[] = Object.freeze([
  {
    policyId: "ANPAIWMBCKSKIEE64ZLYK",
    policyName: "AdministratorAccess",
    revision: 1,
    description: "Provides full access to AWS services and resources.",
    versions: [doc({ Effect: "Allow", Action: "*", Resource: "*" })],
  },
  {
    policyId: "ANPAJYRXTHIB4FOVS3ZXS",
    policyName: "PowerUserAccess",
    revision: 1,
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
    revision: 1,
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
    revision: 1,
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
    revision: 1,
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
    revision: 1,
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
