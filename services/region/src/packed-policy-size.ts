import { deflateRawSync } from "node:zlib";
import { IamError } from "@gatehouse/core";

/**
 * The packed limit, in bytes of the packed form. AWS packs a request's session policies and
 * session tags into a compressed binary form with a limit of its own (separate from the 2,048
 * character limit on the plain-text policies) and does not publish either; this is Gatehouse's.
 */
export const PACKED_LIMIT_BYTES = 2048;

/** What a new session carries that counts against the packed limit. */
export interface PackedSessionInput {
  /** The inline session policy, minified (absent: none). */
  readonly policy?: string;
  readonly policyArns: readonly string[];
  /** Every session tag the session will carry (inherited transitive ones included). */
  readonly tags: readonly { readonly key: string; readonly value: string }[];
  readonly transitiveTagKeys: readonly string[];
}

/**
 * PackedPolicySize as AWS STS returns it: how full the packed session policies and tags are, in
 * percent of the packed limit, rounded up (0 when the session carries none; above 100 the request
 * fails with PackedPolicyTooLarge). The one measure for AssumeRole and AssumeRoleWithWebIdentity:
 * the raw DEFLATE size of a canonical encoding (the minified inline policy, each managed policy
 * ARN, each tag key and value, each transitive key, NUL-separated, in the request's order) against
 * {@link PACKED_LIMIT_BYTES}. Like AWS's, it depends on how well the content compresses, so a
 * request within every plain-text limit can still be too large.
 */
export function packedPolicySize(input: PackedSessionInput): number {
  const parts: string[] = [];
  if (input.policy !== undefined) parts.push(input.policy);
  parts.push(...input.policyArns);
  for (const t of input.tags) parts.push(t.key, t.value);
  parts.push(...input.transitiveTagKeys);
  if (parts.length === 0) return 0;
  const packed = deflateRawSync(Buffer.from(parts.join("\0"), "utf8"), { level: 9 }).length;
  return Math.ceil((100 * packed) / PACKED_LIMIT_BYTES);
}

/** {@link packedPolicySize}, refused with PackedPolicyTooLarge above 100 percent. */
export function checkedPackedPolicySize(input: PackedSessionInput): number {
  const size = packedPolicySize(input);
  if (size > 100) {
    const field = input.tags.length > 0 ? "tags" : input.policy !== undefined ? "policy" : "policyArns";
    throw new IamError(
      "PackedPolicyTooLarge",
      `the session policies and tags packed are ${size}% of the packed limit (at most 100%); pass fewer or shorter policies, ARNs or tags`,
      { field },
    );
  }
  return size;
}
