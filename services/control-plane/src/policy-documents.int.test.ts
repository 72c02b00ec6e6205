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
});
