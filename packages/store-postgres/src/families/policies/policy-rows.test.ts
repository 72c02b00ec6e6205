import { IamError } from "@gatehouse/core";
import { describe, expect, it } from "vitest";
import { parsePolicyArn } from "./policy-rows.ts";

const ACCOUNT = "111122223333";

function failure(f: () => unknown): [string, string | undefined] {
  try {
    f();
  } catch (e) {
    if (IamError.is(e)) return [e.awsName, e.field];
    throw e;
  }
  throw new Error("expected a failure");
}

describe("parsePolicyArn", () => {
  it("splits an account's or AWS's policy ARN into owner, path and name", () => {
    expect(parsePolicyArn("aws", ACCOUNT, `arn:aws:iam::${ACCOUNT}:policy/team/a/Admin`)).toEqual({
      accountId: ACCOUNT,
      path: "/team/a/",
      name: "Admin",
    });
    expect(parsePolicyArn("aws", ACCOUNT, "arn:aws:iam::aws:policy/ReadOnlyAccess")).toEqual({
      accountId: "aws",
      path: "/",
      name: "ReadOnlyAccess",
    });
  });

  it("refuses an ARN that names a region: IAM is global, and the lookup would ignore it", () => {
    expect(failure(() => parsePolicyArn("aws", ACCOUNT, `arn:aws:iam:us-east-1:${ACCOUNT}:policy/Admin`))).toEqual([
      "InvalidInput",
      "policyArn",
    ]);
    expect(
      failure(() =>
        parsePolicyArn("aws", ACCOUNT, "arn:aws:iam:x:aws:policy/AdministratorAccess", "permissionsBoundaryArn"),
      ),
    ).toEqual(["InvalidInput", "permissionsBoundaryArn"]);
  });
});
