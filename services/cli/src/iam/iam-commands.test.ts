import { iamOperations } from "@gatehouse/sdk";
import type { Command } from "commander";
import { describe, expect, it } from "vitest";
import { loadCommandTree } from "../lazy-group.ts";
import { createProgram } from "../program.ts";
import { awsKey, toAwsShape } from "./aws-shape.ts";
import { convertFlag, FlagValueError, parseTags } from "./flag-values.ts";

const program = await loadCommandTree(createProgram({ env: {}, write: () => {} }));
const iam = () => program.commands.find((c) => c.name() === "iam") as Command;
const flagsOf = (name: string) =>
  iam()
    .commands.find((c) => c.name() === name)
    ?.options.map((o) => o.long);

describe("gatehouse iam commands", () => {
  it("has one command per operation of the SDK's table, named as the aws CLI names them", () => {
    const names = iam().commands.map((c) => c.name());
    expect(names).toHaveLength(Object.keys(iamOperations).length);
    for (const name of [
      "create-user",
      "put-user-policy",
      "attach-role-policy",
      "list-attached-group-policies",
      "create-virtual-mfa-device",
      "add-client-id-to-open-id-connect-provider",
      "delete-user-permissions-boundary",
      "get-account-authorization-details",
    ]) {
      expect(names).toContain(name);
    }
  });

  it("derives flags from the proto request, under AWS's names", () => {
    expect(flagsOf("put-role-policy")).toEqual([
      "--role-name",
      "--policy-name",
      "--policy-document",
      "--client-request-token",
    ]);
    expect(flagsOf("create-user")).toEqual([
      "--user-name",
      "--path",
      "--tags",
      "--permissions-boundary",
      "--client-request-token",
    ]);
    expect(flagsOf("create-policy-version")).toContain("--no-set-as-default");
    expect(flagsOf("list-users")).toEqual([
      "--path-prefix",
      "--max-items",
      "--page-size",
      "--starting-token",
      "--client-request-token",
    ]);
    expect(flagsOf("enable-mfa-device")).toContain("--authentication-code1");
  });
});

describe("flag values", () => {
  it("reads tags in AWS's shorthand and as JSON", () => {
    expect(parseTags("--tags", ["Key=a,Value=1", "Key=b,Value="])).toEqual([
      { key: "a", value: "1" },
      { key: "b", value: "" },
    ]);
    expect(parseTags("--tags", ['[{"Key":"c","Value":"3"}]'])).toEqual([{ key: "c", value: "3" }]);
    expect(() => parseTags("--tags", ["team=red"])).toThrow(FlagValueError);
  });

  it("checks numbers, naming the flag and the value", () => {
    const field = { name: "n", type: "uint32", repeated: false, optional: false, comment: undefined };
    expect(convertFlag(field, "--n", "3600")).toBe(3600);
    expect(() => convertFlag(field, "--n", "-1")).toThrow('--n: expected a whole number, got "-1"');
  });
});

describe("toAwsShape", () => {
  it("prints a user's password last use as AWS's PasswordLastUsed (ISO), and leaves it out when never used", () => {
    expect(
      toAwsShape({ user: { userName: "a", createDateMs: 1_700_000_000_000, passwordLastUsedMs: 1_700_000_060_000 } }),
    ).toEqual({
      User: { UserName: "a", CreateDate: "2023-11-14T22:13:20.000Z", PasswordLastUsed: "2023-11-14T22:14:20.000Z" },
    });
    expect(toAwsShape({ user: { userName: "a", passwordLastUsedMs: 0 } })).toEqual({ User: { UserName: "a" } });
  });

  it("spells keys as AWS does, dates as ISO, documents as JSON, and leaves out proto3's empty defaults", () => {
    expect(awsKey("openIdConnectProviderArn")).toBe("OpenIDConnectProviderArn");
    expect(awsKey("mfaDevices")).toBe("MFADevices");
    expect(
      toAwsShape({
        user: { userName: "a", createDateMs: 0, permissionsBoundaryArn: "", tags: [] },
        policyDocument: '{"Version":"2012-10-17"}',
        summaryMap: { Users: 1 },
        version: { createDateMs: 1_700_000_000_000 },
      }),
    ).toEqual({
      User: { UserName: "a", Tags: [] },
      PolicyDocument: { Version: "2012-10-17" },
      SummaryMap: { Users: 1 },
      Version: { CreateDate: "2023-11-14T22:13:20.000Z" },
    });
  });
});
