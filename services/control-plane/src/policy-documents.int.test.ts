import { EntityType } from "@gatehouse/proto";
import { status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type AccountFixture, policyDoc, startAccountFixture } from "./test-account.int-helper.ts";
import { expectFailure } from "./test-client.int-helper.ts";

const USER = EntityType.ENTITY_TYPE_USER;

describe("policy documents are validated for their kind (real Postgres + Kafka)", () => {
  let f: AccountFixture;
  beforeAll(async () => {
    f = await startAccountFixture();
    await f.root.call("createUser", { userName: "alice" });
  });
  afterAll(async () => {
    await f?.close();
  });

  it("a malformed document is MalformedPolicyDocument with every finding and its JSON path", async () => {
    const bad = JSON.stringify({
      Version: "2012-10-17",
      Statement: [{ Effect: "Permit", Action: "s3:GetObject", Resource: "*", Condition: { StringEqualz: { a: "b" } } }],
    });
    const failure = await expectFailure(
      f.root.call("putInlinePolicy", { entityType: USER, entityName: "alice", policyName: "p", policyDocument: bad }),
      { code: status.INVALID_ARGUMENT, awsName: "MalformedPolicyDocument", field: "policyDocument" },
    );
    expect(failure.findings.map((x) => [x.path, x.severity])).toEqual(
      expect.arrayContaining([
        ["$.Statement[0].Effect", "error"],
        ["$.Statement[0].Condition.StringEqualz", "error"],
      ]),
    );
  });

  it("a document over the inline user limit (2,048 characters) is LimitExceeded, as IAM reports it", async () => {
    const big = policyDoc({ Effect: "Allow", Action: "s3:GetObject", Resource: `arn:aws:s3:::${"b".repeat(2100)}` });
    const failure = await expectFailure(
      f.root.call("putInlinePolicy", { entityType: USER, entityName: "alice", policyName: "p", policyDocument: big }),
      { code: status.RESOURCE_EXHAUSTED, awsName: "LimitExceeded", field: "policyDocument" },
    );
    expect(failure.findings.map((x) => x.code)).toEqual(["policy-too-large"]);
    // The same document fits a managed policy (6,144 characters).
    const created = await f.root.call("createPolicy", { policyName: "big", path: "/", policyDocument: big });
    expect(created.policy.arn).toMatch(/:policy\/big$/);
  });

  it("whitespace does not count toward the limit, and is not stored: documents are kept minified", async () => {
    const statement = { Sid: "Spaced", Effect: "Allow", Action: "s3:GetObject", Resource: "arn:aws:s3:::a b/*" };
    const minified = policyDoc(statement);
    // 200,000 characters of padding around a small document: valid, as in IAM.
    const padded = JSON.stringify(JSON.parse(minified), null, 2).replaceAll("\n", `\n${" ".repeat(5000)}\t`);
    expect(padded.length).toBeGreaterThan(40_000);
    const entity = { entityType: USER, entityName: "alice" };
    await f.root.call("putInlinePolicy", { ...entity, policyName: "padded", policyDocument: padded });
    const got = await f.root.call("getInlinePolicy", { ...entity, policyName: "padded" });
    expect(got.policyDocument).toBe(minified); // white space inside strings ("a b") kept
    await f.root.call("deleteInlinePolicy", { ...entity, policyName: "padded" });
  });

  it("a user's inline policies together hold at most 2,048 characters (AWS's aggregate limit)", async () => {
    await f.root.call("createUser", { userName: "aggregate" });
    const entity = { entityType: USER, entityName: "aggregate" };
    const doc = (n: number) =>
      policyDoc({ Effect: "Allow", Action: "s3:GetObject", Resource: `arn:aws:s3:::${"b".repeat(n)}` });
    const base = doc(0).length;
    await f.root.call("putInlinePolicy", { ...entity, policyName: "one", policyDocument: doc(1000 - base) });
    // Exactly 2,048 together is allowed; one character more is not.
    await f.root.call("putInlinePolicy", { ...entity, policyName: "two", policyDocument: doc(1048 - base) });
    const failure = await expectFailure(
      f.root.call("putInlinePolicy", { ...entity, policyName: "two", policyDocument: doc(1049 - base) }),
      { code: status.RESOURCE_EXHAUSTED, awsName: "LimitExceeded", field: "policyDocument" },
    );
    expect(failure.details).toContain("2049 characters");
    await expectFailure(f.root.call("putInlinePolicy", { ...entity, policyName: "three", policyDocument: doc(0) }), {
      code: status.RESOURCE_EXHAUSTED,
      awsName: "LimitExceeded",
      field: "policyDocument",
    });
    // Replacing a policy counts its new size, not old and new together.
    await f.root.call("putInlinePolicy", { ...entity, policyName: "one", policyDocument: doc(500 - base) });
    await f.root.call("putInlinePolicy", { ...entity, policyName: "three", policyDocument: doc(500 - base) });
  });

  it("a role's inline policies together hold at most 10,240 characters", async () => {
    const trust = policyDoc({ Effect: "Allow", Principal: { Service: "ec2.amazonaws.com" }, Action: "sts:AssumeRole" });
    await f.root.call("createRole", { roleName: "aggregate", assumeRolePolicyDocument: trust });
    const entity = { entityType: EntityType.ENTITY_TYPE_ROLE, entityName: "aggregate" };
    const doc = policyDoc({ Effect: "Allow", Action: "s3:GetObject", Resource: `arn:aws:s3:::${"r".repeat(3300)}` });
    for (const name of ["a", "b", "c"])
      await f.root.call("putInlinePolicy", { ...entity, policyName: name, policyDocument: doc });
    await expectFailure(f.root.call("putInlinePolicy", { ...entity, policyName: "d", policyDocument: doc }), {
      code: status.RESOURCE_EXHAUSTED,
      awsName: "LimitExceeded",
      field: "policyDocument",
    });
  });
});
