import { compileIdentity } from "@gatehouse/policy";
import { describe, expect, it } from "vitest";
import type { CompiledPrincipal } from "./compile-principal.ts";
import { PrincipalCache } from "./principal-cache.ts";

const identity = compileIdentity({ identityPolicies: [] });
const entry = (name: string, revision: number, bytes = 100, accountId = "111122223333"): CompiledPrincipal => ({
  arn: `arn:aws:iam::${accountId}:user/${name}`,
  accountId,
  kind: "user",
  name,
  uniqueId: `AIDA${name}`,
  tags: [],
  identity,
  revision,
  bytes,
});

describe("PrincipalCache (L1)", () => {
  it("evicts least recently used entries past its byte bound", () => {
    const c = new PrincipalCache(250);
    c.set(entry("a", 1));
    c.set(entry("b", 1));
    c.get(entry("a", 1).arn);
    c.set(entry("c", 1));
    expect(c.bytes).toBe(200);
    expect(c.get(entry("b", 1).arn)).toBeUndefined();
    expect(c.get(entry("a", 1).arn)?.name).toBe("a");
  });

  it("an invalidation drops exactly the principals it names, if compiled below its revision", () => {
    const c = new PrincipalCache(10_000);
    c.set(entry("a", 3));
    c.set(entry("b", 3));
    c.invalidate("111122223333", 3, false, [entry("a", 3).arn]);
    expect(c.size).toBe(2);
    c.invalidate("111122223333", 4, false, [entry("a", 3).arn]);
    expect(c.get(entry("a", 3).arn)).toBeUndefined();
    expect(c.get(entry("b", 3).arn)?.name).toBe("b");
  });

  it("a compile finishing after an invalidation above its revision is not cached", () => {
    const c = new PrincipalCache(10_000);
    c.invalidate("111122223333", 7, false, [entry("a", 1).arn]);
    const late = entry("a", 6);
    c.set(late);
    expect(c.isCurrent(late)).toBe(false);
    expect(c.size).toBe(0);
    c.invalidate("111122223333", 9, true, []);
    c.set(entry("b", 8));
    expect(c.size).toBe(0);
    c.set(entry("b", 9));
    expect(c.size).toBe(1);
  });
});
