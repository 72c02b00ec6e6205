import { describe, expect, it } from "vitest";
import { cedarEndToEnd, gatehouseEndToEnd, iamSimulateEndToEnd, prepareGatehouse } from "./engines.ts";
import {
  createManagedWorkload,
  excludedRequestClasses,
  fillArn,
  managedPolicyDocument,
  managedPrincipals,
  requestClass,
} from "./managed-workloads.ts";
import { createRng, toList } from "./workloads.ts";

describe("the real-world workloads", () => {
  // Loading the package's 1,594 policies took over 5 s (the default timeout) on a loaded host.
  it("carry the latest AWS managed policies, unchanged", { timeout: 30_000 }, () => {
    const readOnly = managedPolicyDocument("ReadOnlyAccess");
    expect(readOnly.Statement.flatMap((s) => toList(s.Action)).length).toBeGreaterThan(1000);
    expect(managedPolicyDocument("PowerUserAccess").Statement[0]?.NotAction).toEqual([
      "iam:*",
      "organizations:*",
      "account:*",
    ]);
    expect(() => managedPolicyDocument("NoSuchPolicy")).toThrow();
  });

  it("are deterministic, keep the request classes apart and count what they exclude", { timeout: 60_000 }, async () => {
    const a = await createManagedWorkload("aws-developer", { requests: 200 });
    expect(await createManagedWorkload("aws-developer", { requests: 200 })).toEqual(a);
    expect(a.policies).toHaveLength(managedPrincipals["aws-developer"].length);
    expect(a.policyNames).toEqual(managedPrincipals["aws-developer"]);
    expect(a.requests).toHaveLength(200);
    const kinds = new Set(a.requests.map((r) => r.kind));
    expect([...kinds].sort()).toEqual(["conditional", "focus-service", "other-service"]);
    for (const r of a.requests) {
      expect((r.kind as string) in excludedRequestClasses).toBe(false);
      expect(r.action).toMatch(/^[a-z0-9-]+:[A-Za-z0-9]+$/);
      expect(r.resource === "*" || r.resource.startsWith("arn:aws:")).toBe(true);
      expect(r.resource).not.toContain("${");
    }
    expect(a.excluded?.["kms-key"]).toBeGreaterThan(0);
  });

  it("classify KMS key requests apart", () => {
    expect(requestClass("kms:Decrypt", "arn:aws:kms:us-east-1:111122223333:key/abc", "focus-service")).toBe("kms-key");
    expect(requestClass("kms:ListAliases", "*", "other-service")).toBe("other-service");
    expect(requestClass("s3:GetObject", "arn:aws:s3:::b/k", "focus-service")).toBe("focus-service");
  });

  it("fill every placeholder of an ARN format", () => {
    // An ARN format as AWS's service reference writes it (placeholders, not a template literal).
    const format = ["Partition", "Region", "Account", "LogGroupName"].map((p) => `$\{${p}}`);
    const arn = fillArn(`arn:${format[0]}:logs:${format[1]}:${format[2]}:log-group:${format[3]}`, createRng(1));
    expect(arn).toMatch(/^arn:aws:logs:[a-z0-9-]+:111122223333:log-group:\S+$/);
    expect(arn).not.toContain("${");
  });

  it("get the same decisions from every engine end to end", { timeout: 120_000 }, async () => {
    for (const name of ["aws-developer", "aws-poweruser"] as const) {
      const w = await createManagedWorkload(name, { requests: 40 });
      const prepared = prepareGatehouse(w);
      const engines = [gatehouseEndToEnd(w), cedarEndToEnd(w), iamSimulateEndToEnd(w)];
      w.requests.forEach((request, i) => {
        const expected = prepared.decide(i);
        expect({ request, answers: engines.map((e) => e.decide(i)) }).toEqual({
          request,
          answers: [expected, expected, expected],
        });
      });
    }
  });
});
