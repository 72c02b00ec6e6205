import { describe, expect, it } from "vitest";
import { ActionIndex } from "./action-index.ts";
import { compileStatements } from "./compiled-statement.ts";
import { parsePolicy } from "./parse-policy.ts";
import type { Policy } from "./policy.ts";

function indexOf(...actionLists: string[][]): ActionIndex {
  const doc = {
    Version: "2012-10-17",
    Statement: actionLists.map((Action) => ({ Effect: "Allow", Action, Resource: "*" })),
  };
  const policy = parsePolicy(doc).policy as Policy;
  const index = new ActionIndex();
  for (const s of compileStatements(policy, { type: "identity", index: 0, kind: "identity" }, 0, false)) index.add(s);
  return index;
}

const ordinals = (index: ActionIndex, action: string) => index.candidates(action).map((s) => s.ordinal);

describe("ActionIndex", () => {
  const filler = Array.from({ length: 20 }, (_, i) => `svc:Action${i}`);
  it.each([
    ["a short statement", [] as string[]],
    ["a statement with more than 16 actions", filler],
  ])("lists a statement once per action in %s, however often it names the action", (_, extra) => {
    const index = indexOf(
      [...extra, "s3:GetObject", "S3:getobject", "s3:GetObject"],
      ["sqs:*", ...extra, "sqs:SendMessage", "sqs:Send*"],
      ["s3:GetObject"],
    );
    expect(ordinals(index, "s3:getobject")).toEqual([0, 2]);
    expect(ordinals(index, "sqs:sendmessage")).toEqual([1]);
    expect(ordinals(index, "sqs:deletequeue")).toEqual([1]);
    expect(ordinals(index, "s3:putobject")).toEqual([]);
  });

  it("puts statements whose wildcard has no literal service in the fallback list", () => {
    const index = indexOf(["*"], ["s3*:Get*", "sqs:SendMessage"], [...filler, "ec2:*"]);
    expect(ordinals(index, "s3:getobject")).toEqual([0, 1]);
    expect(ordinals(index, "sqs:sendmessage")).toEqual([0, 1]);
    expect(ordinals(index, "ec2:runinstances")).toEqual([0, 2]);
    expect(ordinals(index, "svc:action3")).toEqual([0, 2]);
  });
});
