// biome-ignore-all lint/suspicious/noTemplateCurlyInString: IAM policy variables are literal ${…} text in policies
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { compilePolicySet, validatePolicy } from "./index.ts";

/** The README's first example, verbatim apart from the import line. */
const EXAMPLE = `const readOwnFolder = {
  Version: "2012-10-17",
  Statement: [{ Effect: "Allow", Action: "s3:GetObject", Resource: "arn:aws:s3:::home/\${aws:username}/*" }],
};
const findings = validatePolicy(readOwnFolder, { kind: "managed" }); // []

const decider = compilePolicySet({ identityPolicies: [readOwnFolder] });
const alice = { arn: "arn:aws:iam::111122223333:user/alice", accountId: "111122223333" };
const { decision } = decider.evaluate(alice, {
  action: "s3:GetObject",
  resource: "arn:aws:s3:::home/alice/notes.txt",
  context: { "aws:username": "alice" },
}); // "Allow"`;

describe("README", () => {
  it("prints the example this test runs", () => {
    const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8");
    const block = /```ts\n([\s\S]*?)```/.exec(readme)?.[1] ?? "";
    expect(block.replace(/^import .*\n\n/, "").trim()).toBe(EXAMPLE);
  });

  it("runs the example", () => {
    // The example is plain JavaScript: run the README's own text.
    const run = new Function("compilePolicySet", "validatePolicy", `${EXAMPLE}\nreturn { findings, decision };`);
    const { findings, decision } = run(compilePolicySet, validatePolicy);
    expect(findings).toEqual([]);
    expect(decision).toBe("Allow");
  });
});
