import { execFileSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { loadCommandTree } from "../lazy-group.ts";
import { createProgram } from "../program.ts";
import { bashCompletion } from "./completion.ts";

const script = bashCompletion(await loadCommandTree(createProgram({ env: {}, write: () => {} })));

/** What bash completes for the words typed (the last one being completed). */
function complete(words: string[]): string[] {
  const array = words.map((w) => `'${w}'`).join(" ");
  const out = execFileSync(
    "bash",
    [
      "-c",
      `${script}\nCOMP_WORDS=(gatehouse ${array}); COMP_CWORD=${words.length}; _gatehouse; printf '%s\\n' "\${COMPREPLY[@]}"`,
    ],
    { encoding: "utf8" },
  );
  return out.split("\n").filter((l) => l !== "");
}

describe("bash completion", () => {
  it("completes groups, operations and their flags, skipping option values", () => {
    expect(complete(["i"])).toEqual(["iam", "import"]);
    expect(complete(["iam", "put-user-p"])).toEqual(["put-user-permissions-boundary", "put-user-policy"]);
    expect(complete(["--profile", "demo", "iam", "put-user-policy", "--user-name", "alice", "--policy-"])).toEqual([
      "--policy-document",
      "--policy-name",
    ]);
    expect(complete(["authz", "authorize", "--out"])).toEqual(["--output"]);
  });
});
