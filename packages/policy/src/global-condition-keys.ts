/**
 * The `aws:` global condition keys, from
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html, used to
 * warn about misspelled keys and set-operator misuse.
 */

const SINGLE_VALUED = [
  "aws:PrincipalArn",
  "aws:PrincipalAccount",
  "aws:PrincipalOrgID",
  "aws:PrincipalIsAWSService",
  "aws:PrincipalServiceName",
  "aws:PrincipalType",
  "aws:userid",
  "aws:username",
  "aws:AssumedRoot",
  "aws:FederatedProvider",
  "aws:TokenIssueTime",
  "aws:MultiFactorAuthAge",
  "aws:MultiFactorAuthPresent",
  "aws:ChatbotSourceArn",
  "aws:Ec2InstanceSourceVpc",
  "aws:Ec2InstanceSourcePrivateIPv4",
  "aws:SourceIdentity",
  "aws:SourceIp",
  "aws:SourceVpc",
  "aws:SourceVpcArn",
  "aws:SourceVpce",
  "aws:VpceAccount",
  "aws:VpceOrgID",
  "aws:VpcSourceIp",
  "aws:ResourceAccount",
  "aws:ResourceOrgID",
  "aws:CalledViaFirst",
  "aws:CalledViaLast",
  "aws:CalledViaAWSMCP",
  "aws:ViaAWSService",
  "aws:ViaAWSMCPService",
  "aws:CurrentTime",
  "aws:EpochTime",
  "aws:referer",
  "aws:RequestedRegion",
  "aws:SecureTransport",
  "aws:SourceArn",
  "aws:SourceAccount",
  "aws:SourceOwner",
  "aws:SourceOrgID",
  "aws:UserAgent",
  "aws:IsMcpServiceAction",
];

const MULTI_VALUED = [
  "aws:PrincipalOrgPaths",
  "aws:PrincipalServiceNamesList",
  "aws:VpceOrgPaths",
  "aws:ResourceOrgPaths",
  "aws:CalledVia",
  "aws:TagKeys",
  "aws:SourceOrgPaths",
];

/** Keys with a tag-key suffix; all single-valued. */
const TAG_PREFIXES = ["aws:principaltag/", "aws:resourcetag/", "aws:requesttag/"];

const single = new Set(SINGLE_VALUED.map((k) => k.toLowerCase()));
const multi = new Set(MULTI_VALUED.map((k) => k.toLowerCase()));

/** What the engine knows about an `aws:` key: unknown, single-valued or multivalued. */
export function globalKeyShape(key: string): "unknown" | "single" | "multi" {
  const lower = key.toLowerCase();
  if (multi.has(lower)) return "multi";
  if (single.has(lower)) return "single";
  for (const p of TAG_PREFIXES) if (lower.startsWith(p) && lower.length > p.length) return "single";
  return "unknown";
}
