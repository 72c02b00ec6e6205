import { IamError } from "./iam-error.ts";

/** The parts of an Amazon Resource Name: `arn:partition:service:region:account-id:resource`. */
export interface Arn {
  readonly partition: string;
  readonly service: string;
  readonly region: string;
  readonly accountId: string;
  /** Everything after the fifth colon, e.g. `user/division/alice` or `bucket/key`. */
  readonly resource: string;
}

/**
 * Splits an ARN into its parts, or returns `undefined` when the text is not an ARN. The resource
 * part keeps any further colons (`arn:aws:logs:us-east-1:123456789012:log-group:g:*`).
 */
export function tryParseArn(text: string): Arn | undefined {
  if (!text.startsWith("arn:")) return undefined;
  let start = 4;
  const parts: string[] = [];
  for (let i = 0; i < 4; i++) {
    const colon = text.indexOf(":", start);
    if (colon < 0) return undefined;
    parts.push(text.slice(start, colon));
    start = colon + 1;
  }
  // Stryker disable next-line StringLiteral: equivalent, the loop above always collects four parts; the defaults are for strict indexing
  const [partition = "", service = "", region = "", accountId = ""] = parts;
  if (partition === "" || service === "") return undefined;
  return { partition, service, region, accountId, resource: text.slice(start) };
}

/**
 * Like {@link tryParseArn} but throws `InvalidInput` naming `field` when the text is not an ARN.
 */
export function parseArn(text: string, field = "arn"): Arn {
  const arn = tryParseArn(text);
  if (arn === undefined) {
    throw new IamError("InvalidInput", `${field} ${JSON.stringify(text)} is not a valid ARN`, { field });
  }
  return arn;
}

/**
 * Throws `InvalidInput` naming `field` when `arn`, taken from a request, is not in `partition`:
 * like AWS, an endpoint serves one partition (`aws`, `aws-cn`, `aws-us-gov`, …) and refuses ARNs
 * of another rather than treating them as missing entities.
 *
 * @example
 * checkArnPartition(parseArn(text, "policyArn"), "aws-cn", "policyArn");
 */
export function checkArnPartition(arn: Arn, partition: string, field = "arn"): void {
  if (arn.partition !== partition) {
    throw new IamError(
      "InvalidInput",
      `${field} ${JSON.stringify(formatArn(arn))} is in partition ${JSON.stringify(arn.partition)}; this endpoint serves partition ${JSON.stringify(partition)}`,
      { field },
    );
  }
}

/** Joins ARN parts back into text. */
export function formatArn(arn: Arn): string {
  return `arn:${arn.partition}:${arn.service}:${arn.region}:${arn.accountId}:${arn.resource}`;
}

/** The partition Gatehouse issues ARNs in unless configured otherwise. */
export const DEFAULT_PARTITION = "aws";

/**
 * ARN of an IAM entity in an account: `iamArn("123456789012", "user", "/dev/", "alice")` is
 * `arn:aws:iam::123456789012:user/dev/alice`.
 */
export function iamArn(
  accountId: string,
  type: string,
  path: string,
  name: string,
  partition = DEFAULT_PARTITION,
): string {
  return `arn:${partition}:iam::${accountId}:${type}${path}${name}`;
}
