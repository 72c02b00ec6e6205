import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { changeEvent, decodeChangeEvent, decodeEntityChange, encodeChangeEvent } from "./index.ts";

/** The README's example, verbatim apart from the import line. */
const EXAMPLE = `const group = {
  accountId: "123456789012",
  groupId: "AGPAEXAMPLE",
  groupName: "devs",
  path: "/",
  arn: "arn:aws:iam::123456789012:group/devs",
  createdAtMs: 1767225600000,
  attachedPolicies: [],
  inlinePolicies: [{ policyName: "s3", policyDocument: "{}" }],
};
const bytes = encodeChangeEvent(
  changeEvent({ accountId: "123456789012", revision: 7, kind: "group", id: "AGPAEXAMPLE", state: group }),
);
const change = decodeEntityChange(decodeChangeEvent(bytes));
const names = change.kind === "group" ? change.state?.inlinePolicies.map((p) => p.policyName) : []; // ["s3"]`;

describe("README", () => {
  it("prints the example this test runs", () => {
    const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8");
    const block = /```ts\n([\s\S]*?)```/.exec(readme)?.[1] ?? "";
    expect(block.replace(/^import .*\n\n/, "").trim()).toBe(EXAMPLE);
  });

  it("runs the example", () => {
    // The example is plain JavaScript: run the README's own text.
    const run = new Function(
      "changeEvent",
      "decodeChangeEvent",
      "decodeEntityChange",
      "encodeChangeEvent",
      `${EXAMPLE}\nreturn { change, names };`,
    );
    const { change, names } = run(changeEvent, decodeChangeEvent, decodeEntityChange, encodeChangeEvent);
    expect(names).toEqual(["s3"]);
    expect([change.kind, change.revision]).toEqual(["group", 7]);
  });
});
