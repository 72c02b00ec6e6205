// biome-ignore-all lint/suspicious/noTemplateCurlyInString: ARN formats and policy variables are literal ${…} text
import { describe, expect, it } from "vitest";
import { arnFitsFormat } from "./arn-overlap.ts";

const BUCKET = "arn:${Partition}:s3:::${BucketName}";
const OBJECT = "arn:${Partition}:s3:::${BucketName}/${ObjectName}";
const USER = "arn:${Partition}:iam::${Account}:user/${UserNameWithPath}";
const LOG_STREAM = "arn:${Partition}:logs:${Region}:${Account}:log-group:${LogGroupName}:log-stream:${LogStreamName}";
const FUNCTION = "arn:${Partition}:lambda:${Region}:${Account}:function:${FunctionName}";
const RECOVERY_POINT = "arn:${Partition}:${Vendor}:${Region}:*:${ResourceType}:${RecoveryPointId}";

describe("arnFitsFormat", () => {
  it.each([
    ["arn:aws:s3:::reports", BUCKET, true],
    ["arn:aws:s3:::reports/*", BUCKET, false], // a bucket name has no "/" (S3 bucket naming rules)
    ["arn:aws:s3:::reports*", BUCKET, true],
    ["arn:aws:s3:::reports/*", OBJECT, true],
    ["arn:aws:s3:::reports", OBJECT, false],
    ["arn:aws:s3:::*", OBJECT, true],
    ["arn:aws:s3:::home/${aws:username}/*", OBJECT, true],
    ["arn:aws:s3:::${aws:PrincipalTag/bucket}", BUCKET, true], // a variable is a wildcard, never literal "/" or ":"
    ["arn:aws:s3:us-east-1::reports", BUCKET, false], // region is a literal empty segment for S3
    ["arn:aws:iam::111122223333:user/alice", USER, true],
    ["arn:aws:iam::111122223333:user/division/alice", USER, true],
    ["arn:aws:iam::*:user/*/${aws:username}", USER, true],
    ["arn:aws:iam::111122223333:role/alice", USER, false],
    ["arn:aws:iam:us-east-1:111122223333:user/alice", USER, false], // IAM ARNs have no region
    ["arn:aws:s3:::alice", USER, false],
    ["arn:aws:logs:us-east-1:111122223333:log-group:/aws/lambda/fn:*", LOG_STREAM, true],
    ["arn:aws:logs:*:*:*", LOG_STREAM, true],
    ["arn:aws:lambda:us-east-1:111122223333:function:api:prod", FUNCTION, true],
    ["arn:aws:lambda:us-east-1:111122223333:layer:api", FUNCTION, false],
    ["arn:aws:*", FUNCTION, true],
    ["arn:aws:lambda:us-east-?:111122223333:function:a?i", FUNCTION, true],
    ["arn:AWS:Lambda:us-east-1:111122223333:Function:api", FUNCTION, true], // erring towards "fits"
    ["arn:aws:ec2:us-east-1:111122223333:volume:vol-1", RECOVERY_POINT, true],
  ])("%s fits %s: %s", (arn, format, fits) => {
    expect(arnFitsFormat(arn, format)).toBe(fits);
  });
});
