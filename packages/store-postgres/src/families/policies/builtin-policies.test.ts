import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { BUILTIN_POLICIES, type BuiltinPolicy } from "./builtin-policies.ts";

/**
 * Each shipped entry's revision and a digest of its contents. Seeding orders two catalogs by
 * revision (migration 0019): an entry changed without a new revision would let two releases
 * overwrite each other's contents at every start-up. Change the entry, bump its revision, then
 * pin the new pair here.
 */
const PINNED: Record<string, string> = {
  AdministratorAccess: "1 3ce77cc4da307ec0",
  PowerUserAccess: "1 3190dddfcaf8be5e",
  ReadOnlyAccess: "1 0df9f0dc12d4d155",
  IAMFullAccess: "1 515f436f05cf733c",
  IAMReadOnlyAccess: "1 cf2dbf369aeb46c8",
  IAMUserChangePassword: "1 e0c3f51413efb294",
};

const contents = (p: BuiltinPolicy) =>
  createHash("sha256")
    .update(JSON.stringify([p.description, p.versions]))
    .digest("hex")
    .slice(0, 16);

describe("the built-in policy catalog", () => {
  it("pins every entry's contents to its revision: a change that keeps the revision fails here", () => {
    expect(Object.fromEntries(BUILTIN_POLICIES.map((p) => [p.policyName, `${p.revision} ${contents(p)}`]))).toEqual(
      PINNED,
    );
  });

  it("gives every entry a revision of at least its number of versions, each version having been a change", () => {
    const short = BUILTIN_POLICIES.filter((p) => !Number.isInteger(p.revision) || p.revision < p.versions.length);
    expect(short.map((p) => p.policyName)).toEqual([]);
  });
});
