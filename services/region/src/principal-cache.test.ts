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
    c.set(entry("a", 1), c.generation);
    c.set(entry("b", 1), c.generation);
    c.get(entry("a", 1).arn);
    c.set(entry("c", 1), c.generation);
    expect(c.bytes).toBe(200);
    expect(c.get(entry("b", 1).arn)).toBeUndefined();
    expect(c.get(entry("a", 1).arn)?.name).toBe("a");
  });

  it("keeps the LRU order when one principal is asked again and again (the most recent is not moved)", () => {
    const c = new PrincipalCache(250);
    const a = entry("a", 1);
    c.set(a, c.generation);
    c.get(a.arn);
    c.set(entry("b", 1), c.generation);
    // a is used after b was cached: b is now the least recently used.
    for (let i = 0; i < 5; i++) expect(c.get(a.arn)).toBe(a);
    c.set(entry("c", 1), c.generation);
    expect(c.get(entry("b", 1).arn)).toBeUndefined();
    expect(c.get(a.arn)).toBe(a);
    // Dropped while the most recent, then cached anew: moved again once others are used.
    c.invalidate("111122223333", 2, false, [a.arn]);
    const a2 = entry("a", 2);
    c.set(a2, c.generation);
    c.get(entry("c", 1).arn);
    c.get(a2.arn);
    c.set(entry("d", 1), c.generation);
    expect(c.get(entry("c", 1).arn)).toBeUndefined();
    expect(c.get(a2.arn)).toBe(a2);
    expect(c.hits).toBe(10);
  });

  it("an invalidation drops exactly the principals it names, if compiled below its revision", () => {
    const c = new PrincipalCache(10_000);
    c.set(entry("a", 3), c.generation);
    c.set(entry("b", 3), c.generation);
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
    c.set(late, c.generation);
    expect(c.isCurrent(late)).toBe(false);
    const cached = entry("a", 7);
    c.set(cached, c.generation);
    expect(c.isCurrent(cached)).toBe(true);
    c.invalidate("111122223333", 8, false, [cached.arn]);
    expect(c.isCurrent(cached)).toBe(false);
    expect(c.size).toBe(0);
    c.invalidate("111122223333", 9, true, []);
    c.set(entry("b", 8), c.generation);
    expect(c.size).toBe(0);
    c.set(entry("b", 9), c.generation);
    expect(c.size).toBe(1);
  });

  it("bounds its invalidation marks: past the bound they are forgotten and loads begun before are not cached", () => {
    const c = new PrincipalCache(10_000);
    const before = c.generation;
    for (let i = 0; i <= 100_001; i++) c.invalidate("111122223333", 5, false, [`arn:aws:iam::111122223333:user/u${i}`]);
    expect(c.generation).toBeGreaterThan(before);
    c.set(entry("x", 1), before);
    expect(c.size).toBe(0);
    c.set(entry("x", 1), c.generation);
    expect(c.size).toBe(1);
  });

  it("a replaced account drops all its entries whatever their revision, and no load begun before is cached", () => {
    const c = new PrincipalCache(10_000);
    c.set(entry("a", 7), c.generation);
    c.set(entry("b", 9, 100, "444455556666"), c.generation);
    const loading = c.generation;
    // The same revision number under another history: an invalidation alone keeps the entry.
    c.invalidate("111122223333", 7, true, []);
    expect(c.peek(entry("a", 7).arn)).toBeDefined();
    c.replaceAccount("111122223333");
    expect(c.peek(entry("a", 7).arn)).toBeUndefined();
    expect(c.peek(entry("b", 9, 100, "444455556666").arn)?.name).toBe("b");
    expect(c.bytes).toBe(100);
    c.set(entry("a", 7), loading);
    expect(c.peek(entry("a", 7).arn)).toBeUndefined();
    c.set(entry("a", 7), c.generation);
    expect(c.peek(entry("a", 7).arn)?.revision).toBe(7);
  });
});
