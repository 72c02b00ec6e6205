import { randomBytes } from "node:crypto";
import { IamError } from "@gatehouse/core";
import { describe, expect, it } from "vitest";
import { checkedPackedPolicySize, PACKED_LIMIT_BYTES, packedPolicySize } from "./packed-policy-size.ts";

const none = { policyArns: [], tags: [], transitiveTagKeys: [] };
const random = (chars: number) => randomBytes(chars).toString("base64url").slice(0, chars);

describe("packedPolicySize", () => {
  it("is 0 without session policies or tags, and a rounded-up percentage otherwise", () => {
    expect(packedPolicySize(none)).toBe(0);
    const one = packedPolicySize({ ...none, policyArns: ["arn:aws:iam::aws:policy/ReadOnlyAccess"] });
    expect(one).toBeGreaterThanOrEqual(1);
    expect(one).toBeLessThan(5);
  });

  it("counts the inline policy, the ARNs, the tags and the transitive keys", () => {
    const base = packedPolicySize({ ...none, policy: random(600) });
    expect(packedPolicySize({ ...none, policy: random(600), policyArns: [random(600)] })).toBeGreaterThan(base);
    expect(
      packedPolicySize({ ...none, policy: random(600), tags: [{ key: "k", value: random(600) }] }),
    ).toBeGreaterThan(base);
    expect(packedPolicySize({ ...none, policy: random(600), transitiveTagKeys: [random(600)] })).toBeGreaterThan(base);
  });

  it("measures the packed (compressed) form: repetitive text packs small, random text does not", () => {
    const repetitive = packedPolicySize({ ...none, policy: "a".repeat(PACKED_LIMIT_BYTES * 4) });
    expect(repetitive).toBeLessThan(5);
    expect(packedPolicySize({ ...none, policy: random(PACKED_LIMIT_BYTES * 2) })).toBeGreaterThan(100);
  });

  it("refuses above 100% with PackedPolicyTooLarge, naming the field", () => {
    const tags = Array.from({ length: 20 }, (_, i) => ({ key: `k${i}`, value: random(256) }));
    let error: unknown;
    try {
      checkedPackedPolicySize({ ...none, tags });
    } catch (e) {
      error = e;
    }
    expect(IamError.is(error) && [error.awsName, error.field]).toEqual(["PackedPolicyTooLarge", "tags"]);
    expect(checkedPackedPolicySize({ ...none, tags: tags.slice(0, 2) })).toBeLessThanOrEqual(100);
  });
});
