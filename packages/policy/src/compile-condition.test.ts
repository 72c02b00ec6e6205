// biome-ignore-all lint/suspicious/noTemplateCurlyInString: IAM policy variables are literal ${…} text in policies
import { describe, expect, it } from "vitest";
import type { ContextValue } from "./authz-request.ts";
import { allow, aUser, decisionOf, policy, request } from "./test-support.ts";

const OPERATORS =
  "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html";
const MULTI =
  "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-single-vs-multi-valued-context-keys.html";
const MULTI_EXAMPLES =
  "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition_examples-multi-valued-context-keys.html";
const LOGIC =
  "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-logic-multiple-context-keys-or-values.html";
const VARIABLES = "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html";

interface Case {
  doc: string;
  name: string;
  condition: Record<string, Record<string, unknown>>;
  context: Record<string, ContextValue>;
  holds: boolean;
}

/** A condition holds iff an Allow statement carrying it allows the request. */
function holds(condition: Case["condition"], context: Case["context"]): boolean {
  const set = { identityPolicies: [policy(allow("s3:GetObject", "*", { Condition: condition }))] };
  return decisionOf(set, aUser("alice"), request("s3:GetObject", "arn:aws:s3:::b/k", context)) === "Allow";
}

const cases: Case[] = [
  // String
  {
    doc: OPERATORS,
    name: "StringEquals matches the exact value",
    condition: { StringEquals: { "aws:PrincipalTag/job-category": "iamuser-admin" } },
    context: { "aws:PrincipalTag/job-category": "iamuser-admin" },
    holds: true,
  },
  {
    doc: OPERATORS,
    name: "StringEquals values are case-sensitive",
    condition: { StringEquals: { "aws:PrincipalTag/job-category": "iamuser-admin" } },
    context: { "aws:PrincipalTag/job-category": "IAMUser-Admin" },
    holds: false,
  },
  {
    doc: OPERATORS,
    name: "condition keys are case-insensitive",
    condition: { StringEquals: { "aws:PrincipalTag/job-category": "iamuser-admin" } },
    context: { "AWS:PRINCIPALTAG/JOB-CATEGORY": "iamuser-admin" },
    holds: true,
  },
  {
    doc: OPERATORS,
    name: "StringEquals with a missing key is false",
    condition: { StringEquals: { "aws:PrincipalTag/job-category": "iamuser-admin" } },
    context: {},
    holds: false,
  },
  {
    doc: LOGIC,
    name: "multiple values of one key are OR'ed",
    condition: { StringEquals: { "aws:RequestedRegion": ["us-east-1", "us-west-1"] } },
    context: { "aws:RequestedRegion": "us-west-1" },
    holds: true,
  },
  {
    doc: LOGIC,
    name: "StringNotEquals with several values is NOT any (value listed)",
    condition: { StringNotEquals: { "aws:RequestedRegion": ["us-east-1", "us-west-1"] } },
    context: { "aws:RequestedRegion": "us-east-1" },
    holds: false,
  },
  {
    doc: LOGIC,
    name: "StringNotEquals with several values is NOT any (value not listed)",
    condition: { StringNotEquals: { "aws:RequestedRegion": ["us-east-1", "us-west-1"] } },
    context: { "aws:RequestedRegion": "eu-west-1" },
    holds: true,
  },
  {
    doc: OPERATORS,
    name: "a negated operator with a missing key is true",
    condition: { StringNotEquals: { "aws:RequestedRegion": "us-east-1" } },
    context: {},
    holds: true,
  },
  {
    doc: OPERATORS,
    name: "StringEqualsIgnoreCase ignores case",
    condition: { StringEqualsIgnoreCase: { "aws:PrincipalTag/job-category": "IAMUser-Admin" } },
    context: { "aws:PrincipalTag/job-category": "iamuser-admin" },
    holds: true,
  },
  {
    doc: OPERATORS,
    name: "StringNotEqualsIgnoreCase ignores case",
    condition: { StringNotEqualsIgnoreCase: { "aws:PrincipalTag/job-category": "IAMUser-Admin" } },
    context: { "aws:PrincipalTag/job-category": "iamuser-admin" },
    holds: false,
  },
  {
    doc: OPERATORS,
    name: "StringLike * matches any run",
    condition: { StringLike: { "s3:prefix": ["", "home/", "home/${aws:username}/*"] } },
    context: { "s3:prefix": "home/alice/photos/2024", "aws:username": "alice" },
    holds: true,
  },
  {
    doc: OPERATORS,
    name: "StringLike with a variable for another user",
    condition: { StringLike: { "s3:prefix": ["", "home/", "home/${aws:username}/*"] } },
    context: { "s3:prefix": "home/bob/photos", "aws:username": "alice" },
    holds: false,
  },
  {
    doc: OPERATORS,
    name: "StringLike matches the empty prefix value",
    condition: { StringLike: { "s3:prefix": ["", "home/"] } },
    context: { "s3:prefix": "" },
    holds: true,
  },
  {
    doc: OPERATORS,
    name: "StringLike ? matches exactly one character",
    condition: { StringLike: { "aws:PrincipalTag/team": "eng-??" } },
    context: { "aws:PrincipalTag/team": "eng-001" },
    holds: false,
  },
  {
    doc: OPERATORS,
    name: "StringLike is case-sensitive",
    condition: { StringLike: { "aws:PrincipalTag/team": "Eng*" } },
    context: { "aws:PrincipalTag/team": "engineering" },
    holds: false,
  },
  {
    doc: OPERATORS,
    name: "StringNotLike",
    condition: { StringNotLike: { "aws:PrincipalTag/team": "eng*" } },
    context: { "aws:PrincipalTag/team": "sales" },
    holds: true,
  },
  {
    doc: OPERATORS,
    name: "StringEquals compares numbers and booleans by their string form",
    condition: { StringEquals: { "s3:max-keys": 10, "aws:SecureTransport": true } },
    context: { "s3:max-keys": 10, "aws:SecureTransport": true },
    holds: true,
  },
  // Numeric
  {
    doc: OPERATORS,
    name: "NumericLessThanEquals at the bound",
    condition: { NumericLessThanEquals: { "s3:max-keys": "10" } },
    context: { "s3:max-keys": "10" },
    holds: true,
  },
  {
    doc: OPERATORS,
    name: "NumericLessThanEquals above the bound",
    condition: { NumericLessThanEquals: { "s3:max-keys": "10" } },
    context: { "s3:max-keys": 11 },
    holds: false,
  },
  {
    doc: OPERATORS,
    name: "NumericLessThan",
    condition: { NumericLessThan: { "aws:MultiFactorAuthAge": "3600" } },
    context: { "aws:MultiFactorAuthAge": 3599 },
    holds: true,
  },
  {
    doc: OPERATORS,
    name: "NumericGreaterThan",
    condition: { NumericGreaterThan: { "aws:MultiFactorAuthAge": "3600" } },
    context: { "aws:MultiFactorAuthAge": "3600" },
    holds: false,
  },
  {
    doc: OPERATORS,
    name: "NumericGreaterThanEquals with decimals",
    condition: { NumericGreaterThanEquals: { "ec2:cpu": "1.5" } },
    context: { "ec2:cpu": "1.50" },
    holds: true,
  },
  {
    doc: OPERATORS,
    name: "NumericEquals",
    condition: { NumericEquals: { "s3:max-keys": "10" } },
    context: { "s3:max-keys": 10 },
    holds: true,
  },
  {
    doc: OPERATORS,
    name: "NumericNotEquals with a missing key is true",
    condition: { NumericNotEquals: { "s3:max-keys": "10" } },
    context: {},
    holds: true,
  },
  {
    doc: OPERATORS,
    name: "a non-numeric request value never satisfies a numeric operator",
    condition: { NumericNotEquals: { "s3:max-keys": "10" } },
    context: { "s3:max-keys": "ten" },
    holds: false,
  },
  // Date
  {
    doc: OPERATORS,
    name: "DateGreaterThan with ISO 8601",
    condition: { DateGreaterThan: { "aws:TokenIssueTime": "2020-01-01T00:00:01Z" } },
    context: { "aws:TokenIssueTime": "2020-06-30T10:00:00Z" },
    holds: true,
  },
  {
    doc: OPERATORS,
    name: "DateLessThan with ISO 8601",
    condition: { DateLessThan: { "aws:CurrentTime": "2019-07-16T12:00:00Z" } },
    context: { "aws:CurrentTime": "2019-07-16T12:00:01Z" },
    holds: false,
  },
  {
    doc: OPERATORS,
    name: "a policy date in epoch seconds equals the ISO instant",
    condition: { DateEquals: { "aws:CurrentTime": "1563278400" } },
    context: { "aws:CurrentTime": "2019-07-16T12:00:00Z" },
    holds: true,
  },
  {
    doc: OPERATORS,
    name: "a numeric request date is epoch seconds",
    condition: { DateGreaterThanEquals: { "aws:EpochTime": "2019-07-16T12:00:00Z" } },
    context: { "aws:EpochTime": 1563278400 },
    holds: true,
  },
  {
    doc: OPERATORS,
    name: "DateLessThanEquals with a time-zone offset",
    condition: { DateLessThanEquals: { "aws:CurrentTime": "2019-07-16T14:00:00+02:00" } },
    context: { "aws:CurrentTime": "2019-07-16T12:00:00Z" },
    holds: true,
  },
  {
    doc: OPERATORS,
    name: "DateNotEquals with a missing key is true",
    condition: { DateNotEquals: { "aws:CurrentTime": "2019-07-16" } },
    context: {},
    holds: true,
  },
  // Bool
  {
    doc: OPERATORS,
    name: "Bool with a boolean request value",
    condition: { Bool: { "aws:SecureTransport": "true" } },
    context: { "aws:SecureTransport": true },
    holds: true,
  },
  {
    doc: OPERATORS,
    name: "Bool with a string request value",
    condition: { Bool: { "aws:SecureTransport": "false" } },
    context: { "aws:SecureTransport": "false" },
    holds: true,
  },
  {
    doc: OPERATORS,
    name: "Bool mismatch",
    condition: { Bool: { "aws:SecureTransport": "true" } },
    context: { "aws:SecureTransport": "false" },
    holds: false,
  },
  {
    doc: OPERATORS,
    name: "Bool with a missing key is false",
    condition: { Bool: { "aws:MultiFactorAuthPresent": "false" } },
    context: {},
    holds: false,
  },
  // Binary
  {
    doc: OPERATORS,
    name: "BinaryEquals compares base64 values",
    condition: { BinaryEquals: { "ssm:blob": "QmluYXJ5VmFsdWVJbkJhc2U2NA==" } },
    context: { "ssm:blob": "QmluYXJ5VmFsdWVJbkJhc2U2NA==" },
    holds: true,
  },
  {
    doc: OPERATORS,
    name: "BinaryEquals with different bytes",
    condition: { BinaryEquals: { "ssm:blob": "QmluYXJ5VmFsdWVJbkJhc2U2NA==" } },
    context: { "ssm:blob": "QmluYXJ5VmFsdWVJbkJhc2U2NQ==" },
    holds: false,
  },
  {
    doc: OPERATORS,
    name: "BinaryEquals with a value that decodes to a prefix of the policy's bytes",
    condition: { BinaryEquals: { "ssm:blob": "QmluYXJ5VmFsdWVJbkJhc2U2NA==" } },
    context: { "ssm:blob": "QmluYXJ5VmFsdWVJbkJhc2U=" },
    holds: false,
  },
  // IP
  {
    doc: OPERATORS,
    name: "IpAddress inside an IPv4 CIDR",
    condition: { IpAddress: { "aws:SourceIp": "203.0.113.0/24" } },
    context: { "aws:SourceIp": "203.0.113.5" },
    holds: true,
  },
  {
    doc: OPERATORS,
    name: "IpAddress outside an IPv4 CIDR",
    condition: { IpAddress: { "aws:SourceIp": "203.0.113.0/24" } },
    context: { "aws:SourceIp": "203.0.114.1" },
    holds: false,
  },
  {
    doc: OPERATORS,
    name: "IpAddress with an IPv6 CIDR",
    condition: { IpAddress: { "aws:SourceIp": ["203.0.113.0/24", "2001:DB8:1234:5678::/64"] } },
    context: { "aws:SourceIp": "2001:db8:1234:5678::1" },
    holds: true,
  },
  {
    doc: OPERATORS,
    name: "IpAddress with an IPv6 address outside the block",
    condition: { IpAddress: { "aws:SourceIp": "2001:DB8:1234:5678::/64" } },
    context: { "aws:SourceIp": "2001:db8:1234:5679::1" },
    holds: false,
  },
  {
    doc: OPERATORS,
    name: "IpAddress with a single address (implicit /32)",
    condition: { IpAddress: { "aws:SourceIp": "203.0.113.5" } },
    context: { "aws:SourceIp": "203.0.113.5" },
    holds: true,
  },
  {
    doc: OPERATORS,
    name: "NotIpAddress with a missing key is true",
    condition: { NotIpAddress: { "aws:SourceIp": "203.0.113.0/24" } },
    context: {},
    holds: true,
  },
  {
    doc: OPERATORS,
    name: "NotIpAddress inside the block",
    condition: { NotIpAddress: { "aws:SourceIp": "203.0.113.0/24" } },
    context: { "aws:SourceIp": "203.0.113.77" },
    holds: false,
  },
  // ARN
  {
    doc: OPERATORS,
    name: "ArnLike matches component by component",
    condition: { ArnLike: { "aws:SourceArn": "arn:aws:cloudtrail:*:111122223333:trail/*" } },
    context: { "aws:SourceArn": "arn:aws:cloudtrail:us-east-2:111122223333:trail/audit" },
    holds: true,
  },
  {
    doc: OPERATORS,
    name: "ArnLike wildcards do not cross components",
    condition: { ArnLike: { "aws:SourceArn": "arn:aws:ec2:*:111122223333:instance/*" } },
    context: { "aws:SourceArn": "arn:aws:ec2:us-east-1:444455556666:x:111122223333:instance/i-1" },
    holds: false,
  },
  {
    doc: OPERATORS,
    name: "ArnEquals behaves like ArnLike",
    condition: { ArnEquals: { "aws:PrincipalArn": "arn:aws:iam::111122223333:role/*" } },
    context: { "aws:PrincipalArn": "arn:aws:iam::111122223333:role/admin" },
    holds: true,
  },
  {
    doc: OPERATORS,
    name: "ArnNotLike with a missing key is true",
    condition: { ArnNotLike: { "aws:PrincipalArn": "arn:aws:iam::111122223333:role/*" } },
    context: {},
    holds: true,
  },
  {
    doc: OPERATORS,
    name: "ArnNotEquals with a matching ARN",
    condition: { ArnNotEquals: { "aws:PrincipalArn": "arn:aws:iam::111122223333:role/admin" } },
    context: { "aws:PrincipalArn": "arn:aws:iam::111122223333:role/admin" },
    holds: false,
  },
  {
    doc: OPERATORS,
    name: "an ARN operator on a non-ARN request value is false",
    condition: { ArnNotLike: { "aws:PrincipalArn": "arn:aws:iam::111122223333:role/*" } },
    context: { "aws:PrincipalArn": "not-an-arn" },
    holds: false,
  },
  {
    doc: VARIABLES,
    name: "ArnLike with a policy variable in a component",
    condition: { ArnLike: { "aws:SourceArn": "arn:aws:sns:*:${aws:PrincipalAccount}:*" } },
    context: { "aws:SourceArn": "arn:aws:sns:us-east-1:111122223333:topic", "aws:PrincipalAccount": "111122223333" },
    holds: true,
  },
  // Null
  {
    doc: OPERATORS,
    name: "Null true holds when the key is missing",
    condition: { Null: { "aws:TokenIssueTime": "true" } },
    context: {},
    holds: true,
  },
  {
    doc: OPERATORS,
    name: "Null true fails when the key is present",
    condition: { Null: { "aws:TokenIssueTime": "true" } },
    context: { "aws:TokenIssueTime": "2024-01-01T00:00:00Z" },
    holds: false,
  },
  {
    doc: OPERATORS,
    name: "Null false holds when the key is present",
    condition: { Null: { "aws:TokenIssueTime": "false" } },
    context: { "aws:TokenIssueTime": "2024-01-01T00:00:00Z" },
    holds: true,
  },
  // IfExists
  {
    doc: OPERATORS,
    name: "StringLikeIfExists with the key missing",
    condition: { StringLikeIfExists: { "ec2:InstanceType": ["t1.*", "t2.*", "m3.*"] } },
    context: {},
    holds: true,
  },
  {
    doc: OPERATORS,
    name: "StringLikeIfExists with a matching value",
    condition: { StringLikeIfExists: { "ec2:InstanceType": ["t1.*", "t2.*", "m3.*"] } },
    context: { "ec2:InstanceType": "t2.micro" },
    holds: true,
  },
  {
    doc: OPERATORS,
    name: "StringLikeIfExists with a non-matching value",
    condition: { StringLikeIfExists: { "ec2:InstanceType": ["t1.*", "t2.*", "m3.*"] } },
    context: { "ec2:InstanceType": "m5.large" },
    holds: false,
  },
  {
    doc: OPERATORS,
    name: "BoolIfExists with the key missing",
    condition: { BoolIfExists: { "aws:MultiFactorAuthPresent": "false" } },
    context: {},
    holds: true,
  },
  // Set operators
  {
    doc: MULTI,
    name: "ForAllValues: every request value is listed",
    condition: { "ForAllValues:StringEquals": { "aws:TagKeys": ["environment", "cost-center"] } },
    context: { "aws:TagKeys": ["environment"] },
    holds: true,
  },
  {
    doc: MULTI,
    name: "ForAllValues: one request value is not listed",
    condition: { "ForAllValues:StringEquals": { "aws:TagKeys": ["environment", "cost-center"] } },
    context: { "aws:TagKeys": ["environment", "owner"] },
    holds: false,
  },
  {
    doc: MULTI,
    name: "ForAllValues with a missing key is true",
    condition: { "ForAllValues:StringEquals": { "aws:TagKeys": ["environment"] } },
    context: {},
    holds: true,
  },
  {
    doc: MULTI,
    name: "ForAllValues with an empty set is true",
    condition: { "ForAllValues:StringEquals": { "aws:TagKeys": ["environment"] } },
    context: { "aws:TagKeys": [] },
    holds: true,
  },
  {
    doc: MULTI,
    name: "ForAnyValue: one request value is listed",
    condition: { "ForAnyValue:StringEquals": { "aws:TagKeys": ["webserver"] } },
    context: { "aws:TagKeys": ["webserver", "other"] },
    holds: true,
  },
  {
    doc: MULTI,
    name: "ForAnyValue: no request value is listed",
    condition: { "ForAnyValue:StringEquals": { "aws:TagKeys": ["webserver"] } },
    context: { "aws:TagKeys": ["other"] },
    holds: false,
  },
  {
    doc: MULTI,
    name: "ForAnyValue with a missing key is false",
    condition: { "ForAnyValue:StringEquals": { "aws:TagKeys": ["webserver"] } },
    context: {},
    holds: false,
  },
  {
    doc: MULTI,
    name: "ForAnyValue with a negated operator and a missing key is false",
    condition: { "ForAnyValue:StringNotEquals": { "aws:TagKeys": ["webserver"] } },
    context: {},
    holds: false,
  },
  {
    doc: MULTI_EXAMPLES,
    name: "ForAllValues:StringLike with wildcards",
    condition: { "ForAllValues:StringLike": { "aws:TagKeys": ["key1*", "key2*"] } },
    context: { "aws:TagKeys": ["key1-a", "key2-b"] },
    holds: true,
  },
  {
    doc: MULTI,
    name: "ForAllValues:StringNotEquals: no request value may be listed",
    condition: { "ForAllValues:StringNotEquals": { "aws:TagKeys": ["a"] } },
    context: { "aws:TagKeys": ["a", "b"] },
    holds: false,
  },
  {
    doc: MULTI,
    name: "ForAnyValue:StringNotEquals: some request value is not listed",
    condition: { "ForAnyValue:StringNotEquals": { "aws:TagKeys": ["a"] } },
    context: { "aws:TagKeys": ["a", "b"] },
    holds: true,
  },
  {
    doc: MULTI,
    name: "a set operator treats a single request value as a set of one",
    condition: { "ForAnyValue:StringEquals": { "aws:TagKeys": ["a"] } },
    context: { "aws:TagKeys": "a" },
    holds: true,
  },
  {
    doc: MULTI,
    name: "a multivalued request value without a set operator does not match",
    condition: { StringEquals: { "aws:TagKeys": "a" } },
    context: { "aws:TagKeys": ["a"] },
    holds: false,
  },
  {
    doc: MULTI,
    name: "… not even a negated operator",
    condition: { StringNotEquals: { "aws:TagKeys": "z" } },
    context: { "aws:TagKeys": ["a", "b"] },
    holds: false,
  },
  // Logic across keys and operators
  {
    doc: LOGIC,
    name: "several keys are AND'ed (all match)",
    condition: { StringEquals: { "aws:PrincipalTag/team": ["a", "b"], "aws:PrincipalTag/role": "dev" } },
    context: { "aws:PrincipalTag/team": "b", "aws:PrincipalTag/role": "dev" },
    holds: true,
  },
  {
    doc: LOGIC,
    name: "several keys are AND'ed (one fails)",
    condition: { StringEquals: { "aws:PrincipalTag/team": ["a", "b"], "aws:PrincipalTag/role": "dev" } },
    context: { "aws:PrincipalTag/team": "b", "aws:PrincipalTag/role": "ops" },
    holds: false,
  },
  {
    doc: LOGIC,
    name: "several operators are AND'ed",
    condition: { StringEquals: { "aws:PrincipalTag/team": "a" }, IpAddress: { "aws:SourceIp": "10.0.0.0/8" } },
    context: { "aws:PrincipalTag/team": "a", "aws:SourceIp": "192.168.1.1" },
    holds: false,
  },
  // Variables in condition values
  {
    doc: VARIABLES,
    name: "a variable in StringEquals resolves from the context",
    condition: { StringEquals: { "aws:ResourceTag/owner": "${aws:username}" } },
    context: { "aws:ResourceTag/owner": "alice", "aws:username": "alice" },
    holds: true,
  },
  {
    doc: VARIABLES,
    name: "a variable without a value matches nothing",
    condition: { StringEquals: { "aws:ResourceTag/owner": "${aws:username}" } },
    context: { "aws:ResourceTag/owner": "${aws:username}" },
    holds: false,
  },
  {
    doc: VARIABLES,
    name: "… while a negated operator matches against the null value (the doc's Deny example)",
    condition: { StringNotEquals: { "s3:ExistingObjectTag/Team": "${aws:PrincipalTag/Team}" } },
    context: { "s3:ExistingObjectTag/Team": "blue" },
    holds: true,
  },
  {
    doc: VARIABLES,
    name: "… and a negated operator still fails when another of its values matches",
    condition: { StringNotLike: { "aws:ResourceTag/owner": ["${aws:username}", "b*"] } },
    context: { "aws:ResourceTag/owner": "bob" },
    holds: false,
  },
  {
    doc: VARIABLES,
    name: "a default value applies when the key is missing",
    condition: { StringEquals: { "aws:ResourceTag/team": "${aws:PrincipalTag/team, 'none'}" } },
    context: { "aws:ResourceTag/team": "none" },
    holds: true,
  },
  {
    doc: VARIABLES,
    name: "the default is not used when the key is present",
    condition: { StringEquals: { "aws:ResourceTag/team": "${aws:PrincipalTag/team, 'none'}" } },
    context: { "aws:ResourceTag/team": "none", "aws:PrincipalTag/team": "eng" },
    holds: false,
  },
  {
    doc: VARIABLES,
    name: "${*} is a literal asterisk, not a wildcard",
    condition: { StringLike: { "s3:prefix": "a${*}" } },
    context: { "s3:prefix": "ab" },
    holds: false,
  },
  {
    doc: VARIABLES,
    name: "${*} matches a literal asterisk",
    condition: { StringLike: { "s3:prefix": "a${*}" } },
    context: { "s3:prefix": "a*" },
    holds: true,
  },
  {
    doc: VARIABLES,
    name: "${?} and ${$} are literal characters",
    condition: { StringEquals: { "s3:prefix": "${?}${$}" } },
    context: { "s3:prefix": "?$" },
    holds: true,
  },
  {
    doc: VARIABLES,
    name: "a multivalued key cannot be a policy variable",
    condition: { StringEquals: { "s3:prefix": "${aws:TagKeys}" } },
    context: { "s3:prefix": "a", "aws:TagKeys": ["a"] },
    holds: false,
  },
];

describe("condition operators (table of AWS documentation examples)", () => {
  it.each(cases)("$name ($doc)", ({ condition, context, holds: expected }) => {
    expect(holds(condition, context)).toBe(expected);
  });
});
